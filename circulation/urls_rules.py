"""The loan-rule matrix and circulation settings at /uitlening/regels/ (library administrators)."""

from django.urls import path

from . import views_rules

app_name = "circulation_rules"

urlpatterns = [
    path("", views_rules.overview, name="overview"),
    path("nieuw/", views_rules.rule_new, name="new"),
    path("<int:rule_id>/wijzigen/", views_rules.rule_edit, name="edit"),
    path("<int:rule_id>/verwijderen/", views_rules.rule_delete, name="delete"),
    path("instellingen/", views_rules.settings, name="settings"),
]

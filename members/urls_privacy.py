"""Privacy screens under /leden/privacy/ (namespace "members", included by members/urls.py)."""

from django.urls import path

from . import views_privacy

urlpatterns = [
    path("audit/", views_privacy.audit_log, name="audit-log"),
    path("import/", views_privacy.member_import, name="member-import"),
    path("<int:member_id>/inzage/", views_privacy.member_export, name="member-export"),
    path("<int:member_id>/inzage.json", views_privacy.member_export_json, name="member-export-json"),
    path("<int:member_id>/wissen/", views_privacy.member_erase, name="member-erase"),
]

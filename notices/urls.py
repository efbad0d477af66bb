"""Notice screens at /berichten/."""

from django.urls import path

from . import views

app_name = "notices"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("<int:notice_id>/", views.detail, name="detail"),
    path("<int:notice_id>/opnieuw-versturen/", views.resend, name="resend"),
    path("brieven/", views.letters, name="letters"),
    path("brieven/afgedrukt/", views.letters_printed, name="letters-printed"),
    path("sjablonen/", views.templates, name="templates"),
    path("sjablonen/<str:kind>/", views.template_edit, name="template-edit"),
    path("sjablonen/<str:kind>/standaard/", views.template_reset, name="template-reset"),
    path("instellingen/", views.settings_edit, name="settings"),
]

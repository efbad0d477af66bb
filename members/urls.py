"""Member screens at /leden/ (desk role), one URL module per capability."""

from django.urls import include, path

from . import views

app_name = "members"

urlpatterns = [
    path("geld/", include("members.urls_accounts")),
    path("privacy/", include("members.urls_privacy")),
]

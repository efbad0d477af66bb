"""Member screens at /leden/ (desk role), one URL module per capability."""

from django.urls import include, path

from . import views

app_name = "members"

urlpatterns = [
    path("", views.search, name="search"),
    path("nieuw/", views.register, name="register"),
    path("categorieen/", views.categories, name="categories"),
    path("<int:member_id>/", views.detail, name="detail"),
    path("<int:member_id>/wijzigen/", views.edit, name="edit"),
    path("<int:member_id>/verlengen/", views.renew, name="renew"),
    path("<int:member_id>/pas-vervangen/", views.replace_card, name="replace-card"),
    path("<int:member_id>/samenvoegen/", views.merge, name="merge"),
    path("<int:member_id>/aanmelden-vrijgeven/", views.sign_in_unlock, name="sign-in-unlock"),
    path("<int:member_id>/inschrijving-bevestigen/", views.online_confirm, name="online-confirm"),
    path("geld/", include("members.urls_accounts")),
    path("privacy/", include("members.urls_privacy")),
]

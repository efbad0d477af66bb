from django.urls import path

from . import views

app_name = "selfservice"

urlpatterns = [
    path("", views.machine_list, name="machines"),
    path("<int:account_id>/", views.machine_detail, name="machine"),
    path("<int:account_id>/wachtwoord/", views.machine_password, name="machine-password"),
    path("<int:account_id>/sleutel/", views.machine_token, name="machine-token"),
    path("<int:account_id>/intrekken/", views.machine_revoke, name="machine-revoke"),
]

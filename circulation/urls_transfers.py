from django.urls import path

from . import views_transfers

app_name = "transfers"

urlpatterns = [
    path("transport/", views_transfers.transfers, name="transfers"),
    path("te-laat/", views_transfers.overdue, name="overdue"),
]

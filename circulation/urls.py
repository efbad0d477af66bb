"""Desk screens for circulation at /uitlening/ (desk role)."""

from django.urls import path
from django.views.generic import RedirectView

from . import views

app_name = "circulation"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="circulation:checkout"), name="home"),
    path("uitlenen/", views.checkout, name="checkout"),
    path("uitlenen/scan/", views.checkout_scan, name="checkout-scan"),
    path("innemen/", views.checkin, name="checkin"),
    path("innemen/scan/", views.checkin_scan, name="checkin-scan"),
    path("verlengen/", views.renew_all, name="renew-all"),
    path("verlengen/<int:loan_id>/", views.renew, name="renew"),
    path("<int:loan_id>/verloren/", views.lost, name="lost"),
    path("<int:loan_id>/ingeleverd/", views.claims_returned, name="claims-returned"),
    path("bon/", views.receipt, name="receipt"),
]

"""Account, block and rules screens at /leden/geld/ (namespace "members", included by members.urls)."""

from django.urls import path

from . import views_accounts

urlpatterns = [
    path("<int:member_id>/betaling/", views_accounts.payment, name="payment"),
    path("<int:member_id>/kosten/", views_accounts.charge, name="charge"),
    path("kosten/<int:charge_id>/kwijtschelden/", views_accounts.waive, name="waive"),
    path("<int:member_id>/blokkeren/", views_accounts.block, name="block"),
    path("blokkade/<int:block_id>/opheffen/", views_accounts.block_lift, name="block-lift"),
    path("regels/", views_accounts.rules, name="rules"),
    path("gastleenkosten/", views_accounts.guest_charges, name="guest-charges"),
]

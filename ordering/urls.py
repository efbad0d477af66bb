from django.urls import path

from . import views

app_name = "ordering"

urlpatterns = [
    path("", views.home, name="home"),
    path("leveranciers/", views.supplier_list, name="suppliers"),
    path("leveranciers/<int:supplier_id>/", views.supplier_detail, name="supplier"),
    path("fondsen/", views.fund_list, name="funds"),
    path("bestellingen/", views.order_list, name="orders"),
    path("bestellingen/<int:order_id>/", views.order_detail, name="order"),
    path("bestellingen/<int:order_id>/afdruk/", views.order_print, name="order-print"),
    path("edifact/", views.edi_inbox, name="edi"),
    path("edifact/<int:message_id>/download/", views.edi_download, name="edi-download"),
    path("suggesties/", views.suggestions, name="suggestions"),
    path("ontvangst/", views.receipt_screen, name="receipt"),
    path("verwerken/", views.processing, name="processing"),
    path("facturen/", views.invoice_list, name="invoices"),
    path("facturen/<int:invoice_id>/", views.invoice_detail, name="invoice"),
    path("rappel/", views.claim_list, name="claims"),
    path("rapporten/", views.reports, name="reports"),
    path("journaal/", views.journal, name="journal"),
    path("instellingen/", views.settings_screen, name="settings"),
]

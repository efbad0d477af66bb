from django.urls import path

from . import views_desk

app_name = "ibl"

urlpatterns = [
    path("", views_desk.overview, name="overview"),
    path("aanvragen/nieuw/", views_desk.request_new, name="request-new"),
    path("aanvragen/<int:request_id>/", views_desk.request_detail, name="request"),
    path("aanvragen/<int:request_id>/annuleren/", views_desk.request_cancel, name="request-cancel"),
    path("aanvragen/<int:request_id>/verloren/", views_desk.request_loss, name="request-loss"),
    path("aanvragen/<int:request_id>/terugroepen/", views_desk.request_recall, name="request-recall"),
    path("versturen/", views_desk.pick, name="pick"),
    path("versturen/scan/", views_desk.pick_send, name="pick-send"),
    path("versturen/<int:request_id>/kan-niet/", views_desk.pick_decline, name="pick-decline"),
    path("ontvangen/", views_desk.receive, name="receive"),
    path("ontvangen/scan/", views_desk.receive_scan, name="receive-scan"),
    path("voorwaarden/", views_desk.terms, name="terms"),
]

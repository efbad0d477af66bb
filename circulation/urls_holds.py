"""Reservation screens at /reserveringen/ (desk role)."""

from django.urls import path

from . import views_holds as views

app_name = "holds"

urlpatterns = [
    path("", views.shelf, name="index"),
    path("plank/", views.shelf, name="shelf"),
    path("picklijst/", views.pick_list, name="pick-list"),
    path("picklijst/niet-gevonden/", views.pick_list_not_found, name="pick-list-not-found"),
    path("lid/<int:member_id>/nieuw/", views.place, name="place"),
    path("titel/<int:title_id>/", views.queue, name="queue"),
    path("titel/<int:title_id>/reserveren/", views.place_for_title, name="place-for-title"),
    path("titel/<int:title_id>/verplaatsen/", views.queue_move, name="queue-move"),
    path("<int:hold_id>/annuleren/", views.cancel, name="cancel"),
    path("<int:hold_id>/opschorten/", views.suspend, name="suspend"),
    path("<int:hold_id>/hervatten/", views.resume, name="resume"),
    path("<int:hold_id>/ophaalvestiging/", views.change_pickup, name="change-pickup"),
]

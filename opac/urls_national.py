"""National search on the national host (included at the root of lsb.urls_public)."""

from django.urls import path

from . import views

app_name = "opac"

urlpatterns = [
    path("", views.national_home, name="home"),
    path("zoeken/", views.search, name="search"),
    path("titel/<int:title_id>-<slug:slug>/", views.title_detail, name="title"),
    path("titel/<int:title_id>/", views.title_detail, name="title-short"),
    path("robots.txt", views.robots, name="robots"),
]

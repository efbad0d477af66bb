from django.urls import path

from . import views

app_name = "collection"

urlpatterns = [
    path("titel/<int:title_id>/", views.title, name="title"),
    path("exemplaar/<str:barcode>/", views.item, name="item"),
    path("exemplaar/<str:barcode>/status/", views.item_status, name="item-status"),
    path("verplaatsen/", views.move, name="move"),
    path("afschrijven/", views.withdraw, name="withdraw"),
    path("wieden/", views.weeding, name="weeding"),
    path("inventarisatie/", views.stocktakes, name="stocktakes"),
    path("inventarisatie/<int:stocktake_id>/", views.stocktake, name="stocktake"),
    path("inventarisatie/<int:stocktake_id>/scan/", views.stocktake_scan, name="stocktake-scan"),
    path("inventarisatie/<int:stocktake_id>/afronden/", views.stocktake_finish, name="stocktake-finish"),
]

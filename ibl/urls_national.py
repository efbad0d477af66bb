from django.urls import path

from . import views_national

app_name = "ibl_national"

urlpatterns = [
    path("inloggen/", views_national.SignInView.as_view(), name="sign-in"),
    path("uitloggen/", views_national.SignOutView.as_view(), name="sign-out"),
    path("sorteercentrum/", views_national.hubs, name="hubs"),
    path("sorteercentrum/<int:hub_id>/", views_national.hub, name="hub"),
    path("sorteercentrum/<int:hub_id>/scan/", views_national.hub_scan_view, name="hub-scan"),
    path("poi/", views_national.poi_overview, name="poi"),
    path("poi/statistiek/", views_national.poi_statistics, name="statistics"),
    path("ritten/<int:run_id>/", views_national.run_manifest, name="manifest"),
    path("aanvragen/<int:request_id>/verloren/", views_national.loss_report, name="loss"),
]

"""The REST API on each library's host: /api/v1/… , the OpenAPI schema at
/api/v1/schema/ and the documentation at /api/docs/ (Swagger UI, served from
drf-spectacular-sidecar's static files; its start script is a file too, so the
Content-Security-Policy needs no inline script)."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views_integrations as integrations
from . import views_selfservice as selfservice
from .views_docs import not_found

app_name = "api"

v1 = [
    path("selfservice/patron/", selfservice.PatronCheckView.as_view(), name="patron-check"),
    path("selfservice/checkout/", selfservice.CheckoutView.as_view(), name="checkout"),
    path("selfservice/checkin/", selfservice.CheckinView.as_view(), name="checkin"),
    path("selfservice/renew/", selfservice.RenewView.as_view(), name="renew"),
    path("selfservice/renew-all/", selfservice.RenewAllView.as_view(), name="renew-all"),
    path("selfservice/payments/", selfservice.PaymentView.as_view(), name="payment"),
    path("items/<str:barcode>/", selfservice.ItemView.as_view(), name="item"),
    path("members/", integrations.MemberListView.as_view(), name="members"),
    path("members/<str:member_id>/", integrations.MemberView.as_view(), name="member"),
    path("members/<str:member_id>/loans/", integrations.MemberLoansView.as_view(), name="member-loans"),
    path("members/<str:member_id>/holds/", integrations.MemberHoldsView.as_view(), name="member-holds"),
    path("holds/", integrations.HoldsView.as_view(), name="holds"),
    path("holds/<str:hold_id>/", integrations.HoldView.as_view(), name="hold"),
    path("holds/<str:hold_id>/cancel/", integrations.HoldCancelView.as_view(), name="hold-cancel"),
    path("titles/", integrations.TitleListView.as_view(), name="titles"),
    path("titles/<str:title_id>/", integrations.TitleView.as_view(), name="title"),
    path("titles/<str:title_id>/availability/", integrations.TitleAvailabilityView.as_view(),
         name="title-availability"),
    path("titles/<str:title_id>/items/", integrations.TitleItemsView.as_view(), name="title-items"),
    path("schema/", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[],
                                               throttle_classes=[]), name="schema"),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema", authentication_classes=[],
                                                 permission_classes=[], throttle_classes=[]), name="docs"),
    # Anything else under /api/ is a JSON 404 in the API's error format, not an HTML page.
    re_path(r"^.*$", not_found, name="not-found"),
]

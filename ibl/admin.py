"""IBL in the national admin. A POI administrator sees the requests, legs, runs and
settlements of their provinces (the requesting or lending library there, or a leg
their POI drives), late ones first, and manages their POI's van routes and hub
staff; the national administrator sees everything and sets libraries' IBL terms.
Requests and legs are read-only here: they change through the services (the
desks and the hubs), so every change is scanned and recorded."""

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html

from staff.selectors import is_poi_administrator, provinces_administered_by

from .models import Ask, HubStaff, IblEvent, IblRequest, IblTerms, Leg, Run, Settlement, StrayCopy, VanRoute, VanStop


def _may_administer(request):
    return request.user.is_active and (request.user.is_superuser or is_poi_administrator(request.user))


def _pois_of(user):
    from tenants.models import Poi

    if user.is_superuser:
        return Poi.objects.all()
    return Poi.objects.filter(administrators__user=user)


class PoiScopedAdmin(admin.ModelAdmin):
    """Read-only rows scoped to the administrator's provinces (scoped_queryset)."""

    def get_queryset(self, request):
        return self.scoped_queryset(request)

    def has_module_permission(self, request):
        return _may_administer(request)

    def has_view_permission(self, request, obj=None):
        return _may_administer(request) and (obj is None or self.scoped_queryset(request).filter(pk=obj.pk).exists())

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class LegInline(admin.TabularInline):
    model = Leg
    extra = 0
    fields = ["direction", "sequence", "mode", "from_branch", "from_hub", "to_branch", "to_hub", "planned_on",
              "planned_arrival_on", "state", "scanned_out_at", "scanned_in_at", "late_since", "crate", "note"]
    readonly_fields = fields
    can_delete = False


class AskInline(admin.TabularInline):
    model = Ask
    extra = 0
    fields = ["lender", "branch", "scope", "asked_at", "answer_due_at", "outcome", "reason", "reason_text"]
    readonly_fields = fields
    can_delete = False


class EventInline(admin.TabularInline):
    model = IblEvent
    extra = 0
    fields = ["at", "from_state", "to_state", "detail", "organisation", "actor_ref"]
    readonly_fields = fields
    can_delete = False


@admin.register(IblRequest)
class IblRequestAdmin(PoiScopedAdmin):
    list_display = ["reference_", "title", "requesting_organisation", "lender", "state", "scope", "expected_on",
                    "late", "created_at"]
    list_filter = ["state", "scope"]
    search_fields = ["=id", "item_barcode", "title__title"]
    list_select_related = ["title", "requesting_organisation", "lender"]
    inlines = [AskInline, LegInline, EventInline]
    exclude = []

    def scoped_queryset(self, request):
        rows = IblRequest.objects.annotate(has_late=Exists(Leg.objects.filter(
            request=OuterRef("pk"), late_since__isnull=False, state__in=[Leg.State.PLANNED, Leg.State.IN_TRANSIT])))
        if not request.user.is_superuser:
            provinces = provinces_administered_by(request.user)
            rows = rows.filter(Q(requesting_organisation__province__in=provinces) | Q(lender__province__in=provinces))
        return rows.order_by("-has_late", "expected_on", "-pk")

    @admin.display(description="aanvraag", ordering="pk")
    def reference_(self, request):
        return request.reference

    @admin.display(description="te laat", boolean=True)
    def late(self, request):
        return request.has_late

    def get_urls(self):
        return [path("cijfers/", self.admin_site.admin_view(self.statistics_view), name="ibl_statistics")] + \
            super().get_urls()

    def statistics_view(self, request):
        return redirect(reverse("ibl_national:statistics") + ("?" + request.GET.urlencode() if request.GET else ""))

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "title": "IBL-aanvragen (te laat eerst)"}
        return super().changelist_view(request, extra_context)


@admin.register(Leg)
class LegAdmin(PoiScopedAdmin):
    list_display = ["request", "stray", "direction", "sequence", "mode", "origin_", "destination_",
                    "planned_arrival_on", "state", "late_since", "crate"]
    list_filter = ["state", "mode", "direction"]
    list_select_related = ["request", "stray__owner", "from_branch", "from_hub", "to_branch", "to_hub", "crate"]
    search_fields = ["request__item_barcode", "=request__id", "stray__barcode"]

    def scoped_queryset(self, request):
        rows = Leg.objects.all()
        if not request.user.is_superuser:
            pois = _pois_of(request.user)
            provinces = provinces_administered_by(request.user)
            rows = rows.filter(Q(poi__in=pois) | Q(from_hub__poi__in=pois) | Q(to_hub__poi__in=pois)
                               | Q(request__requesting_organisation__province__in=provinces)
                               | Q(request__lender__province__in=provinces)).distinct()
        return rows.order_by("late_since", "planned_arrival_on", "pk")

    @admin.display(description="van")
    def origin_(self, leg):
        return leg.origin

    @admin.display(description="naar")
    def destination_(self, leg):
        return leg.destination


class StrayLegInline(LegInline):
    fields = [name for name in LegInline.fields if name != "direction"]
    readonly_fields = fields


@admin.register(StrayCopy)
class StrayCopyAdmin(PoiScopedAdmin):
    """Own copies found at a hub, going home (the hub screen starts them)."""

    list_display = ["barcode", "owner", "to_branch", "found_hub", "found_at", "state", "home_at"]
    list_filter = ["state"]
    search_fields = ["barcode"]
    inlines = [StrayLegInline]

    def scoped_queryset(self, request):
        rows = StrayCopy.objects.select_related("owner", "to_branch", "found_hub")
        if not request.user.is_superuser:
            rows = rows.filter(Q(found_hub__poi__in=_pois_of(request.user))
                               | Q(owner__province__in=provinces_administered_by(request.user)))
        return rows.order_by("state", "-found_at")


@admin.register(Run)
class RunAdmin(PoiScopedAdmin):
    list_display = ["__str__", "kind", "poi", "date", "state", "legs_count", "manifest_link"]
    list_filter = ["kind", "state"]
    date_hierarchy = "date"

    def scoped_queryset(self, request):
        rows = Run.objects.select_related("route", "poi")
        if not request.user.is_superuser:
            rows = rows.filter(Q(poi__in=_pois_of(request.user)) | Q(kind="carrier"))
        return rows.order_by("-date", "kind")

    @admin.display(description="exemplaren")
    def legs_count(self, run):
        return run.legs.count()

    @admin.display(description="rittenlijst")
    def manifest_link(self, run):
        return format_html('<a href="{}">afdrukken</a>', reverse("ibl_national:manifest", args=[run.pk]))


@admin.register(Settlement)
class SettlementAdmin(PoiScopedAdmin):
    list_display = ["request", "kind", "payee", "payer_party", "payer", "payer_poi", "amount_cents", "created_at"]
    list_filter = ["kind", "payer_party"]

    def scoped_queryset(self, request):
        rows = Settlement.objects.select_related("request", "payee", "payer", "payer_poi")
        if not request.user.is_superuser:
            provinces = provinces_administered_by(request.user)
            rows = rows.filter(Q(payee__province__in=provinces) | Q(payer__province__in=provinces)
                               | Q(payer_poi__in=_pois_of(request.user)))
        return rows.order_by("-created_at")


class VanStopInline(admin.TabularInline):
    model = VanStop
    extra = 1
    autocomplete_fields = []


@admin.register(VanRoute)
class VanRouteAdmin(admin.ModelAdmin):
    """A POI administrator edits their own POI's van routes and which branches they visit."""

    list_display = ["name", "poi", "weekdays", "stops_count"]
    inlines = [VanStopInline]

    def get_queryset(self, request):
        return VanRoute.objects.filter(poi__in=_pois_of(request.user)).select_related("poi")

    def has_module_permission(self, request):
        return _may_administer(request)

    def has_view_permission(self, request, obj=None):
        return _may_administer(request) and (obj is None or self.get_queryset(request).filter(pk=obj.pk).exists())

    has_change_permission = has_delete_permission = has_view_permission

    def has_add_permission(self, request):
        return _may_administer(request)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "poi":
            kwargs["queryset"] = _pois_of(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="haltes")
    def stops_count(self, route):
        return route.stops.count()


@admin.register(HubStaff)
class HubStaffAdmin(admin.ModelAdmin):
    """Who works at which hub (the hub screen): granted by the hub's POI administrators."""

    list_display = ["user", "hub"]
    raw_id_fields = ["user"]

    def get_queryset(self, request):
        return HubStaff.objects.filter(hub__poi__in=_pois_of(request.user)).select_related("user", "hub")

    def has_module_permission(self, request):
        return _may_administer(request)

    def has_view_permission(self, request, obj=None):
        return _may_administer(request) and (obj is None or self.get_queryset(request).filter(pk=obj.pk).exists())

    has_change_permission = has_delete_permission = has_view_permission

    def has_add_permission(self, request):
        return _may_administer(request)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "hub":
            from tenants.models import PoiHub

            kwargs["queryset"] = PoiHub.objects.filter(poi__in=_pois_of(request.user))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(IblTerms)
class IblTermsAdmin(admin.ModelAdmin):
    """Libraries' IBL terms (each library sets its own at /ibl/voorwaarden/); the national
    administrator marks the national music library here."""

    list_display = ["organisation", "lends", "item_types", "new_title_months", "request_fee_cents",
                    "is_music_library"]

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    has_view_permission = has_change_permission = has_add_permission = has_delete_permission = (
        lambda self, request, obj=None: request.user.is_active and request.user.is_superuser
    )

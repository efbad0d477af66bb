"""National admin for the registry.

The national administrator sees everything. A POI administrator sees and edits
only the library organisations and branches of their POI's provinces; the
scoping is staff.selectors.organisations_administered_by, asked by every
queryset and permission check here (not Django's model permissions, which
cannot express 'only these rows')."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from staff.selectors import (
    branches_administered_by,
    is_poi_administrator,
    organisations_administered_by,
    provinces_administered_by,
)

from core.actors import Actor

from . import outbox, services
from .models import (
    Branch, ClosedDate, Domain, LibraryOrganisation, NationalSettings, OpeningPeriod, OutboxMessage, Poi, PoiHub,
    Province,
)


class NationalOnlyAdmin(admin.ModelAdmin):
    """Registry data only the national administrator changes (provinces, POIs)."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    has_add_permission = has_change_permission = has_delete_permission = (
        lambda self, request, obj=None: request.user.is_active and request.user.is_superuser
    )


class PoiHubInline(admin.TabularInline):
    model = PoiHub
    extra = 0


@admin.register(Poi)
class PoiAdmin(NationalOnlyAdmin):
    list_display = ["name", "code", "provinces_served"]
    inlines = [PoiHubInline]

    @admin.display(description="provincies")
    def provinces_served(self, poi):
        return ", ".join(p.name for p in poi.provinces.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("provinces")


@admin.register(NationalSettings)
class NationalSettingsAdmin(NationalOnlyAdmin):
    """The rules every library follows (one row): the cap on a card's loans everywhere."""

    list_display = ["__str__", "max_loans_per_card", "updated_at"]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not NationalSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        obj.pk = 1
        super().save_model(request, obj, form, change)


@admin.register(Province)
class ProvinceAdmin(NationalOnlyAdmin):
    list_display = ["name", "code", "poi"]
    list_select_related = ["poi"]


class ScopedAdmin(admin.ModelAdmin):
    """Rows scoped to what the signed-in administrator administers; each subclass
    defines scoped_queryset(request)."""

    def get_queryset(self, request):
        return self.scoped_queryset(request)

    def _may_administer(self, request):
        return request.user.is_active and (request.user.is_superuser or is_poi_administrator(request.user))

    def has_module_permission(self, request):
        return self._may_administer(request)

    def has_view_permission(self, request, obj=None):
        return self._may_administer(request) and (obj is None or self.scoped_queryset(request).filter(pk=obj.pk).exists())

    def has_change_permission(self, request, obj=None):
        return self.has_view_permission(request, obj)


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0
    fields = ["domain", "is_primary"]


@admin.register(LibraryOrganisation)
class LibraryOrganisationAdmin(ScopedAdmin):
    list_display = ["name", "isil", "province", "poi_name", "is_active", "schema_name"]
    list_filter = ["is_active", "province"]
    search_fields = ["name", "isil", "slug"]
    list_select_related = ["province", "province__poi"]
    inlines = [DomainInline]

    def scoped_queryset(self, request):
        return organisations_administered_by(request.user).select_related("province", "province__poi")

    @admin.display(description="POI")
    def poi_name(self, organisation):
        return organisation.province.poi.name

    def get_fields(self, request, obj=None):
        return ["name", "slug", "isil", "province", "is_active", "opac_colour"] + (["schema_name"] if obj else [])

    def get_readonly_fields(self, request, obj=None):
        # The slug names the schema and the host: fixed once the schema exists.
        return ["slug", "schema_name"] if obj else []

    def get_inlines(self, request, obj):
        return self.inlines if obj else []

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        # Removing an organisation drops a schema full of members and loans:
        # that is a data-migration project, not an admin click.
        return False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "province":
            kwargs["queryset"] = provinces_administered_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            saved = services.library_organisation_update(
                organisation=obj,
                name=data["name"],
                isil=data["isil"],
                province=data["province"],
                is_active=data["is_active"],
                opac_colour=data.get("opac_colour") or None,
            )
        else:
            saved = services.library_organisation_create(
                name=data["name"],
                slug=data["slug"],
                isil=data["isil"],
                province=data["province"],
                is_active=data["is_active"],
                progress=lambda message: None,
            )
            messages.info(request, f"Schema {saved.schema_name} aangemaakt; adres {saved.get_primary_domain()}.")
        obj.pk = saved.pk
        obj.schema_name = saved.schema_name
        obj._state.adding = False


class OpeningPeriodInline(admin.TabularInline):
    model = OpeningPeriod
    extra = 0


class ClosedDateInline(admin.TabularInline):
    model = ClosedDate
    extra = 0


@admin.register(Branch)
class BranchAdmin(ScopedAdmin):
    list_display = ["name", "code", "organisation", "city", "is_active"]
    list_filter = ["is_active", "organisation__province"]
    search_fields = ["name", "code", "city", "organisation__name"]
    list_select_related = ["organisation"]
    inlines = [OpeningPeriodInline, ClosedDateInline]

    def scoped_queryset(self, request):
        return branches_administered_by(request.user).select_related("organisation")

    def has_add_permission(self, request):
        return self._may_administer(request)

    def has_delete_permission(self, request, obj=None):
        return False  # branches carry items and loans; deactivate instead

    def get_readonly_fields(self, request, obj=None):
        return ["organisation", "code"] if obj else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "organisation":
            kwargs["queryset"] = organisations_administered_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            saved = services.branch_update(
                branch=obj,
                name=data["name"],
                street=data["street"],
                postcode=data["postcode"],
                city=data["city"],
                is_active=data["is_active"],
                opac_colour=data.get("opac_colour") or None,
            )
        else:
            saved = services.branch_create(
                organisation=data["organisation"],
                code=data["code"],
                name=data["name"],
                street=data["street"],
                postcode=data["postcode"],
                city=data["city"],
            )
        obj.pk = saved.pk
        obj.postcode = saved.postcode
        obj._state.adding = False


class OutboxStateFilter(admin.SimpleListFilter):
    title = "toestand"
    parameter_name = "toestand"

    def lookups(self, request, model_admin):
        return [("open", "Open (wacht, vastgelopen of mislukt)"), ("vastgelopen", "Vastgelopen"),
                ("mislukt", "Mislukt"), ("uitgevoerd", "Uitgevoerd")]

    def queryset(self, request, queryset):
        state = OutboxMessage.State
        if self.value() == "open":
            return queryset.filter(state__in=[state.PENDING, state.FAILED])
        if self.value() == "vastgelopen":
            return queryset.filter(state=state.PENDING, available_at__lte=timezone.now() - outbox.STUCK_AFTER)
        if self.value() == "mislukt":
            return queryset.filter(state=state.FAILED)
        if self.value() == "uitgevoerd":
            return queryset.filter(state=state.DONE)
        return queryset


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ScopedAdmin):
    """Steps one library asked of another (tenants.outbox): read-only, with "try
    again" for failed and stuck ones. A POI administrator sees those to or from
    the libraries of their provinces."""

    list_display = ["pk", "kind_text", "source", "target", "state_text", "attempts", "created_at", "available_at",
                    "done_at", "error_text"]
    list_filter = [OutboxStateFilter, "kind"]
    list_select_related = ["source", "target"]
    search_fields = ["dedupe_key", "kind"]
    actions = ["retry"]
    fields = ["kind", "source", "target", "state", "attempts", "last_error", "payload", "dedupe_key", "actor_ref",
              "created_at", "available_at", "last_attempt_at", "done_at", "retried_at", "retried_by_ref"]
    readonly_fields = fields

    def scoped_queryset(self, request):
        libraries = organisations_administered_by(request.user)
        return OutboxMessage.objects.filter(Q(source__in=libraries) | Q(target__in=libraries)).select_related(
            "source", "target")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # read-only; "try again" is the one thing staff do

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="soort")
    def kind_text(self, message):
        return outbox.kind_label(message.kind)

    @admin.display(description="status")
    def state_text(self, message):
        if outbox.is_stuck(message):
            return "Vastgelopen"
        return message.get_state_display()

    @admin.display(description="laatste fout")
    def error_text(self, message):
        return message.last_error[:120]

    @admin.action(description="Opnieuw proberen (mislukte en vastgelopen berichten)")
    def retry(self, request, queryset):
        actor = Actor.staff(request.user, None)
        retried, refused = 0, 0
        for message_id in queryset.values_list("pk", flat=True):
            try:
                outbox.outbox_retry(actor=actor, message_id=message_id)
            except ValidationError:
                refused += 1
            else:
                retried += 1
        if retried:
            messages.success(request, f"{retried} bericht(en) worden opnieuw geprobeerd.")
        if refused:
            messages.warning(request, f"{refused} bericht(en) overgeslagen: alleen mislukte of vastgelopen berichten "
                                      "kunnen opnieuw worden geprobeerd.")

"""National admin for the registry.

The national administrator sees everything. A POI administrator sees and edits
only the library organisations and branches of their POI's provinces; the
scoping is staff.selectors.organisations_administered_by, asked by every
queryset and permission check here (not Django's model permissions, which
cannot express 'only these rows')."""

from django.contrib import admin, messages

from staff.selectors import (
    branches_administered_by,
    is_poi_administrator,
    organisations_administered_by,
    provinces_administered_by,
)

from . import services
from .models import Branch, ClosedDate, Domain, LibraryOrganisation, OpeningPeriod, Poi, PoiHub, Province


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
        return ["name", "slug", "isil", "province", "is_active"] + (["schema_name"] if obj else [])

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

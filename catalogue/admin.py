"""The national admin's MARC deliveries: a national cataloguer uploads a file of the
national bibliographic service (the national feed, as `import_marc` without
`--library` does from the command line) and follows how it went, record by
record. The upload is the libraries' import for no library
(catalogue.services.marc_import_create(national=True)); only imports of the national
feed are listed here: a library's imports are on its own MARC screen."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from core.actors import Actor

from . import services
from .errors import render
from .forms_marc import MarcUploadForm
from .models import MarcImport, MarcImportProblem


def _national_cataloguer(request):
    return services.is_national_cataloguer(request.user)


class MarcImportProblemInline(admin.TabularInline):
    model = MarcImportProblem
    fields = ["record_number", "control_number", "level", "reason"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    verbose_name_plural = "Geweigerde records en waarschuwingen"

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("record_number", "pk")

    def has_view_permission(self, request, obj=None):
        return _national_cataloguer(request)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="reden")
    def reason(self, problem):
        return problem.reason


@admin.register(MarcImport)
class NationalMarcImportAdmin(admin.ModelAdmin):
    list_display = ["file_name", "status", "records_read", "created", "updated", "unchanged", "enriched",
                    "skipped", "warnings", "user", "created_at", "finished_at"]
    list_filter = ["status"]
    fields = ["file_name", "format", "status", "failure", "records_read", "created", "updated", "unchanged",
              "enriched", "attached", "skipped", "warnings", "user", "created_at", "started_at", "finished_at"]
    readonly_fields = fields
    inlines = [MarcImportProblemInline]
    ordering = ["-created_at", "-pk"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(organisation__isnull=True).select_related("user")

    @admin.display(description="waarom mislukt")
    def failure(self, marc_import):
        return marc_import.error_message or "—"

    def has_module_permission(self, request):
        return _national_cataloguer(request)

    def has_view_permission(self, request, obj=None):
        return _national_cataloguer(request)

    def has_add_permission(self, request):
        return _national_cataloguer(request)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def add_view(self, request, form_url="", extra_context=None):
        """'Add' is uploading a delivery: the file goes to the same import as a
        library's upload, for no library."""
        if not self.has_add_permission(request):
            return TemplateResponse(request, "admin/catalogue/marc_upload.html",
                                    {**self.admin_site.each_context(request),
                                     "refused": render("marc_import.national_only")}, status=403)
        form = MarcUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                marc_import = services.marc_import_create(
                    actor=Actor.staff(request.user), upload=form.cleaned_data["file"],
                    marc_format=form.cleaned_data["format"], national=True)
            except ValidationError as error:
                form.add_error("file", error.messages[0])
            else:
                self.message_user(request, f"{marc_import.file_name} staat in de wachtrij voor import als "
                                           "landelijke levering.", messages.SUCCESS)
                return redirect(reverse("admin:catalogue_marcimport_change", args=[marc_import.pk]))
        context = {**self.admin_site.each_context(request), "form": form, "opts": self.model._meta,
                   "title": "Landelijke MARC-levering importeren"}
        return TemplateResponse(request, "admin/catalogue/marc_upload.html", context,
                                status=400 if form.errors else 200)

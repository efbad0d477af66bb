"""Privacy screens: the audit log (library admin), a member's data export as a
printable page and as a JSON download, erasure on request (desk role) and the
bulk import of members from CSV (library admin). Thin: they parse input, call one
service or selector and render; a member shown is read through
members.selectors.access, which checks the actor and writes the audit entry.

A member of another library never resolves: every lookup runs in the request's
library schema, so its ids and card numbers simply do not exist here (404)."""

import json

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from staff.models import Role
from staff.permissions import actor_for_request, library_staff_required

from .models import AuditEntry, Member
from .selectors import privacy as selectors
from .selectors.access import member_for_actor
from .services import imports as import_services
from .services import privacy as services

desk_staff = library_staff_required(Role.DESK)
library_admin = library_staff_required(Role.LIBRARY_ADMIN)

AUDIT_PAGE_SIZE = 50


def _member_or_404(member_id):
    """The member an export is of (the export service checks the actor and audits it)."""
    member = Member.objects.select_related("category", "subscription").filter(
        pk=member_id, merged_into__isnull=True, erased_at__isnull=True
    ).first()
    if member is None:
        raise Http404("Dit lid bestaat niet bij deze bibliotheek.")
    return member


# --- audit log -----------------------------------------------------------------------

class AuditFilterForm(forms.Form):
    lid = forms.CharField(label="Lid (pasnummer of lidnummer)", required=False, max_length=20)
    medewerker = forms.TypedChoiceField(label="Medewerker", required=False, coerce=int, empty_value=None)
    handeling = forms.ChoiceField(label="Handeling", required=False,
                                  choices=[("", "Alle handelingen")] + list(AuditEntry.Action.choices))
    van = forms.DateField(label="Van", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    tot = forms.DateField(label="Tot en met", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, staff_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["medewerker"].choices = [("", "Alle medewerkers")] + list(staff_choices)

    def clean(self):
        data = super().clean()
        if data.get("van") and data.get("tot") and data["van"] > data["tot"]:
            raise ValidationError("De begindatum ligt na de einddatum.")
        return data


@library_admin
def audit_log(request):
    form = AuditFilterForm(request.GET or None, staff_choices=selectors.audit_staff_choices(request.library))
    page = None
    errors = []
    names = {}
    if not request.GET or form.is_valid():
        data = form.cleaned_data if request.GET else {}
        member_id = None
        if data.get("lid"):
            member_id = selectors.audit_member_lookup(data["lid"])
            if member_id is None:
                errors.append(f"Geen lid met pasnummer of lidnummer '{data['lid']}' bij deze bibliotheek.")
        if not errors:
            entries = selectors.audit_log_search(
                member_id=member_id, staff_user_id=data.get("medewerker"), action=data.get("handeling") or None,
                date_from=data.get("van"), date_to=data.get("tot"),
            )
            page = Paginator(entries, AUDIT_PAGE_SIZE).get_page(request.GET.get("pagina"))
            names = selectors.audit_staff_names(page.object_list)
    else:
        errors = [message for messages_ in form.errors.values() for message in messages_]
    rows = []
    if page is not None:
        for entry in page.object_list:
            rows.append({
                "entry": entry,
                "staff": selectors.audit_actor_name(entry, names),
                "detail": _detail_text(entry),
            })
    query = request.GET.copy()
    query.pop("pagina", None)
    return render(request, "members/audit_log.html", {
        "form": form, "page": page, "rows": rows, "errors": errors, "query": query.urlencode(),
    })


_SEARCH_FIELDS = {
    "q": "vrije zoekvraag", "card_number": "pasnummer", "name": "naam", "date_of_birth": "geboortedatum",
    "postcode": "postcode", "house_number": "huisnummer", "email": "e-mail",
}

_DETAIL_LABELS = {
    "format": "formaat", "screen": "scherm", "fields": "velden", "checked": "gecontroleerd", "rows": "regels",
    "created": "geïmporteerd", "skipped": "overgeslagen", "errors": "fouten", "kind": "soort",
    "merged_records": "samengevoegde records",
    # A lookup by another library (guest lending): members.services.guests.guest_lookup_record.
    "library": "bibliotheek", "library_id": "bibliotheek-id", "branch": "vestiging", "account": "account",
    "looked_up_at": "opgezocht op", "may_borrow": "mag lenen", "categories": "redenen",
}


def _detail_text(entry):
    """A short Dutch summary of an entry's detail (which never holds personal values)."""
    detail = entry.detail or {}
    parts = []
    query = detail.get("query")
    if isinstance(query, dict) and "fields" in query:
        fields = ", ".join(_SEARCH_FIELDS.get(field, field) for field in query["fields"])
        parts.append(f"gezocht op: {fields}")
        parts.extend(f"{_DETAIL_LABELS.get(key, key)}: {value}" for key, value in query.items() if key != "fields")
    elif query:  # a list screen (its screen and branch or title), or "(gewist)"
        parts.append(f"zoekvraag: {query}")
    if "member_ids" in detail:
        shown = ", ".join(f"#{member_id}" for member_id in detail["member_ids"][:20])
        more = len(detail["member_ids"]) - 20
        parts.append(f"leden: {shown}" + (f" en {more} meer" if more > 0 else ""))
    for key, value in detail.items():
        if key in ("query", "member_ids"):
            continue
        if isinstance(value, (list, tuple)):
            value = ", ".join(str(part) for part in value)
        parts.append(f"{_DETAIL_LABELS.get(key, key)}: {value}")
    return "; ".join(parts)


# --- export --------------------------------------------------------------------------

def _shown(value):
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(part) for part in value)
    return value


@desk_staff
def member_export(request, member_id):
    member = _member_or_404(member_id)
    data = services.member_export(actor=actor_for_request(request), member=member, export_format="print")
    sections = []
    for part in data["onderdelen"]:
        content = part["gegevens"]
        if isinstance(content, dict):
            sections.append({"title": part["titel"],
                             "fields": [(label, _shown(value)) for label, value in content.items()]})
        else:
            sections.append({
                "title": part["titel"],
                "headers": list(content[0].keys()) if content else [],
                "rows": [[_shown(value) for value in row.values()] for row in content],
            })
    return render(request, "members/export.html", {"member": member, "data": data, "sections": sections})


@desk_staff
def member_export_json(request, member_id):
    member = _member_or_404(member_id)
    data = services.member_export(actor=actor_for_request(request), member=member, export_format="json")
    response = HttpResponse(json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="lid-{member.pk}-gegevens.json"'
    response["Cache-Control"] = "no-store"
    return response


# --- erasure -------------------------------------------------------------------------

class EraseForm(forms.Form):
    confirm = forms.BooleanField(
        label="Het lid heeft zelf om het wissen van zijn of haar gegevens gevraagd", required=True,
        error_messages={"required": "Bevestig dat het lid om wissen heeft gevraagd."},
    )


@desk_staff
@require_http_methods(["GET", "POST"])
def member_erase(request, member_id):
    actor = actor_for_request(request)
    # The confirmation page shows the member: read (and audited) as a view; an
    # erased member has nothing left to show (no audit entry).
    member = member_for_actor(actor, member_id, purpose="erase", erased_ok=True)
    if member is None:
        raise Http404("Dit lid bestaat niet bij deze bibliotheek.")
    if member.erased_at is not None:
        return render(request, "members/erase.html", {"member": member, "erased": True})
    errors = []
    form = EraseForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.member_erase(actor=actor, member_id=member.pk)
            except ValidationError as error:
                errors = error.messages
            else:
                messages.success(request, f"De gegevens van lid {member.pk} zijn gewist.")
                return redirect("members:member-erase", member_id=member.pk)
        else:
            errors = [message for messages_ in form.errors.values() for message in messages_]
    obstacles = selectors.member_erasure_obstacles(member)
    return render(request, "members/erase.html", {
        "member": member, "erased": False, "form": form, "errors": errors, "obstacles": obstacles,
    })


# --- bulk import ---------------------------------------------------------------------

class ImportForm(forms.Form):
    file = forms.FileField(label="CSV-bestand")


@library_admin
@require_http_methods(["GET", "POST"])
def member_import(request):
    form = ImportForm(*((request.POST, request.FILES) if request.method == "POST" else ()))
    result = None
    errors = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > import_services.SCREEN_MAX_BYTES:
            errors = [f"Het bestand is groter dan {import_services.SCREEN_MAX_BYTES // 1_000_000} MB; "
                      "gebruik het beheercommando import_members (met voortgang)."]
        else:
            try:
                rows = import_services.members_csv_rows(upload.read())
                if len(rows) > import_services.SCREEN_MAX_ROWS:
                    raise ValidationError(
                        f"Het bestand heeft {len(rows)} regels; hier kunnen er hoogstens "
                        f"{import_services.SCREEN_MAX_ROWS} tegelijk. Gebruik voor grotere bestanden het "
                        "beheercommando import_members (met voortgang), of splits het bestand."
                    )
                result = import_services.members_import(actor=actor_for_request(request), rows=rows)
            except ValidationError as error:
                errors = error.messages
    elif request.method == "POST":
        errors = [message for messages_ in form.errors.values() for message in messages_]
    return render(request, "members/import.html", {
        "form": form, "result": result, "errors": errors, "columns": import_services.COLUMNS,
        "max_rows": import_services.SCREEN_MAX_ROWS,
    })

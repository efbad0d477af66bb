"""Notice screens (Dutch): overview and resend (desk), letters to print (desk),
texts and settings (library admin). Thin: parse, call one service or selector, render.

Every screen that shows members' names or addresses writes that to the audit log.
A notice of another library never resolves: lookups run in the request's schema (404)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from members.selectors.access import member_shown, members_listed
from staff.models import Role
from staff.permissions import actor_for_request, library_staff_required
from staff.selectors import has_role
from tenants.selectors import branch_choices

from . import rendering, selectors, services
from .forms import OverviewFilterForm, SettingsForm, TemplateForm
from .models import NoticeKind

desk_staff = library_staff_required(Role.DESK)
library_admin = library_staff_required(Role.LIBRARY_ADMIN)


def _audit_list(request, screen, notices, **shown):
    members_listed(actor_for_request(request), [notice.member_id for notice in notices], purpose=screen,
                   query=shown)


def _kind_or_404(kind):
    try:
        return NoticeKind(kind)
    except ValueError:
        raise Http404("Onbekende soort bericht.") from None


@desk_staff
def overview(request):
    form = OverviewFilterForm(request.GET or None)
    status = kind = ""
    if form.is_valid():
        status, kind = form.cleaned_data["status"], form.cleaned_data["kind"]
    notices = selectors.notices_recent(status=status or None, kind=kind or None)
    uncertain = selectors.notices_uncertain()
    failed = selectors.notices_failed()
    _audit_list(request, "berichten", notices + uncertain + failed, status=status, soort=kind)
    return render(request, "notices/overview.html", {
        "form": form, "notices": notices, "uncertain": uncertain, "failed": failed,
        "letters_waiting": len(selectors.letters_to_print()),
        "may_administer": has_role(request.user, request.library, Role.LIBRARY_ADMIN),
    })


@desk_staff
def detail(request, notice_id):
    notice = selectors.notice_get(notice_id)
    if notice is None:
        raise Http404("Dit bericht bestaat niet bij deze bibliotheek.")
    member_shown(actor_for_request(request), notice.member, purpose="notice", notice=notice.pk)
    return render(request, "notices/detail.html", {"notice": notice})


@require_POST
@desk_staff
def resend(request, notice_id):
    try:
        services.notice_resend(actor=actor_for_request(request), notice_id=notice_id)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Het bericht wordt opnieuw verstuurd.")
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("notices:overview")


def _branch_choice(request):
    branches = branch_choices(request.library)
    chosen = None
    value = request.GET.get("vestiging", "")
    if value.isdigit():
        chosen = next((branch for branch in branches if branch.pk == int(value)), None)
    return branches, chosen


@desk_staff
def letters(request):
    branches, branch = _branch_choice(request)
    letters_ = selectors.letters_to_print(branch=branch)
    _audit_list(request, "brieven", letters_, vestiging=branch.pk if branch else "")
    return render(request, "notices/letters.html", {"letters": letters_, "branches": branches, "branch": branch})


@require_POST
@desk_staff
def letters_printed(request):
    ids = [value for value in request.POST.getlist("notice") if value.isdigit()]
    count = services.letters_mark_printed(actor=actor_for_request(request), notice_ids=ids)
    if count:
        messages.success(request, f"{count} brief/brieven gemarkeerd als afgedrukt.")
    else:
        messages.error(request, "Er is niets gemarkeerd: geen van deze brieven wachtte nog op afdrukken.")
    return redirect("notices:letters")


@library_admin
def templates(request):
    return render(request, "notices/templates.html", {"templates": selectors.notice_templates()})


@library_admin
def template_edit(request, kind):
    kind = _kind_or_404(kind)
    current = selectors.notice_template_get(kind)
    errors = []
    preview = None
    status = 200
    if request.method == "POST":
        form = TemplateForm(request.POST)
        if form.is_valid():
            subject, body = form.cleaned_data["subject"], form.cleaned_data["body"].replace("\r\n", "\n")
            if "preview" in request.POST:
                errors = rendering.text_problems(kind=kind, subject=subject, body=body)
                if not errors:
                    context = rendering.example_context(kind, library_name=request.library.name)
                    preview = {"subject": rendering.render_subject(subject, context),
                               "body": rendering.render(body, context)}
            else:
                try:
                    services.notice_template_save(actor=actor_for_request(request), kind=kind, subject=subject,
                                                  body=body)
                except ValidationError as error:
                    errors = error.messages
                else:
                    messages.success(request, f"De tekst voor '{kind.label}' is opgeslagen.")
                    return redirect("notices:templates")
        if errors or not form.is_valid():
            status = 400
    else:
        form = TemplateForm(initial={"subject": current.subject, "body": current.body})
    return render(request, "notices/template_edit.html", {
        "kind": kind, "current": current, "form": form, "errors": errors, "preview": preview,
        "placeholders": rendering.placeholders(kind),
    }, status=status)


@require_POST
@library_admin
def template_reset(request, kind):
    kind = _kind_or_404(kind)
    services.notice_template_reset(actor=actor_for_request(request), kind=kind)
    messages.success(request, f"De tekst voor '{kind.label}' is terug naar de standaardtekst.")
    return redirect("notices:template-edit", kind=kind.value)


@library_admin
def settings_edit(request):
    current = selectors.notice_settings_get()
    errors = []
    if request.method == "POST":
        form = SettingsForm(request.POST)
        if form.is_valid():
            try:
                services.notice_settings_update(actor=actor_for_request(request), **form.cleaned_data)
            except ValidationError as error:
                errors = error.messages
            else:
                messages.success(request, "De instellingen voor berichten zijn opgeslagen.")
                return redirect("notices:settings")
    else:
        form = SettingsForm(initial={
            "due_soon_days_before": current.due_soon_days_before, "overdue_1_days": current.overdue_1_days,
            "overdue_2_days": current.overdue_2_days, "overdue_3_days": current.overdue_3_days,
            "from_email": current.from_email,
        })
    return render(request, "notices/settings.html", {"form": form, "errors": errors, "settings": current},
                  status=400 if request.method == "POST" else 200)

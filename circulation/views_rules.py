"""The loan-rule matrix and circulation settings (library administrators), at
/uitlening/regels/. Thin: they parse input, call one service or selector and
render; every rule about rules lives in circulation.services.rules and
circulation.rules."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from collection.models import ItemType
from core.money import euro
from members.models import MemberCategory
from staff.models import Role
from staff.permissions import actor_for_request, library_staff_required
from tenants.models import Branch

from .forms_rules import CirculationSettingsForm, LoanRuleForm, WhichRuleForm, rule_initial
from .rules import default_rule, loan_rule_choose
from .selectors import loan_rules
from .services.loans import circulation_settings_get
from .services.rules import circulation_settings_update, loan_rule_delete, loan_rule_save

library_admin = library_staff_required(Role.LIBRARY_ADMIN)


def _dimension_choices(library):
    """Member categories of this library (its schema) and all its branches."""
    categories = list(MemberCategory.objects.order_by("min_age", "name"))
    branches = list(Branch.objects.filter(organisation=library).order_by("-is_active", "name"))
    return categories, branches


def _name_branches(rules, branches):
    names = {branch.pk: branch.name for branch in branches}
    for rule in rules:
        rule.branch_name = names.get(rule.branch_id, "")
    return rules


def _rule_or_404(rule_id):
    rule = next((rule for rule in loan_rules() if rule.pk == rule_id), None)
    if rule is None:
        raise Http404("Deze uitleenregel bestaat niet (meer).")
    return rule


@library_admin
def overview(request):
    categories, branches = _dimension_choices(request.library)
    rules = loan_rules()
    current_settings = circulation_settings_get()
    choice = None
    which_form = WhichRuleForm(categories=categories, branches=branches)
    if request.GET:
        which_form = WhichRuleForm(request.GET, categories=categories, branches=branches)
        if which_form.is_valid():
            choice = loan_rule_choose(**which_form.chooser_arguments())
            for rule in choice.candidates:
                # The chooser does not join the category: name it from the list in hand.
                rule.member_category = next((c for c in categories if c.pk == rule.member_category_id), None)
            _name_branches(choice.candidates, branches)
    return render(request, "circulation/rules/overview.html", {
        "rules": rules,
        "which_form": which_form,
        "choice": choice,
        "default_rule": default_rule(),
        "settings": current_settings,
        "floating_labels": [ItemType(value).label for value in current_settings.floating_item_types
                            if value in ItemType.values],
    })


def _rule_form_screen(request, rule):
    categories, branches = _dimension_choices(request.library)
    errors = []
    if request.method == "POST":
        form = LoanRuleForm(request.POST, categories=categories, branches=branches)
        if form.is_valid():
            try:
                saved = loan_rule_save(actor=actor_for_request(request),
                                       rule_id=rule.pk if rule else None, **form.service_arguments())
            except ValidationError as error:
                errors = error.messages
            else:
                messages.success(request, "Uitleenregel opgeslagen." if rule else "Nieuwe uitleenregel opgeslagen.")
                return redirect(f"{reverse('circulation_rules:overview')}#regel-{saved.pk}")
        else:
            errors = ["Controleer de gemarkeerde velden."]
    else:
        form = LoanRuleForm(initial=rule_initial(rule or default_rule()), categories=categories, branches=branches)
    return render(request, "circulation/rules/rule_form.html", {"form": form, "rule": rule, "errors": errors},
                  status=400 if request.method == "POST" else 200)


@library_admin
def rule_new(request):
    return _rule_form_screen(request, None)


@library_admin
def rule_edit(request, rule_id):
    return _rule_form_screen(request, _rule_or_404(rule_id))


@library_admin
def rule_delete(request, rule_id):
    rule = _rule_or_404(rule_id)
    errors = []
    if request.method == "POST":
        try:
            loan_rule_delete(actor=actor_for_request(request), rule_id=rule.pk)
        except ValidationError as error:
            errors = error.messages
        else:
            messages.success(request, "Uitleenregel verwijderd.")
            return redirect("circulation_rules:overview")
    return render(request, "circulation/rules/rule_delete.html", {"rule": rule, "errors": errors},
                  status=400 if errors else 200)


@library_admin
def settings(request):
    current = circulation_settings_get()
    errors = []
    if request.method == "POST":
        form = CirculationSettingsForm(request.POST)
        if form.is_valid():
            try:
                circulation_settings_update(actor=actor_for_request(request), **form.cleaned_data)
            except ValidationError as error:
                errors = error.messages
            else:
                messages.success(request, "Uitleeninstellingen opgeslagen.")
                return redirect("circulation_rules:settings")
        else:
            errors = ["Controleer de gemarkeerde velden."]
    else:
        form = CirculationSettingsForm(initial={"floating_item_types": current.floating_item_types,
                                                "transfer_days": current.transfer_days,
                                                "lost_found_fee_cents": euro(current.lost_found_fee_cents)
                                                .replace("€", "").strip()})
    return render(request, "circulation/rules/settings.html", {"form": form, "errors": errors, "settings": current},
                  status=400 if request.method == "POST" else 200)

"""Account screens (desk role): take a payment, post a charge, waive (part of) a
charge, block a member and lift a block; and the member rules (library admin).
Thin: they parse input, call one service or selector and render. Every screen
that shows a member reads it through members.selectors.access, which checks the
actor and records the view in the audit log."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.money import euro
from staff.models import Role
from staff.permissions import actor_for_request, library_staff_required

from .forms_accounts import BlockForm, ChargeForm, PaymentForm, RulesForm, WaiveForm
from .models import Block
from .selectors import ledger as selectors
from .selectors import guests as selectors_guests
from .selectors.access import member_for_actor, member_shown, members_listed
from .services import ledger as services

desk_staff = library_staff_required(Role.DESK)
library_admin = library_staff_required(Role.LIBRARY_ADMIN)


def _member_or_404(request, member_id, screen):
    """The member a screen shows (name, card, balance), read and audited as a view."""
    member = member_for_actor(actor_for_request(request), member_id, purpose=screen)
    if member is None:
        raise Http404("Dit lid bestaat niet in deze bibliotheek.")
    return member


def _render_member_screen(request, template, member, context, *, status=200):
    balance = selectors.member_balance_cents(member)
    context = {"member": member, "balance_cents": balance, "credit_cents": max(-balance, 0), **context}
    return render(request, template, context, status=status)


def _back_to_member(member):
    return redirect("members:detail", member_id=member.pk)


@desk_staff
def payment(request, member_id):
    member = _member_or_404(request, member_id, "payment")
    errors = []
    if request.method == "POST":
        form = PaymentForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                entry = services.ledger_payment(
                    actor=actor_for_request(request), member=member, amount_cents=data["amount"],
                    method=data["method"], description=data["description"],
                )
            except ValidationError as error:
                errors = error.messages
            else:
                messages.success(request, f"Betaling van {euro(entry.amount_cents)} "
                                          f"({entry.get_payment_method_display().lower()}) geboekt.")
                return _back_to_member(member)
    else:
        balance = selectors.member_balance_cents(member)
        form = PaymentForm(initial={"amount": euro(balance).replace("€ ", "") if balance > 0 else ""})
    return _render_member_screen(
        request, "members/payment.html", member, {"form": form, "errors": errors},
        status=400 if request.method == "POST" else 200,
    )


@desk_staff
def charge(request, member_id):
    member = _member_or_404(request, member_id, "charge")
    errors = []
    if request.method == "POST":
        form = ChargeForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                entry = services.ledger_charge(
                    actor=actor_for_request(request), member=member, charge_type=data["charge_type"],
                    amount_cents=data["amount"], description=data["description"],
                )
            except ValidationError as error:
                errors = error.messages
            else:
                messages.success(request, f"Kosten van {euro(entry.amount_cents)} geboekt: {entry.description}.")
                return _back_to_member(member)
    else:
        form = ChargeForm()
    return _render_member_screen(
        request, "members/charge.html", member, {"form": form, "errors": errors},
        status=400 if request.method == "POST" else 200,
    )


@desk_staff
def waive(request, charge_id):
    entry = selectors.charge_get(charge_id)
    if entry is None or entry.member.erased_at is not None or entry.member.merged_into_id is not None:
        raise Http404("Deze kostenpost bestaat niet in deze bibliotheek.")
    actor = actor_for_request(request)
    member = member_shown(actor, entry.member, purpose="waive")
    waived = selectors.charge_waived_cents(entry)
    errors = []
    if request.method == "POST":
        form = WaiveForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                waiver = services.ledger_waive(
                    actor=actor, charge=entry, amount_cents=data["amount"], reason=data["reason"],
                )
            except ValidationError as error:
                errors = error.messages
            else:
                messages.success(request, f"{euro(waiver.amount_cents)} kwijtgescholden van "
                                          f"'{entry.description}'.")
                return _back_to_member(member)
    else:
        form = WaiveForm()
    return _render_member_screen(
        request, "members/waive.html", member,
        {
            "form": form, "errors": errors, "charge": entry, "waived_cents": waived,
            "open_cents": entry.amount_cents - waived,
            "desk_limit_cents": services.WAIVE_DESK_LIMIT_CENTS,
            "is_library_admin": services.waive_allowed(
                actor=actor, already_waived_cents=0, amount_cents=services.WAIVE_DESK_LIMIT_CENTS + 1,
            ),
        },
        status=400 if request.method == "POST" else 200,
    )


@desk_staff
def block(request, member_id):
    member = _member_or_404(request, member_id, "block")
    errors = []
    if request.method == "POST":
        form = BlockForm(request.POST)
        if form.is_valid():
            try:
                services.block_add(actor=actor_for_request(request), member=member,
                                   reason=form.cleaned_data["reason"])
            except ValidationError as error:
                errors = error.messages
            else:
                messages.success(request, "Het lid is geblokkeerd.")
                return _back_to_member(member)
    else:
        form = BlockForm()
    return _render_member_screen(
        request, "members/block.html", member,
        {"form": form, "errors": errors, "active_blocks": selectors.member_active_blocks(member)},
        status=400 if request.method == "POST" else 200,
    )


@desk_staff
@require_POST
def block_lift(request, block_id):
    found = Block.objects.select_related("member").filter(pk=block_id).first()
    if found is None or found.member.erased_at is not None or found.member.merged_into_id is not None:
        raise Http404("Deze blokkade bestaat niet in deze bibliotheek.")
    try:
        services.block_lift(actor=actor_for_request(request), block=found)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, "De blokkade is opgeheven.")
    return _back_to_member(found.member)


@library_admin
def rules(request):
    current = selectors.member_rules_get()
    errors = []
    if request.method == "POST":
        form = RulesForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.member_rules_update(
                    actor=actor_for_request(request), balance_block_cents=data["balance_block"],
                    block_when_expired=data["block_when_expired"],
                    loan_history_retention_days=data["loan_history_retention_days"],
                    online_confirmation=data["online_confirmation"],
                    guest_charge_max_cents=data["guest_charge_max"],
                )
            except ValidationError as error:
                errors = error.messages
            else:
                messages.success(request, "De ledenregels zijn opgeslagen. De blokkades van de leden worden "
                                          "op de achtergrond bijgewerkt.")
                return redirect("members:rules")
    else:
        form = RulesForm(initial={
            "balance_block": euro(current.balance_block_cents).replace("€ ", ""),
            "block_when_expired": current.block_when_expired,
            "loan_history_retention_days": current.loan_history_retention_days,
            "online_confirmation": current.online_confirmation,
            "guest_charge_max": euro(current.guest_charge_max_cents).replace("€ ", ""),
        })
    return render(
        request, "members/rules.html",
        {"form": form, "errors": errors, "rules": current, "desk_limit_cents": services.WAIVE_DESK_LIMIT_CENTS},
        status=400 if request.method == "POST" else 200,
    )


@desk_staff
def guest_charges(request):
    """The charges other libraries put on this library's members' accounts (guest
    lending), each with the library that asked, the amount asked and booked: to
    check and dispute (waive the entry on the member's page)."""
    rows = selectors_guests.guest_charges_recent()
    members_listed(actor_for_request(request), [row.member_id for row in rows], purpose="guest_charges")
    return render(request, "members/guest_charges.html", {
        "rows": rows, "cap_cents": selectors.member_rules_get().guest_charge_max_cents,
    })

"""Member screens (desk role): search, member page, register, edit, renew, replace a
card, merge duplicates; categories and subscription types (library admin).
Thin: they parse input, call one service or selector and render. Every screen
that shows a member's personal data reads it through members.selectors.access,
which checks the actor and writes the audit entry.

A member of another library never resolves: every lookup runs in the request's
library schema, so its ids and card numbers do not exist here (404)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from circulation.selectors import member_guest_loans, member_loans
from core.money import euro
from notices.selectors import member_notices
from staff.models import Role
from staff.permissions import actor_for_request, library_staff_required
from staff.selectors import has_role, working_branch
from tenants.models import Branch
from tenants.selectors import branch_choices

from .forms import MemberCategoryForm, MemberForm, MergeFindForm, ReplaceCardForm, SearchForm, SubscriptionTypeForm
from .models import MemberCategory, OnlineRegistration, SubscriptionType
from .selectors import registration as selectors
from .selectors.access import member_for_actor, members_search_for_actor
from .selectors.auth import card_sign_in_state
from .selectors.guests import guest_lookups
from .services.auth import member_sign_in_unlock
from .services.online import online_registration_confirm
from .selectors.ledger import member_account
from .services import registration as services

desk_staff = library_staff_required(Role.DESK)
library_admin = library_staff_required(Role.LIBRARY_ADMIN)


def _live_member_or_404(request, member_id, screen):
    """The member this screen shows, read (and audited) through the access selector."""
    member = member_for_actor(actor_for_request(request), member_id, purpose=screen)
    if member is None:
        raise Http404("Dit lid bestaat niet bij deze bibliotheek.")
    return member


def _guardian_id(form, errors):
    """The member id behind the guardian card typed on the form ('' -> None)."""
    card = form.cleaned_data.get("guardian_card", "").strip()
    if not card:
        return None
    guardian = selectors.guardian_candidates_by_card(card)
    if guardian is None:
        errors.append(f"Er is geen lid met pasnummer {card.upper()} (ouder/verzorger) bij deze bibliotheek.")
        return None
    return guardian.pk


# --- search ------------------------------------------------------------------------

@desk_staff
def search(request):
    """The desk's member search. Criteria come by POST only: names, e-mail
    addresses, birth dates and card numbers stay out of URLs, and so out of the
    web server's access log and the browser's history (a GET shows the empty form)."""
    form = SearchForm(request.POST if request.method == "POST" else None)
    results = None
    old_card = None
    if form.has_criteria():
        data = form.cleaned_data
        query = data["q"].strip()
        if query and not any(value for key, value in data.items() if key != "q"):
            # A scanned card goes straight to the member; a replaced card is refused.
            found = selectors.member_by_card(query)
            if found is not None and not found.is_old_card:
                return redirect("members:detail", member_id=found.member.pk)
            if found is not None:
                old_card = found
        results = members_search_for_actor(
            actor_for_request(request), purpose="members", query=query, card_number=data["card_number"],
            name=data["name"], date_of_birth=data["date_of_birth"], postcode=data["postcode"],
            house_number=data["house_number"], email=data["email"],
        )
    return render(request, "members/search.html", {
        "form": form, "results": results, "old_card": old_card,
        "may_administer": has_role(request.user, request.library, Role.LIBRARY_ADMIN),
    })


# --- member page -------------------------------------------------------------------

@desk_staff
def detail(request, member_id):
    member = member_for_actor(actor_for_request(request), member_id, purpose="member")
    if member is None:
        merged = selectors.member_get(member_id)  # only to follow a merged record: nothing of it is shown
        if merged is None or merged.erased_at is not None or merged.merged_into_id is None:
            raise Http404("Dit lid bestaat niet bij deze bibliotheek.")
        messages.info(request, "Deze inschrijving is samengevoegd; u ziet nu het lid waarmee ze is samengevoegd.")
        return redirect("members:detail", member_id=merged.merged_into_id)
    branch = Branch.objects.filter(pk=member.preferred_branch_id).first() if member.preferred_branch_id else None
    return render(request, "members/member.html", {
        "member": member,
        "account": member_account(member),
        "preferred_branch": branch,
        "former_cards": selectors.member_former_cards(member),
        "wards": selectors.member_wards(member),
        "age": selectors.age_on(member.date_of_birth, timezone.localdate()) if member.date_of_birth else None,
        "expired": member.expires_on is not None and member.expires_on < timezone.localdate(),
        "notices": member_notices(member),
        "loans": member_loans(member),
        "guest_loans": member_guest_loans(member, request.library),
        "sign_in": card_sign_in_state(member.card_number),
        "guest_lookups": guest_lookups(member),
        "online_registration": OnlineRegistration.objects.filter(member=member).first(),
    })


@require_POST
@desk_staff
def sign_in_unlock(request, member_id):
    """Free a card that failed sign-ins locked (members.services.auth)."""
    try:
        member_sign_in_unlock(actor=actor_for_request(request), member_id=member_id)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, "De pas kan weer aanmelden met de pincode.")
    return redirect("members:detail", member_id=member_id)


@require_POST
@desk_staff
def online_confirm(request, member_id):
    """Confirm an online registration after seeing the member's ID (members.services.online)."""
    try:
        online_registration_confirm(actor=actor_for_request(request), member_id=member_id)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, "De inschrijving is bevestigd: het lid kan nu lenen en reserveren.")
    return redirect("members:detail", member_id=member_id)


# --- register ----------------------------------------------------------------------

@desk_staff
def register(request):
    library = request.library
    branches = branch_choices(library)
    subscriptions = selectors.subscription_types(active_only=True)
    errors = []
    if request.method == "POST":
        form = MemberForm(request.POST, branches=branches, subscriptions=subscriptions)
        if form.is_valid():
            data = form.cleaned_data
            guardian_id = _guardian_id(form, errors)
            if not errors:
                try:
                    member = services.member_register(
                        actor=actor_for_request(request), card_number=data["card_number"],
                        first_name=data["first_name"], name_prefix=data["name_prefix"],
                        last_name=data["last_name"], date_of_birth=data["date_of_birth"], street=data["street"],
                        house_number=data["house_number"], postcode=data["postcode"], city=data["city"],
                        email=data["email"], phone=data["phone"],
                        preferred_branch_id=data["preferred_branch"] or None, notes=data["notes"],
                        pin=data["pin"], subscription=int(data["subscription"]) if data["subscription"] else None,
                        guardian_id=guardian_id, consents=form.consents(),
                    )
                except ValidationError as error:
                    errors = error.messages
                else:
                    fee = member.subscription.annual_fee_cents
                    messages.success(request, f"{member.full_name} is ingeschreven met pas {member.card_number} "
                                              f"({member.category.name}, {member.subscription.name}"
                                              f"{f', jaarbijdrage {euro(fee)} geboekt' if fee else ', gratis'}).")
                    return redirect("members:detail", member_id=member.pk)
    else:
        branch = working_branch(request.session, library)
        form = MemberForm(branches=branches, subscriptions=subscriptions, initial={
            "card_number": request.GET.get("pas", ""), "preferred_branch": branch.pk if branch else "",
        })
    return render(request, "members/register.html", {"form": form, "errors": errors},
                  status=400 if request.method == "POST" else 200)


# --- edit --------------------------------------------------------------------------

@desk_staff
def edit(request, member_id):
    member = _live_member_or_404(request, member_id, "edit")
    branches = branch_choices(request.library)
    subscriptions = selectors.subscription_types(active_only=True)
    errors = []
    if request.method == "POST":
        form = MemberForm(request.POST, branches=branches, subscriptions=subscriptions, editing=True)
        if form.is_valid():
            data = form.cleaned_data
            guardian_id = _guardian_id(form, errors)
            if not errors:
                try:
                    member = services.member_update(
                        actor=actor_for_request(request), member_id=member.pk, expected_version=data["version"],
                        first_name=data["first_name"], name_prefix=data["name_prefix"],
                        last_name=data["last_name"], date_of_birth=data["date_of_birth"], street=data["street"],
                        house_number=data["house_number"], postcode=data["postcode"], city=data["city"],
                        email=data["email"], phone=data["phone"],
                        preferred_branch_id=data["preferred_branch"] or None, notes=data["notes"],
                        pin=data["pin"],
                        subscription=int(data["subscription"]) if data["subscription"] else None,
                        guardian_id=guardian_id, consents=form.consents(),
                    )
                except ValidationError as error:
                    errors = error.messages
                else:
                    messages.success(request, "De gegevens zijn opgeslagen.")
                    return redirect("members:detail", member_id=member.pk)
    else:
        form = MemberForm(branches=branches, subscriptions=subscriptions, editing=True, initial={
            "first_name": member.first_name, "name_prefix": member.name_prefix, "last_name": member.last_name,
            "date_of_birth": member.date_of_birth, "street": member.street, "house_number": member.house_number,
            "postcode": member.postcode, "city": member.city, "email": member.email, "phone": member.phone,
            "preferred_branch": member.preferred_branch_id or "", "subscription": member.subscription_id,
            "guardian_card": member.guardian.card_number if member.guardian_id else "",
            "consent_loan_history": member.consent_loan_history_at is not None,
            "consent_newsletter": member.consent_newsletter_at is not None,
            "consent_suggestions": member.consent_suggestions_at is not None,
            "notes": member.notes, "version": member.version,
        })
    return render(request, "members/edit.html", {"form": form, "errors": errors, "member": member},
                  status=400 if request.method == "POST" else 200)


# --- renew -------------------------------------------------------------------------

@require_POST
@desk_staff
def renew(request, member_id):
    member = selectors.member_get(member_id)
    if member is None or member.erased_at is not None or member.merged_into_id is not None:
        raise Http404("Dit lid bestaat niet bij deze bibliotheek.")
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = -1
    try:
        member = services.member_subscription_renew(actor=actor_for_request(request), member=member,
                                                    expected_version=version)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        fee = member.subscription.annual_fee_cents
        messages.success(request, f"Lidmaatschap verlengd tot en met {member.expires_on:%d-%m-%Y}"
                                  f"{f'; jaarbijdrage {euro(fee)} geboekt' if fee else ''}.")
    return redirect("members:detail", member_id=member.pk)


# --- replace card ------------------------------------------------------------------

@desk_staff
def replace_card(request, member_id):
    member = _live_member_or_404(request, member_id, "replace_card")
    errors = []
    if request.method == "POST":
        form = ReplaceCardForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            old = member.card_number
            try:
                member = services.member_card_replace(
                    actor=actor_for_request(request), member=member, new_card_number=data["new_card_number"],
                    reason=form.reason_text(), fee_cents=data["fee"] or 0, expected_version=data["version"],
                )
            except ValidationError as error:
                errors = error.messages
            else:
                messages.success(request, f"Pas {old} is geblokkeerd; {member.full_name} heeft nu pas "
                                          f"{member.card_number}.")
                return redirect("members:detail", member_id=member.pk)
    else:
        form = ReplaceCardForm(initial={"version": member.version})
    return render(request, "members/replace_card.html", {"form": form, "errors": errors, "member": member},
                  status=400 if request.method == "POST" else 200)


# --- merge -------------------------------------------------------------------------

def _find_other(request, text):
    """The duplicate named by card or member number, read (and audited) for the merge screen."""
    text = (text or "").strip()
    found = selectors.member_by_card(text)
    member_id = None
    if found is not None and not found.is_old_card:
        member_id = found.member.pk
    elif text.isdigit():
        member_id = int(text)
    if member_id is None:
        return None
    return member_for_actor(actor_for_request(request), member_id, purpose="merge")


@desk_staff
def merge(request, member_id):
    keep = _live_member_or_404(request, member_id, "merge")
    errors = []
    duplicate = None
    form = MergeFindForm(request.POST or request.GET or None)
    if form.is_bound and form.is_valid():
        duplicate = _find_other(request, form.cleaned_data["other"])
        if duplicate is None:
            errors = [f"Geen lid met pasnummer of lidnummer '{form.cleaned_data['other']}' bij deze bibliotheek."]
        elif duplicate.pk == keep.pk:
            errors = ["Dat is hetzelfde lid; kies de dubbele inschrijving."]
            duplicate = None
    if request.method == "POST" and duplicate is not None and request.POST.get("confirm") == "1":
        try:
            kept = services.member_merge(actor=actor_for_request(request), keep=keep, duplicate=duplicate)
        except ValidationError as error:
            errors = error.messages
        else:
            messages.success(request, f"Pas {duplicate.card_number} is samengevoegd met {kept.full_name} "
                                      f"(pas {kept.card_number}).")
            return redirect("members:detail", member_id=kept.pk)
    context = {"member": keep, "form": form, "errors": errors, "duplicate": duplicate}
    if duplicate is not None:
        context["duplicate_account"] = member_account(duplicate)
        context["keep_account"] = member_account(keep)
    return render(request, "members/merge.html", context, status=400 if errors else 200)


# --- categories and subscription types (library admin) -----------------------------

@library_admin
def categories(request):
    subscriptions = selectors.subscription_types()
    errors = []
    editing_subscription = SubscriptionType.objects.filter(pk=request.GET.get("abonnement") or None).first() \
        if (request.GET.get("abonnement") or "").isdigit() else None
    editing_category = MemberCategory.objects.filter(pk=request.GET.get("categorie") or None).first() \
        if (request.GET.get("categorie") or "").isdigit() else None
    subscription_form = SubscriptionTypeForm(prefix="s", initial=_subscription_initial(editing_subscription))
    category_form = MemberCategoryForm(prefix="c", subscriptions=subscriptions,
                                       initial=_category_initial(editing_category))
    if request.method == "POST":
        kind = request.POST.get("kind")
        object_id = request.POST.get("id") or None
        if object_id is not None and not object_id.isdigit():
            raise Http404("Onbekend abonnement of onbekende categorie.")
        try:
            if kind == "subscription":
                subscription_form = SubscriptionTypeForm(request.POST, prefix="s")
                editing_subscription = SubscriptionType.objects.filter(pk=object_id).first() if object_id else None
                if subscription_form.is_valid():
                    data = subscription_form.cleaned_data
                    saved = services.subscription_type_save(
                        actor=actor_for_request(request), subscription_id=int(object_id) if object_id else None,
                        code=data["code"], name=data["name"], annual_fee_cents=data["annual_fee"] or 0,
                        max_loans=data["max_loans"], includes=data["includes"], for_youth=data["for_youth"],
                        is_active=data["is_active"],
                    )
                    messages.success(request, f"Abonnement {saved.name} is opgeslagen.")
                    return redirect("members:categories")
            elif kind == "category":
                category_form = MemberCategoryForm(request.POST, prefix="c", subscriptions=subscriptions)
                editing_category = MemberCategory.objects.filter(pk=object_id).first() if object_id else None
                if category_form.is_valid():
                    data = category_form.cleaned_data
                    saved = services.member_category_save(
                        actor=actor_for_request(request), category_id=int(object_id) if object_id else None,
                        code=data["code"], name=data["name"], min_age=data["min_age"], max_age=data["max_age"],
                        default_subscription_id=int(data["default_subscription"]),
                    )
                    messages.success(request, f"Categorie {saved.name} is opgeslagen.")
                    return redirect("members:categories")
            else:
                errors = ["Onbekend formulier."]
        except ValidationError as error:
            errors = error.messages
    return render(request, "members/categories.html", {
        "subscriptions": subscriptions, "categories": selectors.member_categories(),
        "subscription_form": subscription_form, "category_form": category_form,
        "editing_subscription": editing_subscription, "editing_category": editing_category,
        "errors": errors, "kind": request.POST.get("kind") if request.method == "POST" else None,
    }, status=400 if request.method == "POST" else 200)


def _subscription_initial(subscription):
    if subscription is None:
        return {"max_loans": 20, "is_active": True}
    return {
        "code": subscription.code, "name": subscription.name,
        "annual_fee": euro(subscription.annual_fee_cents).replace("€ ", ""), "max_loans": subscription.max_loans,
        "includes": subscription.includes, "for_youth": subscription.for_youth, "is_active": subscription.is_active,
    }


def _category_initial(category):
    if category is None:
        return {}
    return {
        "code": category.code, "name": category.name, "min_age": category.min_age, "max_age": category.max_age,
        "default_subscription": category.default_subscription_id,
    }


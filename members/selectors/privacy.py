"""Privacy reads: the audit log, a member's data export and what stands in the way
of erasing a member.

Two registries let later apps (circulation, holds, IBL) add what they hold about a
member without this module knowing them:

- export sections: ``export_section_register(key=..., title=..., build=...)``;
  ``build(member)`` returns a dict (one record: label -> value) or a list of dicts
  (rows) with Dutch labels and JSON-serialisable values. The export (JSON and
  printable page) is every registered section, in registration order.
- open obligations: ``erasure_obstacle_register(key=..., check=...)``;
  ``check(member)`` returns a list of core.errors.ServiceError (code and
  parameters, declared in the registering app's errors.py) why the member cannot
  be erased yet (empty when nothing is open). Circulation registers "loans open".

Register from an AppConfig.ready() so the registry is complete before any request.
"""

import re
from dataclasses import dataclass
from datetime import datetime, time
from typing import Callable

from django.db.models import Q
from django.utils import timezone

from core.errors import ServiceError
from core.money import euro
from staff.models import StaffUser

from ..models import AuditEntry, Block, FormerCard, LedgerEntry, Member
from .ledger import member_balance_cents


# --- registries ----------------------------------------------------------------------

@dataclass(frozen=True)
class ExportSection:
    key: str
    title: str
    build: Callable[[Member], object]


@dataclass(frozen=True)
class ErasureObstacle:
    key: str
    check: Callable[[Member], list]


_EXPORT_SECTIONS: dict[str, ExportSection] = {}
_ERASURE_OBSTACLES: dict[str, ErasureObstacle] = {}


def export_section_register(*, key, title, build):
    """Add (or replace, by key) a section of the member data export."""
    _EXPORT_SECTIONS[key] = ExportSection(key=key, title=title, build=build)


def export_section_unregister(key):
    _EXPORT_SECTIONS.pop(key, None)


def export_sections():
    return list(_EXPORT_SECTIONS.values())


def erasure_obstacle_register(*, key, check):
    """Add (or replace, by key) a check for open obligations that block erasure."""
    _ERASURE_OBSTACLES[key] = ErasureObstacle(key=key, check=check)


def erasure_obstacle_unregister(key):
    _ERASURE_OBSTACLES.pop(key, None)


def erasure_obstacles_keys():
    return list(_ERASURE_OBSTACLES)


def _open_balance(member):
    balance = member_balance_cents(member)
    if balance > 0:
        return [ServiceError("erasure.balance_open", amount=euro(balance))]
    if balance < 0:
        return [ServiceError("erasure.credit_open", amount=euro(-balance))]
    return []


def member_erasure_obstacles(member):
    """Every reason why this member cannot be erased now, as ServiceErrors (their
    str() is the sentence); empty when it can."""
    if member.erased_at is not None:
        return [ServiceError("erasure.already_erased")]
    if member.merged_into_id is not None:
        return [ServiceError("erasure.merged_record")]
    reasons = []
    for obstacle in _ERASURE_OBSTACLES.values():
        for reason in obstacle.check(member):
            if not isinstance(reason, ServiceError):
                raise TypeError(f"erasure obstacle {obstacle.key!r} gave {reason!r}, not a ServiceError")
            reasons.append(reason)
    return reasons


# --- formatting helpers (export values are JSON-serialisable and readable) -----------

def _when(value):
    if value is None:
        return None
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%d-%m-%Y %H:%M")
    return value.strftime("%d-%m-%Y")


def _staff_name(user_id, names):
    if user_id is None:
        return "Systeem"
    return names.get(user_id, f"medewerker #{user_id}")


def _staff_names(user_ids):
    ids = {user_id for user_id in user_ids if user_id is not None}
    return {user.pk: user.get_full_name() or user.username for user in StaffUser.objects.filter(pk__in=ids)}


# --- the built-in export sections ------------------------------------------------------

def _section_personal(member):
    return {
        "Lidnummer": member.pk,
        "Pasnummer": member.card_number,
        "Voornaam": member.first_name,
        "Tussenvoegsel": member.name_prefix,
        "Achternaam": member.last_name,
        "Geboortedatum": _when(member.date_of_birth),
        "Straat": member.street,
        "Huisnummer": member.house_number,
        "Postcode": member.postcode,
        "Plaats": member.city,
        "E-mail": member.email,
        "Telefoon": member.phone,
        "Voorkeursvestiging": member.preferred_branch.name if member.preferred_branch_id and member.preferred_branch else None,
        "Ouder/verzorger": member.guardian.full_name if member.guardian_id else None,
        "Kinderen onder uw hoede (leden)": [ward.full_name for ward in member.wards.all()],
        "Pincode ingesteld": "ja" if member.pin_hash else "nee",  # the PIN itself is never stored readable
        "Notities van de bibliotheek": member.notes,
        "Ingeschreven op": _when(member.created_at),
        "Laatst gewijzigd op": _when(member.updated_at),
    }


def _section_consents(member):
    def consent(at):
        return f"gegeven op {_when(at)}" if at else "niet gegeven"

    return {
        "Leenhistorie bewaren": consent(member.consent_loan_history_at),
        "Nieuwsbrief": consent(member.consent_newsletter_at),
        "Leestips": consent(member.consent_suggestions_at),
    }


def _section_subscription(member):
    return {
        "Categorie": member.category.name,
        "Abonnement": member.subscription.name,
        "Jaarbijdrage": euro(member.subscription.annual_fee_cents),
        "Inbegrepen": member.subscription.includes,
        "Lid tot en met": _when(member.expires_on),
    }


def _section_ledger(member):
    entries = list(LedgerEntry.objects.filter(member=member).order_by("created_at", "pk"))
    names = _staff_names(entry.created_by_id for entry in entries)
    rows = []
    for entry in entries:
        kind = str(LedgerEntry.Kind(entry.kind).label)
        if entry.charge_type:
            kind = f"{kind}: {LedgerEntry.ChargeType(entry.charge_type).label}"
        if entry.payment_method:
            kind = f"{kind} ({LedgerEntry.PaymentMethod(entry.payment_method).label})"
        rows.append({
            "Datum": _when(entry.created_at),
            "Soort": kind,
            "Bedrag": euro(entry.amount_cents),
            "Omschrijving": entry.description,
            "Door": _staff_name(entry.created_by_id, names),
        })
    return rows


def _section_blocks(member):
    blocks = list(Block.objects.filter(member=member).order_by("created_at", "pk"))
    names = _staff_names([block.created_by_id for block in blocks] + [block.lifted_by_id for block in blocks])
    return [
        {
            "Soort": str(Block.Kind(block.kind).label),
            "Reden": block.reason,
            "Sinds": _when(block.created_at),
            "Door": _staff_name(block.created_by_id, names),
            "Opgeheven op": _when(block.lifted_at),
        }
        for block in blocks
    ]


def _section_former_cards(member):
    return [
        {"Pasnummer": card.card_number, "Reden": card.reason, "Vervangen op": _when(card.replaced_at)}
        for card in FormerCard.objects.filter(member=member).order_by("replaced_at", "pk")
    ]


def _section_audit(member):
    entries = list(AuditEntry.objects.filter(member_id_ref=member.pk).order_by("at", "pk"))
    names = _staff_names(entry.staff_user_id for entry in entries)
    return [
        {
            "Wanneer": _when(entry.at),
            "Medewerker": audit_actor_name(entry, names),
            "Handeling": str(AuditEntry.Action(entry.action).label),
        }
        for entry in entries
    ]


erasure_obstacle_register(key="balance", check=_open_balance)

export_section_register(key="personal", title="Persoonsgegevens", build=_section_personal)
export_section_register(key="consents", title="Toestemmingen", build=_section_consents)
export_section_register(key="subscription", title="Lidmaatschap", build=_section_subscription)
export_section_register(key="ledger", title="Rekening", build=_section_ledger)
export_section_register(key="blocks", title="Blokkades", build=_section_blocks)
export_section_register(key="former_cards", title="Eerdere passen", build=_section_former_cards)
export_section_register(key="audit", title="Wie heeft uw gegevens ingezien of gewijzigd", build=_section_audit)


def member_export_data(member, *, library_name):
    """Everything LSB holds about one member: {"bibliotheek", "gemaakt_op", "onderdelen": [...]}.

    Each part is {"sleutel", "titel", "gegevens"}; "gegevens" is a dict or a list of dicts."""
    member = (
        Member.objects.select_related("category", "subscription", "guardian")
        .prefetch_related("wards")
        .get(pk=member.pk)
    )
    if member.preferred_branch_id:
        from tenants.models import Branch

        member.preferred_branch = Branch.objects.filter(pk=member.preferred_branch_id).first()
    return {
        "bibliotheek": library_name,
        "lidnummer": member.pk,
        "gemaakt_op": _when(timezone.now()),
        "onderdelen": [
            {"sleutel": section.key, "titel": section.title, "gegevens": section.build(member)}
            for section in export_sections()
        ],
    }


# --- the audit log ------------------------------------------------------------------

def audit_member_lookup(text):
    """The member id a library admin means by `text`: a card number (current or
    former) or a member number. None when nothing matches."""
    text = (text or "").strip()
    if not text:
        return None
    member_id = Member.objects.filter(card_number__iexact=text).values_list("pk", flat=True).first()
    if member_id is None:
        member_id = FormerCard.objects.filter(card_number__iexact=text).values_list("member_id", flat=True).first()
    if member_id is None and re.fullmatch(r"#?[0-9]{1,12}", text):
        member_id = Member.objects.filter(pk=int(text.lstrip("#"))).values_list("pk", flat=True).first()
    return member_id


def audit_log_search(*, member_id=None, staff_user_id=None, action=None, date_from=None, date_to=None):
    """Audit entries of this library (the connection's schema), newest first, filtered.

    Filtering on a member also finds the searches whose results showed that member."""
    entries = AuditEntry.objects.all()
    if member_id is not None:
        entries = entries.filter(
            Q(member_id_ref=member_id)
            | Q(action=AuditEntry.Action.SEARCH, detail__contains={"member_ids": [member_id]})
        )
    if staff_user_id is not None:
        entries = entries.filter(staff_user_id=staff_user_id)
    if action:
        entries = entries.filter(action=action)
    if date_from is not None:
        entries = entries.filter(at__gte=timezone.make_aware(datetime.combine(date_from, time.min)))
    if date_to is not None:
        entries = entries.filter(at__lt=timezone.make_aware(datetime.combine(date_to, time.max)))
    return entries.order_by("-at", "-pk")


def audit_actor_name(entry, names):
    """Who an audit entry says read or changed: the staff member's name, else what
    its actor_ref names (the member themself, a self-service machine, the system)."""
    if entry.staff_user_id is not None:
        return _staff_name(entry.staff_user_id, names)
    kind, _, rest = (entry.actor_ref or "").partition(":")
    if kind == "member":
        return "Het lid zelf" if rest == str(entry.member_id_ref) else f"Lid #{rest}"
    if kind == "machine":
        return f"Zelfbedieningsautomaat {rest.split('@')[0]}"
    return "Systeem"


def audit_staff_names(entries):
    """{staff user id: display name} for a page of audit entries (staff live in the public schema)."""
    return _staff_names(entry.staff_user_id for entry in entries)


def audit_staff_choices(organisation):
    """(id, name) of everyone who works at this library, for the audit log filter."""
    users = StaffUser.objects.filter(library_roles__organisation=organisation).distinct().order_by(
        "last_name", "first_name", "username"
    )
    return [(user.pk, user.get_full_name() or user.username) for user in users]

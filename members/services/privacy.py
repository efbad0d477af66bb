"""Privacy writes (AVG/GDPR): the audit log of staff access, a member's data
export, erasure on request and the anonymising of loan history.

Every write takes an `actor` (core.actors.Actor) and runs in the connection's
current schema, which must be the actor's library (the tenant middleware or
tenant_context sets it). Refusals are core.errors.ServiceError codes (declared in
members/errors.py); when a service raises, it has changed nothing.

Loan history lives in circulation, which does not exist yet; it plugs in through
``loan_history_anonymiser_register`` (and through the export and erasure registries
in members.selectors.privacy), so this module never needs to know its models.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from django.db import transaction
from django.db.models import F, Q, Value
from django.utils import timezone

from core import locks
from core.errors import ServiceError, ServiceErrors
from core.locks import lock_row, lock_rows
from staff.models import Role
from tenants.models import CardIndex

from ..models import AuditEntry, Block, FormerCard, LedgerEntry, Member
from ..selectors.access import require_staff_role
from ..selectors.ledger import member_rules_get
from ..selectors.privacy import erasure_obstacles_keys, member_erasure_obstacles, member_export_data

ERASED_LAST_NAME = "(gewist)"
ERASED_FIELDS = [
    "birth_year_bucket", "postcode", "card_number", "first_name", "name_prefix", "last_name", "date_of_birth",
    "street", "house_number", "city", "email", "phone", "preferred_branch", "expires_on", "pin_hash",
    "guardian", "notes", "consent_loan_history_at", "consent_newsletter_at", "consent_suggestions_at",
    "erased_at", "version", "updated_at",
]


# --- audit log ---------------------------------------------------------------------

def audit_record(*, actor, member, action, detail=None):
    """Write one audit entry: `actor` (core.actors.Actor) did `action` to `member`.

    The entry keeps `actor.ref` (staff:12, member:812, machine:3@5, system:nightly)
    and, for staff, the staff account. `member` is a Member, a member id or None (a
    search: then put the ids shown in detail["member_ids"] and the query in
    detail["query"], so the audit log can find the searches that showed a member).
    Keep personal data out of `detail`: name the fields that changed, not their
    values. Screens do not call this: they read through members.selectors.access,
    which writes the entry."""
    action = AuditEntry.Action(action)
    member_id = member.pk if isinstance(member, Member) else member
    return AuditEntry.objects.create(
        staff_user=actor.user_or_none, actor_ref=actor.ref, member_id_ref=member_id, action=action,
        detail=detail or {},
    )


# --- export ------------------------------------------------------------------------

EXPORT_FORMATS = ("json", "print")


def member_export(*, actor, member, export_format):
    """Everything LSB holds about a member (see selectors.privacy.member_export_data),
    audited as an export. `export_format` is "json" (download) or "print" (page).
    Staff at the desk, or the member themself (their right of access)."""
    organisation = actor.require_current_library()
    actor.require_member(member.pk)
    if not actor.is_member:
        require_staff_role(actor, Role.DESK)
    if export_format not in EXPORT_FORMATS:
        raise ValueError(f"Unknown export format {export_format!r}")
    if member.erased_at is not None:
        raise ServiceError("member_export.erased")
    with transaction.atomic():
        data = member_export_data(member, library_name=organisation.name)
        audit_record(actor=actor, member=member, action=AuditEntry.Action.EXPORT, detail={"format": export_format})
    return data


# --- erasure -----------------------------------------------------------------------

def birth_year_bucket(date_of_birth):
    """First year of the five-year bucket of a birth date (1983 -> 1980), or None."""
    if date_of_birth is None:
        return None
    return date_of_birth.year - date_of_birth.year % 5


def postcode_digits(postcode):
    digits = (postcode or "")[:4]
    return digits if len(digits) == 4 and digits.isdigit() else ""


def _any_member_shown(member_ids):
    condition = Q(pk__in=[])
    for member_id in member_ids:
        condition |= Q(detail__contains={"member_ids": [member_id]})
    return condition


def _blank(record, erased_at):
    """Remove a (locked) member record's personal data, keeping the anonymous statistics."""
    record.birth_year_bucket = birth_year_bucket(record.date_of_birth)
    record.postcode = postcode_digits(record.postcode)
    record.card_number = f"gewist-{record.pk}"  # never a valid card number
    record.first_name = ""
    record.name_prefix = ""
    record.last_name = ERASED_LAST_NAME
    record.date_of_birth = None
    record.street = ""
    record.house_number = ""
    record.city = ""
    record.email = ""
    record.phone = ""
    record.preferred_branch_id = None
    record.expires_on = None
    record.pin_hash = ""
    record.guardian = None
    record.notes = ""
    record.consent_loan_history_at = None
    record.consent_newsletter_at = None
    record.consent_suggestions_at = None
    record.erased_at = erased_at
    record.version = record.version + 1
    record.save(update_fields=ERASED_FIELDS)


@dataclass(frozen=True)
class ErasureStep:
    key: str
    run: Callable[..., object]


_ERASURE_STEPS: dict[str, ErasureStep] = {}


def erasure_step_register(key, run):
    """Register (or replace, by key) what another app erases about a member.

    ``run(*, record_ids)`` runs inside member_erase's transaction, after the member
    and the duplicates merged into it (`record_ids`) are locked and checked; it
    blanks that app's personal data about them. If it raises, nothing is erased."""
    _ERASURE_STEPS[key] = ErasureStep(key=key, run=run)


def erasure_step_unregister(key):
    _ERASURE_STEPS.pop(key, None)


def member_erase(*, actor, member_id):
    """Erase a member's personal data on their request.

    Refused (ServiceErrors with every reason) while anything is open: a balance
    that is not zero, and whatever else is registered as an open obligation
    (loans, once circulation registers them). Otherwise, in one transaction:
    name, address, contact details, birth date, PIN, notes, consents, guardian
    link and preferred branch are removed; the card and any former cards leave
    the national card index; ledger entries keep their amounts and dates but lose
    their descriptions; block reasons are blanked; searches that showed the
    member lose their query text. Kept as anonymous statistics: the five-year
    birth bucket, the postcode digits and the category. Records merged into this
    member (the same person's duplicates) are erased with it. erased_at is set and
    an ERASE entry is written to the audit log (which keeps its earlier entries).
    Desk staff (or the system) erase; refused with every obstacle's code."""
    organisation = actor.require_current_library()
    require_staff_role(actor, Role.DESK)
    with transaction.atomic():
        member = lock_row(locks.BORROWER, Member.objects.filter(pk=member_id))
        if member is None:
            raise ServiceError("member.not_found")
        # Checked after locking: a desk posting a charge or a loan waits for us,
        # or we see what it committed.
        reasons = member_erasure_obstacles(member)
        if reasons:
            raise ServiceErrors(reasons)

        # Records merged into this one (and into those) are the same person's old
        # records, kept for their history: they are erased with it.
        duplicates = []
        frontier = [member.pk]
        while frontier:
            found = lock_rows(locks.BORROWER, Member.objects.filter(merged_into_id__in=frontier))
            duplicates.extend(found)
            frontier = [duplicate.pk for duplicate in found]
        records = [member] + duplicates
        record_ids = [record.pk for record in records]

        cards = [record.card_number for record in records] + list(
            FormerCard.objects.filter(member_id__in=record_ids).values_list("card_number", flat=True)
        )
        CardIndex.objects.filter(card_number__in=cards, organisation_id=organisation.pk).delete()
        FormerCard.objects.filter(member_id__in=record_ids).delete()
        LedgerEntry.objects.filter(member_id__in=record_ids).exclude(description="").update(description="")
        Block.objects.filter(member_id__in=record_ids).update(reason="")
        for step in list(_ERASURE_STEPS.values()):
            step.run(record_ids=record_ids)
        Member.objects.filter(guardian_id__in=record_ids).exclude(pk__in=record_ids).update(
            guardian=None, version=F("version") + 1
        )
        for entry in AuditEntry.objects.filter(action=AuditEntry.Action.SEARCH).filter(
            _any_member_shown(record_ids)
        ).select_for_update():
            entry.detail = {**entry.detail, "query": "(gewist)"}
            entry.save(update_fields=["detail"])
        erased_at = timezone.now()
        for record in records:
            _blank(record, erased_at)
        audit_record(actor=actor, member=member, action=AuditEntry.Action.ERASE,
                     detail={"checked": erasure_obstacles_keys(), "merged_records": record_ids[1:]})
    return member


# --- loan history ------------------------------------------------------------------

@dataclass(frozen=True)
class LoanHistoryAnonymiser:
    key: str
    anonymise: Callable[..., int]


_LOAN_HISTORY_ANONYMISERS: dict[str, LoanHistoryAnonymiser] = {}


def loan_history_anonymiser_register(*, key, anonymise):
    """Register (or replace, by key) what anonymises one kind of loan history.

    ``anonymise(*, returned_before, keep_member_ids)`` must unlink from their
    member every history row that ended before the date `returned_before`,
    except those of members in `keep_member_ids` (a queryset of member ids: the
    members who consented to keeping their history), and return how many rows it
    changed. It runs in its own transaction and must be idempotent."""
    _LOAN_HISTORY_ANONYMISERS[key] = LoanHistoryAnonymiser(key=key, anonymise=anonymise)


def loan_history_anonymiser_unregister(key):
    _LOAN_HISTORY_ANONYMISERS.pop(key, None)


def anonymise_ledger_lines(*, returned_before, keep_member_ids):
    """Ledger lines about a loan (reference "loan:...": a fee, fine or lost item,
    here or, for a guest loan, at another library) name the title ("Te laat: <title>")
    and point at the loan: after the retention period they keep their amount, type
    and date but say only what kind of charge they were."""
    from django.db.models import Case, When

    lines = (LedgerEntry.objects.filter(reference__startswith="loan:", created_at__date__lt=returned_before)
             .exclude(member_id__in=keep_member_ids))
    labels = [When(charge_type=value, then=Value(str(label))) for value, label in LedgerEntry.ChargeType.choices]
    return lines.update(description=Case(*labels, default=Value("")), reference="loan")


def loan_history_anonymise(*, actor, today):
    """The daily task's work in one library schema: anonymise the loan history of
    members without consent once it is older than MemberRules.loan_history_retention_days.

    Returns {anonymiser key: rows anonymised}."""
    actor.require_current_library()
    require_staff_role(actor, Role.LIBRARY_ADMIN)
    rules = member_rules_get()
    returned_before = today - timedelta(days=rules.loan_history_retention_days)
    keep_member_ids = Member.objects.filter(
        consent_loan_history_at__isnull=False, erased_at__isnull=True
    ).values("pk")
    counts = {}
    for anonymiser in list(_LOAN_HISTORY_ANONYMISERS.values()):
        with transaction.atomic():
            counts[anonymiser.key] = anonymiser.anonymise(
                returned_before=returned_before, keep_member_ids=keep_member_ids
            )
    return counts


loan_history_anonymiser_register(key="ledger_lines", anonymise=anonymise_ledger_lines)

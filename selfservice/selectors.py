"""Reads about machine accounts: the administrator's list, one account with what
it did, and the SIP2 server's look-ups (login, still usable?)."""

from dataclasses import dataclass

from django.db import connection
from django.db.models import Q

from circulation.models import ACTIVE_HOLD_STATUSES, CirculationEvent, Hold, HoldStatus, Loan
from circulation.selectors import title_texts
from collection.models import Item, ItemEvent
from members.models import AuditEntry, LedgerEntry
from tenants.models import Branch, LibraryOrganisation

from .models import MachineAccount, MachineAccountEvent

ACTIVITY_SHOWN = 50


def machine_accounts_for_library(organisation):
    """This library's machine accounts, active ones first, with their branch."""
    return list(
        MachineAccount.objects.filter(organisation=organisation)
        .select_related("branch")
        .order_by("revoked_at", "name", "pk")
    )


def machine_account_get(organisation, account_id):
    try:
        account_id = int(account_id)
    except (TypeError, ValueError):
        return None
    return MachineAccount.objects.select_related("branch").filter(pk=account_id, organisation=organisation).first()


def machine_account_events(account):
    return list(MachineAccountEvent.objects.filter(account=account).order_by("-at", "-pk")[:ACTIVITY_SHOWN])


def machine_activity(account, *, limit=ACTIVITY_SHOWN):
    """What the machine did in this library (the connection's schema): loans it
    lent and took back (the items' history), holds, payments, and the reads of members'
    data in the audit log, newest first, each as (when, what, detail). Every row
    carries the machine's actor ref ``machine:<id>@<branch>``."""
    prefix = f"machine:{account.pk}@"
    rows = []
    for event in ItemEvent.objects.filter(actor_ref__startswith=prefix).select_related("item").order_by("-pk")[:limit]:
        rows.append((event.at, f"Exemplaar {event.item.barcode}", event.detail or event.get_kind_display()))
    for event in CirculationEvent.objects.filter(actor_ref__startswith=prefix).order_by("-pk")[:limit]:
        rows.append((event.at, event.get_kind_display(), event.detail))
    for entry in LedgerEntry.objects.filter(actor_ref__startswith=prefix).order_by("-pk")[:limit]:
        rows.append((entry.created_at, entry.get_kind_display(), f"{entry.amount_cents / 100:.2f} EUR"))
    for audit in AuditEntry.objects.filter(actor_ref__startswith=prefix).order_by("-at", "-pk")[:limit]:
        screen = (audit.detail or {}).get("screen") or (audit.detail or {}).get("query", {}).get("screen", "")
        rows.append((audit.at, f"Privacylog: {audit.get_action_display()}",
                     f"lid #{audit.member_id_ref} ({screen})" if audit.member_id_ref else screen))
    rows.sort(key=lambda row: row[0], reverse=True)
    return rows[:limit]


def machine_for_login(login):
    """The usable SIP2 machine account with this login name (None otherwise)."""
    login = (login or "").strip().lower()
    if not login or len(login) > 40:
        return None
    account = MachineAccount.objects.usable().select_related("organisation", "branch").filter(login=login).first()
    if account is None or not account.speaks_sip2 or not account.branch.is_active:
        return None
    return account


_STILL_USABLE_SQL = """
    SELECT machine.last_seen_at, machine.password
      FROM {machine} AS machine
      JOIN {organisation} AS organisation ON organisation.id = machine.organisation_id
      JOIN {branch} AS branch ON branch.id = machine.branch_id
     WHERE machine.id = %s AND machine.is_active AND machine.revoked_at IS NULL
       AND organisation.is_active AND branch.is_active
"""


def machine_still_usable(account_id):
    """(usable, last_seen_at, password hash) of an account now: revoking takes
    effect at once. One plain statement: the SIP2 server asks it for a connection's
    messages (at most once a second per connection)."""
    with connection.cursor() as cursor:
        cursor.execute(_STILL_USABLE_SQL.format(machine=MachineAccount._meta.db_table,
                                                organisation=LibraryOrganisation._meta.db_table,
                                                branch=Branch._meta.db_table), [account_id])
        row = cursor.fetchone()
    if row is None:
        return False, None, ""
    return True, row[0], row[1]



# --- the SIP2 server's reads (in the machine's library schema) ----------------------------

@dataclass
class Sip2Item:
    item: object
    title_text: str
    loan: object  # the open loan (due_on), or None
    queue_length: int
    ready_hold: object  # the hold it waits for on the hold shelf, or None
    owning_branch_code: str
    current_branch_code: str


def sip2_item(barcode):
    """What item information (SIP2 17) tells about a copy of this library, or None."""
    item = (Item.objects.filter(barcode=(barcode or "").strip()[:20])
            .select_related("owning_branch", "current_branch").first())
    if item is None:
        return None
    loan = Loan.objects.filter(item=item, ended_at__isnull=True).only("pk", "due_on").first()
    queue = Hold.objects.filter(title_id=item.title_id, status__in=ACTIVE_HOLD_STATUSES).count()
    ready = Hold.objects.filter(assigned_item=item, status=HoldStatus.READY).only("pk", "shelf_until").first()
    return Sip2Item(
        item=item, title_text=title_texts([item.title_id]).get(item.title_id, ""), loan=loan, queue_length=queue,
        ready_hold=ready, owning_branch_code=item.owning_branch.code if item.owning_branch_id else "",
        current_branch_code=item.current_branch.code if item.current_branch_id else "",
    )


def sip2_title_id_of_barcode(barcode):
    return Item.objects.filter(barcode=(barcode or "").strip()[:20]).values_list("title_id", flat=True).first()


def sip2_title_of_barcode(barcode):
    title_id = sip2_title_id_of_barcode(barcode)
    return title_texts([title_id]).get(title_id, "") if title_id is not None else ""


def sip2_open_loan_of(card_number, barcode):
    """The open loan of this copy to this card (an own member's or a guest's; None
    when the card does not have it)."""
    return (Loan.objects.filter(Q(member__card_number=card_number) | Q(guest_card_number=card_number),
                                item__barcode=(barcode or "").strip()[:20], ended_at__isnull=True)
            .select_related("item").first())


def sip2_active_hold_of(member, barcode):
    """The member's active hold on the title of this copy (None when there is none)."""
    title_id = sip2_title_id_of_barcode(barcode)
    if title_id is None:
        return None
    return Hold.objects.filter(member=member, title_id=title_id, status__in=ACTIVE_HOLD_STATUSES).first()


def sip2_branch_codes(branch_ids):
    """{branch id: its code} (the locations in SIP2 answers)."""
    ids = {branch_id for branch_id in branch_ids if branch_id}
    return dict(Branch.objects.filter(pk__in=ids).values_list("pk", "code"))


def sip2_branch_by_code(organisation, code):
    """The id of this library's active branch with this code (SIP2 pickup location), or None."""
    return (Branch.objects.filter(organisation=organisation, code__iexact=(code or "").strip()[:20], is_active=True)
            .values_list("pk", flat=True).first())


def sip2_branch_name(branch_id):
    return Branch.objects.filter(pk=branch_id).values_list("name", flat=True).first() or ""

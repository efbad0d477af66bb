"""Circulation's part of member privacy and merging, registered with the members
app's registries (members.selectors.privacy, members.services.privacy,
members.services.registration): what a member's data export shows of their
loans and holds, why a member with open loans or holds cannot be erased, how
loan history is unlinked after the retention period, and what moves when two
member records are merged."""

from django.db.models import F, Func, Q, Value
from django.utils import timezone

from catalogue.models import Title
from collection.models import ItemEvent
from core.errors import ServiceError
from members.selectors.privacy import erasure_obstacle_register, export_section_register
from members.services.privacy import loan_history_anonymiser_register
from members.services.registration import merge_mover_register

from ..models import ACTIVE_HOLD_STATUSES, CirculationEvent, Hold, Loan

ANONYMISED = "(geanonimiseerd)"


def _when(value):
    if value is None:
        return ""
    if hasattr(value, "hour"):
        value = timezone.localtime(value)
        return value.strftime("%d-%m-%Y %H:%M")
    return value.strftime("%d-%m-%Y")


def _titles(title_ids):
    return dict(Title.objects.filter(pk__in=set(title_ids)).values_list("pk", "title"))


def _section_loans(member):
    loans = list(Loan.objects.filter(member=member).select_related("item").order_by("loaned_at", "pk"))
    titles = _titles(loan.title_id for loan in loans)
    return [
        {
            "Titel": titles.get(loan.title_id, ""),
            "Exemplaar": loan.item.barcode,
            "Geleend op": _when(loan.loaned_at),
            "Inleveren uiterlijk": _when(loan.due_on),
            "Verlengd": loan.renewals,
            "Beëindigd": _when(loan.ended_at),
            "Hoe": loan.get_ending_display() if loan.ending else "Nog geleend",
        }
        for loan in loans
    ]


def _section_holds(member):
    holds = list(Hold.objects.filter(member=member).order_by("placed_at", "pk"))
    titles = _titles(hold.title_id for hold in holds)
    return [
        {
            "Titel": titles.get(hold.title_id, ""),
            "Geplaatst": _when(hold.placed_at),
            "Status": hold.get_status_display(),
            "Verwacht": _when(hold.expected_on),
            "Afgesloten": _when(hold.ended_at),
        }
        for hold in holds
    ]


def _open_loans(member):
    reasons = []
    count = Loan.objects.filter(member=member, ended_at__isnull=True).count()
    if count:
        reasons.append(ServiceError("erasure.loans_open", count=count))
    # Loans at other libraries on this member's cards (the national guest-loan index).
    from django.db import connection

    from members.models import FormerCard
    from tenants.models import GuestLoan

    cards = [member.card_number] + list(FormerCard.objects.filter(member=member).values_list("card_number", flat=True))
    elsewhere = (
        GuestLoan.objects.filter(home_organisation__schema_name=connection.schema_name, card_number__in=cards)
        .values_list("lending_organisation__name", flat=True)
    )
    for name in sorted(set(elsewhere)):
        reasons.append(ServiceError("erasure.loans_elsewhere", library=name))
    return reasons


def _active_holds(member):
    count = Hold.objects.filter(member=member, status__in=ACTIVE_HOLD_STATUSES).count()
    if count:
        return [ServiceError("erasure.holds_active", count=count)]
    return []


def anonymise_loan_history(*, returned_before, keep_member_ids):
    """Unlink ended loans from their borrower once older than the retention period
    (members who consented keep theirs; guests' card numbers always go). What the
    desk wrote about those loans goes too (an override's or claim's text can name
    the member or their block)."""
    now = timezone.now()
    ended = Loan.objects.filter(ended_at__date__lt=returned_before, anonymised_at__isnull=True)
    going = ended.filter(Q(member__isnull=False) & ~Q(member_id__in=keep_member_ids) | Q(member__isnull=True)
                         & ~Q(guest_card_number=""))
    CirculationEvent.objects.filter(loan__in=going.values("pk")).exclude(detail=ANONYMISED).update(detail=ANONYMISED)
    count = ended.filter(member__isnull=False).exclude(member_id__in=keep_member_ids).update(
        member=None, anonymised_at=now
    )
    count += ended.filter(member__isnull=True).exclude(guest_card_number="").update(
        guest_card_number="", anonymised_at=now
    )
    return count


def anonymise_item_history(*, returned_before, keep_member_ids):
    """Item histories older than the retention period name no card: older versions
    of LSB wrote "op de reserveringsplank voor pas <card>"; now they name the hold."""
    return ItemEvent.objects.filter(at__date__lt=returned_before, detail__contains="voor pas ").update(
        detail=Func(F("detail"), Value(r"voor pas \S+"), Value("voor een lid"), function="regexp_replace"))


def _section_loans_elsewhere(member):
    """The member's loans at other library organisations (guest lending), open and
    ended (until those libraries anonymise them), read from each lending library's
    loans by the member's cards: a member's right of access covers every library in LSB."""
    from django.db import connection

    from members.models import FormerCard
    from tenants.models import LibraryOrganisation

    cards = [member.card_number] + list(FormerCard.objects.filter(member=member).values_list("card_number", flat=True))
    home = LibraryOrganisation.objects.filter(schema_name=connection.schema_name).first()
    if home is None:
        return []
    others = list(LibraryOrganisation.objects.exclude(pk=home.pk).values_list("schema_name", "name"))
    if not others:
        return []
    table = connection.ops.quote_name(Loan._meta.db_table)
    parts, params = [], []
    for schema, name in others:
        parts.append(f"SELECT %s, title_id, loaned_at, due_on, ended_at FROM {connection.ops.quote_name(schema)}.{table}"
                     " WHERE guest_organisation_id = %s AND guest_card_number = ANY(%s)")
        params.extend([name, home.pk, cards])
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts) + " ORDER BY 3", params)
        rows = cursor.fetchall()
    titles = _titles(row[1] for row in rows)
    return [
        {"Bibliotheek": name, "Titel": titles.get(title_id, ""), "Geleend op": _when(loaned_at),
         "Inleveren uiterlijk": _when(due_on), "Beëindigd": _when(ended_at) or "Nog geleend"}
        for name, title_id, loaned_at, due_on, ended_at in rows
    ]


def delete_hold_history(*, returned_before, keep_member_ids):
    """Ended holds say what a member wanted to read: gone after the retention period."""
    deleted, _ = (
        Hold.objects.filter(ended_at__date__lt=returned_before)
        .exclude(status__in=ACTIVE_HOLD_STATUSES)
        .exclude(member_id__in=keep_member_ids)
        .delete()
    )
    return deleted


def move_loans(*, actor, duplicate_id, kept_id):
    return Loan.objects.filter(member_id=duplicate_id).update(member_id=kept_id)


def move_holds(*, actor, duplicate_id, kept_id):
    """Through the hold services: the kept record keeps the best place in every
    queue (circulation.services.holds.holds_merge)."""
    from .holds import holds_merge

    return holds_merge(actor=actor, duplicate_id=duplicate_id, kept_id=kept_id)


export_section_register(key="loans", title="Uitleningen", build=_section_loans)
export_section_register(key="holds", title="Reserveringen", build=_section_holds)
export_section_register(key="loans_elsewhere", title="Uitleningen bij andere bibliotheken", build=_section_loans_elsewhere)
erasure_obstacle_register(key="loans", check=_open_loans)
erasure_obstacle_register(key="holds", check=_active_holds)
loan_history_anonymiser_register(key="loans", anonymise=anonymise_loan_history)
loan_history_anonymiser_register(key="holds", anonymise=delete_hold_history)
loan_history_anonymiser_register(key="item_history", anonymise=anonymise_item_history)
merge_mover_register(key="loans", move=move_loans)
merge_mover_register(key="holds", move=move_holds)

"""Removing what a test with committed data made for interlibrary loan (the browser
test, the benchmark's checks): the requests with everything hanging on them in the
public schema, and the members, copies, holds, loans and notices in the libraries'
schemas."""

from django.db import connection
from django_tenants.utils import tenant_context


def ibl_cleanup(*, requests=(), libraries=(), members=None, barcodes=(), titles=(), users=(), cards=()):
    """`requests`: IblRequest ids; `libraries`: the organisations involved; `members`:
    {organisation: [member ids]}; `barcodes`: copies made (in any of the libraries,
    stand-ins included); `titles`: catalogue titles made; `users`: staff accounts made."""
    from catalogue.models import Holding, Title
    from circulation.models import CirculationEvent, Hold, Loan, Transfer
    from collection.models import Item, ItemEvent
    from ibl.models import Ask, Crate, HubStaff, IblEvent, IblRequest, Leg, Run, Scan, Settlement
    from notices.models import Notice
    from staff.models import StaffUser
    from tenants.models import CardIndex, ItemIndex, OutboxMessage

    from tests.members.ledger_helpers import money_cleanup

    members = members or {}
    references = [f"ibl:{request_id}" for request_id in requests]
    for organisation in libraries:
        with tenant_context(organisation):
            member_ids = members.get(organisation.slug, [])
            items = list(Item.objects.filter(barcode__in=list(barcodes)).values_list("pk", flat=True))
            loans = Loan.objects.filter(item_id__in=items)
            holds = Hold.objects.filter(item_id__in=items) | Hold.objects.filter(borrowing_library_ref__in=references)
            if member_ids:
                holds = holds | Hold.objects.filter(member_id__in=member_ids)
                loans = loans | Loan.objects.filter(member_id__in=member_ids)
            Notice.objects.filter(member_id__in=member_ids).delete()
            CirculationEvent.objects.filter(hold__in=holds).delete()
            CirculationEvent.objects.filter(loan__in=loans).delete()
            CirculationEvent.objects.filter(item_id_ref__in=items).delete()
            Transfer.objects.filter(item_id__in=items).delete()
            Hold.objects.filter(pk__in=list(holds.values_list("pk", flat=True))).delete()
            Loan.objects.filter(pk__in=list(loans.values_list("pk", flat=True))).delete()
            ItemEvent.objects.filter(item_id__in=items).delete()
            Item.objects.filter(pk__in=items).delete()
            if member_ids:
                money_cleanup(member_ids)
    connection.set_schema_to_public()
    crates = set(Leg.objects.filter(request_id__in=requests).exclude(crate=None).values_list("crate_id", flat=True))
    runs = set(Leg.objects.filter(request_id__in=requests).exclude(run=None).values_list("run_id", flat=True))
    Scan.objects.filter(request_id__in=requests).delete()
    Scan.objects.filter(crate_id__in=crates).delete()
    Leg.objects.filter(request_id__in=requests).delete()
    Crate.objects.filter(pk__in=crates, legs__isnull=True).delete()
    Run.objects.filter(pk__in=runs, legs__isnull=True).delete()
    Settlement.objects.filter(request_id__in=requests).delete()
    Ask.objects.filter(request_id__in=requests).delete()
    IblEvent.objects.filter(request_id__in=requests).delete()
    IblRequest.objects.filter(pk__in=requests).delete()
    for request_id in requests:
        OutboxMessage.objects.filter(dedupe_key__startswith=f"ibl:{request_id}:").delete()
    OutboxMessage.objects.filter(dedupe_key__in=[f"guest_charge:{r}" for r in references]).delete()
    ItemIndex.objects.filter(barcode__in=list(barcodes)).delete()
    CardIndex.objects.filter(card_number__in=list(cards)).delete()
    Holding.objects.filter(title_id__in=list(titles)).delete()
    Title.objects.filter(pk__in=list(titles)).delete()
    HubStaff.objects.filter(user__in=list(users)).delete()
    StaffUser.objects.filter(pk__in=[getattr(user, "pk", user) for user in users]).delete()

"""Anonymisation reaches every place that links a member to a title (issue 14,
finding 9): the ledger, the item history, notices, the desk's notes on loans; and
the member's data export includes their loans at other libraries."""

import datetime

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from circulation.models import CirculationEvent, Loan
from circulation.services.holds import hold_place
from collection.models import ItemEvent
from core.actors import Actor
from members.models import LedgerEntry
from members.selectors.privacy import member_export_data
from members.services.privacy import loan_history_anonymise
from notices.models import Notice
from tests.circulation.factories import make_rule
from tests.circulation.helpers import at, lend, take_back
from tests.members.factories import make_member

TITLE = "Het geheime dagboek van Adriaan Mole"


def test_after_the_retention_period_nothing_links_the_member_to_a_title(libraries, desk):
    with tenant_context(libraries.alpha):
        make_rule(loan_days=7, fine_per_day_cents=25)
        [item] = desk.items()
        item.title.title = TITLE
        item.title.save(update_fields=["title"])
        other = make_member(card_number="A1000099", first_name="Otto", last_name="Ander",
                            paid_until=datetime.date.today() + datetime.timedelta(days=300))
        # Anna returns late (a fine naming the title), then waits for the copy Otto has.
        lend(desk, item, now=at(2026, 11, 2))
        take_back(desk, item, now=at(2026, 11, 20))
        lend(desk, item, member=other)
        hold = hold_place(actor=desk.actor(), member=desk.member, title_id=item.title_id,
                          pickup_branch_id=desk.main.pk)
        take_back(desk, item)  # on the hold shelf for Anna: a notice names the title
        fine = LedgerEntry.objects.get(member=desk.member, charge_type="fine")
        assert TITLE in fine.description
        shelf_event = ItemEvent.objects.filter(item=item, detail__startswith="Op de reserveringsplank").latest("pk")
        assert desk.member.card_number not in shelf_event.detail  # the root: no card in the item's history
        assert shelf_event.detail == f"Op de reserveringsplank voor reservering {hold.pk}"
        ItemEvent.objects.create(item=item, kind=shelf_event.kind, detail=f"Op de reserveringsplank voor pas "
                                 f"{desk.member.card_number}", actor_ref="system:old")  # as older versions wrote
        [notice] = Notice.objects.filter(member=desk.member, kind="hold_ready")
        assert TITLE in notice.body
        Notice.objects.filter(pk=notice.pk).update(status=Notice.Status.SENT)
        ended = Loan.objects.filter(member=desk.member, ended_at__isnull=False).get()
        CirculationEvent.objects.create(kind=CirculationEvent.Kind.OVERRIDE, loan=ended, item_id_ref=item.pk,
                                        detail="Anna Jansen mocht toch", actor_ref="staff:1")

        later = timezone.localdate() + datetime.timedelta(days=400)
        loan_history_anonymise(actor=Actor.system("nightly", libraries.alpha), today=later)

        fine.refresh_from_db()
        assert TITLE not in fine.description and fine.description == "Te-laat-boete" and fine.reference == "loan"
        assert not ItemEvent.objects.filter(detail__contains=desk.member.card_number).exists()
        notice.refresh_from_db()
        assert TITLE not in notice.subject + notice.body and notice.body == "" and notice.to_address == ""
        assert not CirculationEvent.objects.filter(detail__contains="Anna").exists()
        ended.refresh_from_db()
        assert ended.member_id is None


def test_the_data_export_includes_loans_at_other_libraries(libraries, desk):
    with tenant_context(libraries.beta):
        guest = make_member(card_number="B7100001", first_name="Gijs", last_name="Gast",
                            paid_until=datetime.date.today() + datetime.timedelta(days=300))
    with tenant_context(libraries.alpha):
        make_rule(for_guests=True, loan_days=21)
        first, second = desk.items(), desk.items()
        first[0].title.title = "Eerste titel"
        first[0].title.save(update_fields=["title"])
        lend(desk, first[0], card="B7100001")
        take_back(desk, first[0])
        lend(desk, second[0], card="B7100001")
    with tenant_context(libraries.beta):
        data = member_export_data(guest, library_name=libraries.beta.name)
    [section] = [part for part in data["onderdelen"] if part["sleutel"] == "loans_elsewhere"]
    rows = section["gegevens"]
    assert len(rows) == 2 and {row["Bibliotheek"] for row in rows} == {libraries.alpha.name}
    assert "Eerste titel" in {row["Titel"] for row in rows}
    assert sorted(row["Beëindigd"] == "Nog geleend" for row in rows) == [False, True]

"""A day of reservations at the desk, in a real browser: both copies of a title are
out (lent to a third member) and a fourth member's hold, first in the queue, is
suspended; staff reserve it for two members (from the member page with a
catalogue search, and by card number on the title's queue page), see positions
2 and 3 with expected dates, the author and the copies per branch, check a copy
in at the pickup branch on the Innemen screen (RESERVERINGSPLANK: it passes the
suspended hold by), find the hold on the hold shelf, and the first member gets the
hold-ready notice exactly once (one e-mail), even when the copy is scanned again
and the send run runs twice."""

import datetime

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from catalogue.models import Holding, Title
from circulation.models import CirculationEvent, Hold, Loan, Transfer
from circulation.services.holds import hold_place, hold_suspend
from circulation.services.loans import checkout
from collection.models import Item, ItemEvent
from core.actors import Actor
from members.models import AuditEntry, Member, MemberCategory, SubscriptionType
from notices.models import Notice
from staff.models import StaffUser
from tenants.models import CardIndex, LibraryOrganisation
from tests.circulation.conftest import PAID_UNTIL
from tests.circulation.factories import make_items
from tests.factories import PASSWORD, TitleFactory
from tests.members.factories import make_member
from tests.members.ledger_helpers import money_cleanup

pytestmark = pytest.mark.django_db

CARDS = {"first": "BRWHOLD01", "second": "BRWHOLD02", "reader": "BRWHOLD03", "later": "BRWHOLD04"}
TITLE = "De zeven zusters van Zoutkamp"


@pytest.fixture(scope="module")
def holds_day(django_db_setup, django_db_blocker):
    """Committed in alpha (the live server sees only committed data): three members,
    a title with two copies at the first branch, both lent to the third member.
    Removed again afterwards, with everything the test made."""
    with django_db_blocker.unblock():
        alpha = LibraryOrganisation.objects.get(slug="alpha")
        branch = alpha.branches.filter(is_active=True).order_by("name").first()  # alpha.desk's working branch
        staff = StaffUser.objects.get(username="alpha.desk")
        title = TitleFactory(title=TITLE, responsibility="", contributors_text="Marte Visser")
        with tenant_context(alpha):
            categories_existed = SubscriptionType.objects.exists()
            audit_from = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            first = make_member(card_number=CARDS["first"], first_name="Ilse", last_name="Eerste",
                                email="ilse.eerste@example.nl", paid_until=PAID_UNTIL)
            second = make_member(card_number=CARDS["second"], first_name="Tom", last_name="Tweede",
                                 email="tom.tweede@example.nl", paid_until=PAID_UNTIL)
            reader = make_member(card_number=CARDS["reader"], first_name="Lex", last_name="Lezer",
                                 email="lex.lezer@example.nl", paid_until=PAID_UNTIL)
            later = make_member(card_number=CARDS["later"], first_name="Sem", last_name="Later",
                                email="sem.later@example.nl", paid_until=PAID_UNTIL)
            copies = make_items(alpha, branch=branch, title=title, count=2)
            for copy in copies:
                checkout(actor=Actor.staff(staff, alpha, branch_id=branch.pk), card_number=reader.card_number,
                         barcode=copy.barcode)
            # No typical lateness or transfer time left over from other tests (the estimate's statistics).
            cache.delete(f"circulation:expected-stats:{alpha.schema_name}:{timezone.localdate().isoformat()}")
            # First in the queue, but away for a month: suspended.
            ahead = hold_place(actor=Actor.staff(staff, alpha, branch_id=branch.pk), member=later, title_id=title.pk,
                               pickup_branch_id=branch.pk)
            hold_suspend(actor=Actor.staff(staff, alpha, branch_id=branch.pk), hold_id=ahead.pk,
                         until=timezone.localdate() + datetime.timedelta(days=30))
        connection.set_schema_to_public()
    yield alpha, branch, title, first, second, copies, ahead
    with django_db_blocker.unblock():
        with tenant_context(alpha):
            member_ids = [first.pk, second.pk, reader.pk, later.pk]
            item_ids = [copy.pk for copy in copies]
            Notice.objects.filter(member_id__in=member_ids).delete()
            CirculationEvent.objects.filter(hold__member_id__in=member_ids).delete()
            CirculationEvent.objects.filter(loan__member_id__in=member_ids).delete()
            CirculationEvent.objects.filter(item_id_ref__in=item_ids).delete()
            Transfer.objects.filter(item_id__in=item_ids).delete()
            Hold.objects.filter(member_id__in=member_ids).delete()
            Loan.objects.filter(item_id__in=item_ids).delete()
            ItemEvent.objects.filter(item_id__in=item_ids).delete()
            Item.objects.filter(pk__in=item_ids).delete()
            AuditEntry.objects.filter(pk__gt=audit_from, member_id_ref__isnull=True).delete()
            money_cleanup(member_ids)
            if not categories_existed and not Member.objects.exists():
                MemberCategory.objects.all().delete()
                SubscriptionType.objects.all().delete()
        CardIndex.objects.filter(card_number__in=CARDS.values()).delete()
        Holding.objects.filter(title_id=title.pk).delete()
        Title.objects.filter(pk=title.pk).delete()
        connection.set_schema_to_public()


def queue_row(page, hold):
    return page.get_by_test_id(f"queue-row-{hold.pk}")


def test_a_day_of_reservations(page, library_url, holds_day, mailoutbox):
    alpha, branch, title, first, second, copies, ahead = holds_day
    page.goto(library_url("alpha", "/balie/inloggen/"))
    page.get_by_label("Gebruikersnaam").fill("alpha.desk")
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("region", name="Reserveringen")).to_contain_text("Reserveringsplank")

    # The first member: from her member page, find the title in the catalogue and reserve it.
    page.goto(library_url("alpha", f"/leden/{first.pk}/"))
    page.get_by_test_id("member-holds").get_by_role("link", name="Reserveren").click()
    expect(page.get_by_label("Titel, auteur of ISBN")).to_be_focused()  # the cursor starts in the search box
    page.get_by_label("Titel, auteur of ISBN").fill("zeven zusters zoutkamp")
    page.get_by_role("button", name="Zoeken").click()
    expect(page.get_by_test_id("title-results")).to_contain_text("Marte Visser")  # the Makers column
    page.get_by_test_id("title-results").get_by_label(TITLE).check()
    expect(page.get_by_label("Ophaalvestiging")).to_have_value(str(branch.pk))
    page.get_by_role("button", name="Reserveren").click()
    expect(page.locator(".messages")).to_contain_text(f"Reservering geplaatst: {TITLE}, plaats 2 in de wachtrij")
    expect(page.get_by_test_id("member-holds")).to_contain_text(branch.name)

    # The second member: by card number on the title's queue page.
    page.get_by_test_id("member-holds").get_by_role("link", name=TITLE).click()
    expect(page.get_by_test_id("queue-author")).to_contain_text("Marte Visser")
    copies_here = page.get_by_test_id("copies")
    expect(copies_here).to_contain_text(branch.name)
    expect(copies_here).to_contain_text("Uitgeleend")
    form = page.get_by_test_id("title-hold-form")
    expect(form.get_by_label("Pasnummer")).to_be_focused()
    form.get_by_label("Pasnummer").fill(CARDS["second"])
    form.get_by_role("button", name="Reserveren").click()
    expect(page.locator(".messages")).to_contain_text("Tom Tweede (pas BRWHOLD02)")
    expect(page.locator(".messages")).to_contain_text("plaats 3 in de wachtrij")

    # Reserving it again for her is refused in Dutch.
    form = page.get_by_test_id("title-hold-form")
    form.get_by_label("Pasnummer").fill(CARDS["first"])
    form.get_by_role("button", name="Reserveren").click()
    expect(page.get_by_test_id("errors")).to_contain_text(f"Ilse Eerste heeft {TITLE} al gereserveerd.")

    with tenant_context(alpha):
        holds = {hold.member_id: hold for hold in Hold.objects.filter(title_id=title.pk)}
    connection.set_schema_to_public()
    hold_1, hold_2 = holds[first.pk], holds[second.pk]
    assert (hold_1.expected_position, hold_2.expected_position) == (2, 3)
    assert hold_1.expected_on and hold_2.expected_on and hold_1.expected_on <= hold_2.expected_on
    with tenant_context(alpha):
        due_first = min(Loan.objects.filter(item__in=copies, ended_at__isnull=True).values_list("due_on", flat=True))
    connection.set_schema_to_public()
    assert hold_1.expected_on == due_first  # the suspended hold ahead does not take the first copy back
    page.goto(library_url("alpha", f"/reserveringen/titel/{title.pk}/"))
    expect(queue_row(page, ahead).get_by_test_id("position")).to_have_text("1")
    expect(queue_row(page, ahead)).to_contain_text((timezone.localdate() + datetime.timedelta(days=30))
                                                    .strftime("%d-%m-%Y"))  # suspended until
    expect(queue_row(page, hold_1).get_by_test_id("position")).to_have_text("2")
    expect(queue_row(page, hold_2).get_by_test_id("position")).to_have_text("3")
    expect(queue_row(page, hold_1).get_by_test_id("expected")).to_have_text(hold_1.expected_on.strftime("%d-%m-%Y"))
    expect(queue_row(page, hold_2).get_by_test_id("expected")).to_have_text(hold_2.expected_on.strftime("%d-%m-%Y"))

    # The reader brings a copy back at the pickup branch: past the suspended hold, on the hold
    # shelf for the first member.
    page.goto(library_url("alpha", "/uitlening/innemen/"))
    page.get_by_label("Barcode exemplaar").fill(copies[0].barcode)
    page.get_by_label("Barcode exemplaar").press("Enter")
    expect(page.get_by_test_id("route-message")).to_have_text("RESERVERINGSPLANK")
    expect(page.get_by_test_id("route-notes")).to_contain_text("Voor pas BRWHOLD01 (Ilse Eerste)")

    page.goto(library_url("alpha", "/reserveringen/plank/"))
    ready = page.get_by_test_id(f"ready-{hold_1.pk}")
    expect(ready).to_contain_text(TITLE)
    expect(ready).to_contain_text(copies[0].barcode)
    expect(ready).to_contain_text("Ilse Eerste")

    # The second member is now next, after the suspended hold that keeps its place.
    page.goto(library_url("alpha", f"/reserveringen/titel/{title.pk}/"))
    expect(queue_row(page, hold_1)).to_contain_text("Ligt klaar")
    expect(queue_row(page, ahead).get_by_test_id("position")).to_have_text("1")
    expect(queue_row(page, hold_2).get_by_test_id("position")).to_have_text("2")

    # Scanned once more by mistake: still on the shelf, no second notice.
    page.goto(library_url("alpha", "/uitlening/innemen/"))
    page.get_by_label("Barcode exemplaar").fill(copies[0].barcode)
    page.get_by_label("Barcode exemplaar").press("Enter")
    expect(page.get_by_test_id("route-message")).to_have_text("RESERVERINGSPLANK")

    from notices.services import notices_send_pending

    with tenant_context(alpha):
        notices = list(Notice.objects.filter(member_id=first.pk, kind="hold_ready"))
        assert len(notices) == 1 and notices[0].to_address == "ilse.eerste@example.nl"
        assert not Notice.objects.filter(member_id=second.pk).exists()
        assert Hold.objects.get(pk=ahead.pk).status == "waiting"  # still suspended, still waiting
        # The send run (the worker's task body), twice: one e-mail.
        notices_send_pending(actor=Actor.system("notices", alpha))
        notices_send_pending(actor=Actor.system("notices", alpha))
        assert Notice.objects.get(pk=notices[0].pk).status == Notice.Status.SENT
    connection.set_schema_to_public()
    to_first = [message for message in mailoutbox if "ilse.eerste@example.nl" in message.to]
    assert len(to_first) == 1
    assert TITLE in to_first[0].body

"""seed_demo builds the demo the run command shows, and running it again changes nothing."""

import datetime

from django.core.management import call_command
from django_tenants.utils import tenant_context

from catalogue.models import Holding, Title
from circulation.models import CirculationSettings, Hold, Loan, LoanRule
from circulation.rules import loan_rule_choose
from collection.models import Item
from demo import data as demo
from members.models import LedgerEntry, Member, MemberCategory
from staff.models import LibraryRole, PoiAdministrator, Role, StaffUser
from tenants.models import Branch, LibraryOrganisation, Poi, PoiHub, Province


def snapshot():
    counts = [model.objects.count() for model in
              (Province, Poi, PoiHub, LibraryOrganisation, Branch, StaffUser, LibraryRole, PoiAdministrator, Title,
               Holding)]
    for organisation in LibraryOrganisation.objects.filter(slug__in=[lib["slug"] for lib in demo.LIBRARIES]):
        with tenant_context(organisation):
            counts.extend([Item.objects.count(), Member.objects.count(), LedgerEntry.objects.count()])
            counts.append(sorted(LoanRule.objects.values_list("pk", "updated_at")))
            counts.append(list(CirculationSettings.objects.values_list("floating_item_types", "transfer_days",
                                                                       "updated_at")))
    return counts


def test_seed_demo_creates_the_demo_and_is_idempotent(db, capsys):
    call_command("seed_demo")
    first = snapshot()
    output = capsys.readouterr().out
    assert "Demo klaar" in output

    assert Province.objects.count() == 12 and Poi.objects.count() == 9
    demo_libraries = LibraryOrganisation.objects.filter(slug__in=[lib["slug"] for lib in demo.LIBRARIES])
    assert demo_libraries.count() >= 4
    assert demo_libraries.values("province").distinct().count() >= 2
    assert all(library.branches.count() >= 2 for library in demo_libraries)
    roles = set(LibraryRole.objects.filter(organisation__in=demo_libraries).values_list("role", flat=True))
    assert roles == set(Role.values)
    assert PoiAdministrator.objects.filter(user__username="bisc.beheer").exists()
    assert StaffUser.objects.get(username="landelijk").is_superuser
    assert StaffUser.objects.get(username="utrecht.balie").check_password(demo.DEMO_PASSWORD)
    assert Title.objects.filter(source="LSBDEMO").count() == 18
    assert Holding.objects.filter(organisation__slug="utrecht").exists()
    with tenant_context(demo_libraries.get(slug="utrecht")):
        assert Member.objects.count() == len(demo.MEMBERS)
        youth = Member.objects.get(first_name="Sara")
        assert youth.category.is_youth and youth.subscription.annual_fee_cents == 0
        assert not LedgerEntry.objects.filter(member=youth).exists()  # free under 18
        assert LedgerEntry.objects.filter(member__first_name="Anna", charge_type="subscription").exists()
        # Something at the desk: three loans (one overdue), a hold waiting for a copy that is out.
        open_loans = Loan.objects.filter(ended_at__isnull=True)
        assert open_loans.count() == 3
        assert open_loans.filter(due_on__lt=datetime.date.today()).count() == 1
        hold = Hold.objects.get()
        assert hold.status == "waiting" and open_loans.filter(title_id=hold.title_id).exists()
        # Loan rules: adults fined, youth not, DVDs a week for a euro (at most 3), guests at most 5 items.
        assert LoanRule.objects.count() == len(demo.LOAN_RULES)
        adult, youth_category = (MemberCategory.objects.get(code=code) for code in ("volwassene", "jeugd"))
        branch = demo_libraries.get(slug="utrecht").branches.first()
        book = loan_rule_choose(for_guests=False, member_category_id=adult.pk, item_type="book", branch_id=branch.pk)
        assert not book.is_default
        assert (book.rule.loan_days, book.rule.max_renewals, book.rule.fine_per_day_cents,
                book.rule.fine_max_cents) == (21, 2, 25, 500)
        dvd = loan_rule_choose(for_guests=False, member_category_id=adult.pk, item_type="dvd", branch_id=branch.pk)
        assert (dvd.rule.loan_days, dvd.rule.loan_fee_cents, dvd.rule.max_loans_of_type) == (7, 100, 3)
        for item_type in ("book", "dvd"):
            young = loan_rule_choose(for_guests=False, member_category_id=youth_category.pk, item_type=item_type,
                                     branch_id=branch.pk).rule
            assert young.fine_per_day_cents == 0 and young.fine_max_cents == 0
        guest = loan_rule_choose(for_guests=True, member_category_id=None, item_type="book", branch_id=branch.pk)
        assert (guest.rule.for_guests, guest.rule.loan_days, guest.rule.max_loans_total) == (True, 21, 5)
        assert CirculationSettings.objects.get().floating_item_types == ["book"]
    for slug in ("eemland", "rotterdam"):
        with tenant_context(demo_libraries.get(slug=slug)):
            assert LoanRule.objects.count() == len(demo.LOAN_RULES)
            assert CirculationSettings.objects.get().floating_item_types == []

    call_command("seed_demo")
    assert snapshot() == first

    # Loans the desk can renew (issue 12, item 12): every one nobody waits for.
    from circulation.services.loans import renew_all
    from core.actors import Actor

    utrecht = demo_libraries.get(slug="utrecht")
    with tenant_context(utrecht):
        desk = StaffUser.objects.get(username="utrecht.balie")
        actor = Actor.staff(desk, utrecht, branch_id=utrecht.branches.order_by("code").first().pk)
        card = Member.objects.get(first_name="Anna").card_number
        outcomes = renew_all(actor=actor, card_number=card)
        assert sorted(outcome.renewed for outcome in outcomes) == [False, True]  # the overdue one is held

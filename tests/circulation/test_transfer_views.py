"""The transport and overdue overviews: what is on its way to and from a branch,
and which loans are late; desk role only, per library."""

import datetime

from django.utils import timezone
from django_tenants.utils import tenant_context

from circulation.models import Loan
from circulation.services.loans import checkin, checkout
from tests.conftest import host_client


def test_transport_lists_items_in_transit_until_received(desk, client):
    item, = desk.items()
    checkout(actor=desk.actor(), card_number=desk.member.card_number, barcode=item.barcode)
    checkin(actor=desk.actor(branch=desk.other), barcode=item.barcode)
    client = host_client(client, "alpha")
    client.force_login(desk.staff)
    incoming = client.get(f"/uitlening/transport/?vestiging={desk.main.pk}")
    assert incoming.status_code == 200
    assert item.barcode in incoming.content.decode()
    outgoing = client.get(f"/uitlening/transport/?vestiging={desk.other.pk}")
    assert item.barcode in outgoing.content.decode()
    with tenant_context(desk.library):
        checkin(actor=desk.actor(), barcode=item.barcode)
    assert item.barcode not in client.get(f"/uitlening/transport/?vestiging={desk.main.pk}").content.decode()


def test_overdue_list(desk, client):
    item, = desk.items()
    loan = checkout(actor=desk.actor(), card_number=desk.member.card_number, barcode=item.barcode).loan
    Loan.objects.filter(pk=loan.pk).update(due_on=timezone.localdate() - datetime.timedelta(days=5))
    client = host_client(client, "alpha")
    client.force_login(desk.staff)
    page = client.get("/uitlening/te-laat/").content.decode()
    assert item.barcode in page and "Anna Jansen" in page


def test_other_library_staff_are_refused(desk, client, staff):
    client = host_client(client, "alpha")
    client.force_login(staff.beta_desk)
    assert client.get("/uitlening/transport/").status_code == 403
    assert client.get("/uitlening/te-laat/").status_code == 403

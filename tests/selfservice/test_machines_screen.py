"""The library administrator's machine screen in a real headless Chromium: create
a machine, see its password once, the machine logs in over SIP2 with it and lends
a copy, the screen shows when it was last seen and what it did, revoking stops it
at once; desk staff and other libraries' administrators cannot get in."""

import time

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from core.actors import Actor
from selfservice.models import MachineAccount, MachineAccountEvent
from selfservice.services import machine_account_create, machine_account_revoke
from tests.concurrency import on_own_connection
from tests.factories import PASSWORD
from tests.refusals import refused

from .conftest import PIN

pytestmark = pytest.mark.django_db


def sign_in(page, library_url, slug, username):
    page.goto(library_url(slug, "/balie/inloggen/"))
    page.get_by_label("Gebruikersnaam").fill(username)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("button", name="Uitloggen")).to_be_visible()


@pytest.fixture
def forget_machine():
    logins = []
    yield logins.append
    on_own_connection(lambda: MachineAccount.objects.filter(login__in=logins).delete())


def test_admin_creates_sees_secret_once_and_revokes(page, library_url, world, machine_for, forget_machine):
    login = f"t{world.run}-scherm"
    forget_machine(login)
    sign_in(page, library_url, "alpha", "alpha.library_admin")
    page.goto(library_url("alpha", "/balie/beheer/"))
    page.get_by_role("link", name="Uitleen-, inname- en betaalautomaten").click()
    expect(page.get_by_role("heading", name="Automaten en koppelingen")).to_be_visible()

    # A wrong login name: a Dutch sentence at the field, nothing made.
    page.get_by_label("Omschrijving").fill("Uitleenautomaat ingang")
    page.get_by_label("Inlognaam (SIP2)").fill("X!")
    page.get_by_role("button", name="Aanmaken").click()
    expect(page.get_by_text("Een inlognaam heeft 3 tot 40 tekens")).to_be_visible()

    page.get_by_label("Inlognaam (SIP2)").fill(login)
    page.get_by_label("Vestiging").select_option(label=world.main.name)
    page.get_by_label("Gebruikt").select_option(label="SIP2 en REST")
    page.get_by_role("button", name="Aanmaken").click()
    expect(page.get_by_role("heading", name="Automaat aangemaakt: Uitleenautomaat ingang")).to_be_visible()
    password = page.get_by_test_id("password").inner_text()
    token = page.get_by_test_id("token").inner_text()
    assert len(password) >= 20 and token.startswith("lsbm_")
    account = MachineAccount.objects.get(login=login)
    assert password not in account.password and account.check_password(password)
    assert MachineAccount.from_token(token) == account
    # Shown once: the list does not show it again.
    page.goto(library_url("alpha", "/balie/beheer/automaten/"))
    expect(page.get_by_test_id(f"machine-{login}")).to_contain_text("nog nooit")
    assert password not in page.content()

    # The machine logs in over SIP2 with it and lends a copy.
    machine = machine_for(login, password)
    machine.patron(world.members["anna"].card_number, PIN)
    assert "BLY" in machine.send(machine.client.sip_patron_status_request())  # her name: in the privacy log
    item = world.items[4]
    assert machine.send(machine.client.sip_checkout_request(item.barcode))[2] == "1"
    assert machine.send(machine.client.sip_checkin_request(item.barcode))[2] == "1"
    page.reload()
    expect(page.get_by_test_id(f"machine-{login}")).not_to_contain_text("nog nooit")
    page.get_by_role("link", name="Uitleenautomaat ingang").click()
    expect(page.get_by_test_id("machine-activity")).to_contain_text(f"Exemplaar {item.barcode}")
    expect(page.get_by_test_id("machine-activity")).to_contain_text("Privacylog")

    # Revoke: at once, the connected machine is refused and cannot log in again.
    page.goto(library_url("alpha", "/balie/beheer/automaten/"))
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id(f"revoke-{login}").click()
    expect(page.get_by_text("is ingetrokken: de automaat kan niets meer")).to_be_visible()
    expect(page.get_by_test_id(f"machine-{login}")).to_contain_text("Ingetrokken")
    time.sleep(1.1)  # a connection checks its account at most once a second
    assert machine.send(machine.client.sip_checkout_request(item.barcode))[2] == "0"
    assert machine_for().login(login, password)["fixed"]["Ok"] == "0"
    assert MachineAccount.from_token(token) is None
    assert list(MachineAccountEvent.objects.filter(account=account).values_list("action", flat=True)
                .order_by("pk")) == ["create", "revoke"]


def test_desk_staff_may_not_manage_machines(page, library_url):
    sign_in(page, library_url, "alpha", "alpha.desk")
    response = page.goto(library_url("alpha", "/balie/beheer/automaten/"))
    assert response.status == 403


def test_another_librarys_admin_cannot_touch_a_machine(libraries, staff, world):
    """The services: gamma's administrator neither sees nor revokes alpha's machine."""
    account = world.machine.account
    with tenant_context(libraries.gamma):
        with refused("machine.not_found"):
            machine_account_revoke(actor=Actor.staff(staff.gamma_library_admin, libraries.gamma),
                                   account_id=account.pk)
        with refused("actor.other_library"):
            machine_account_create(actor=Actor.staff(staff.gamma_library_admin, libraries.alpha), name="x",
                                   login="t-sneaky", branch_id=world.main.pk)
    with tenant_context(libraries.alpha):
        with refused("actor.no_role"):
            machine_account_revoke(actor=Actor.staff(staff.alpha_desk, libraries.alpha), account_id=account.pk)
        with refused("machine.branch_unknown"):
            machine_account_create(actor=Actor.staff(staff.alpha_library_admin, libraries.alpha), name="x",
                                   login="t-otherbranch", branch_id=world.beta_branch.pk)
        with refused("machine.login_taken"):
            machine_account_create(actor=Actor.staff(staff.alpha_library_admin, libraries.alpha), name="x",
                                   login=account.login, branch_id=world.main.pk)
    assert MachineAccount.objects.get(pk=account.pk).revoked_at is None

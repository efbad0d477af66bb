"""The SIP2 server, started in this test process on a free port against the test
database, and committed data for it: the server's worker threads have their own
database connections and cannot see a test's rolled-back transaction, so the
members, items, holds and machine accounts are written on a connection of their
own (tests.concurrency.on_own_connection), which commits, and removed after the
module (see remove()).

Machines talk to it through the `sip2` package from PyPI (its low-level Sip2
class) over a real TCP socket; `Machine` wraps it and checks every answer's AZ
checksum itself (the package's own check always passes).
"""

import datetime
from contextlib import contextmanager
import itertools
import re
import tempfile
from types import SimpleNamespace

import pytest
from django.contrib.auth.hashers import make_password
from django_tenants.utils import tenant_context

from catalogue.models import Holding
from circulation.models import CirculationEvent, Hold, Loan, LoanRule, Transfer
from circulation.services.holds import hold_place
from circulation.services.loans import checkout
from collection.models import Item, ItemEvent
from collection.services import item_add
from core.actors import Actor
from members.models import AuditEntry, Block, CardSignIn, LedgerEntry, Member, MemberCategory, SubscriptionType
from notices.models import Notice
from selfservice.models import MachineAccount
from selfservice.services import machine_account_create
from selfservice.sip2 import protocol
from selfservice.sip2.server import ServerThread
from tenants.models import LibraryOrganisation, OpeningPeriod
from tests.concurrency import on_own_connection
from tests.factories import TitleFactory, collection_actor

CODE = "sip2test"
PIN = "1234"
_runs = itertools.count(1)


def _create(run):
    alpha = LibraryOrganisation.objects.get(slug="alpha")
    beta = LibraryOrganisation.objects.get(slug="beta")
    main, other = list(alpha.branches.order_by("name"))[:2]
    beta_branch = beta.branches.order_by("name").first()
    # Hours for branches that have none, removed again afterwards: the branch-hours
    # tests expect the shared test libraries as the run created them.
    opening_period_ids = []
    for branch in (other, beta_branch):
        if not OpeningPeriod.objects.filter(branch=branch).exists():
            for weekday in range(7):
                opening_period_ids.append(OpeningPeriod.objects.create(
                    branch=branch, weekday=weekday, opens="09:00", closes="17:00").pk)
    titles = [TitleFactory(title=f"SIP2 titel {run}-{number}") for number in range(1, 8)]
    data = SimpleNamespace(alpha=alpha, beta=beta, main=main, other=other, beta_branch=beta_branch, titles=titles,
                           run=run, pin_hash=make_password(PIN), opening_period_ids=opening_period_ids)
    prefix = f"S{run:02d}"

    def members(library, letter, names):
        subscription, _ = SubscriptionType.objects.get_or_create(
            code=CODE, defaults={"name": "SIP2-abonnement", "annual_fee_cents": 0, "max_loans": 10})
        category, _ = MemberCategory.objects.get_or_create(
            code=CODE, defaults={"name": "SIP2", "min_age": 18, "default_subscription": subscription})
        return {
            name: Member.objects.create(
                card_number=f"{prefix}{letter}{number:04d}", first_name=name.capitalize(), last_name="Automaat",
                category=category, subscription=subscription, expires_on=datetime.date(2099, 1, 1),
                pin_hash=data.pin_hash)
            for number, name in enumerate(names, start=1)
        }

    def items(library, branch, title, count, letter, **fields):
        barcodes = [f"{prefix}{letter}{next(_barcode_numbers):05d}" for _ in range(count)]
        item_add(actor=collection_actor(library), title_id=title.pk, barcodes=barcodes, branch_id=branch.pk,
                 **fields)
        return list(Item.objects.filter(barcode__in=barcodes).order_by("barcode"))

    with tenant_context(alpha):
        data.members = members(alpha, "A", ["anna", "bert", "cora", "dirk", "erik", "fien"])
        Block.objects.create(member=data.members["dirk"], kind=Block.Kind.MANUAL, reason="Boek kwijt",
                             actor_ref="system:test")
        data.items = items(alpha, main, titles[0], 8, "I")  # plain copies at the main branch
        data.other_items = items(alpha, other, titles[1], 1, "O")  # owned by the other branch: transit home
        data.hold_here = items(alpha, main, titles[2], 1, "H")  # bert holds its title, pickup here
        data.hold_there = items(alpha, main, titles[3], 1, "T")  # cora holds its title, pickup at the other branch
        data.dvds = items(alpha, main, titles[4], 2, "D", item_type="dvd")  # a loan fee
        data.holdable = items(alpha, main, titles[5], 1, "R")  # for hold place/cancel
        system = Actor.system("test", alpha)
        data.fee_rule = LoanRule.objects.create(item_type="dvd", loan_days=7, max_renewals=2, loan_fee_cents=100)
        # Both titles are on loan to someone else, so the holds wait for the copy's return.
        for item in data.hold_here + data.hold_there:
            checkout(actor=Actor.system("test", alpha, branch_id=main.pk),
                     card_number=data.members["fien"].card_number, barcode=item.barcode)
        hold_place(actor=system, member=data.members["bert"], title_id=data.hold_here[0].title_id,
                   pickup_branch_id=main.pk)
        hold_place(actor=system, member=data.members["cora"], title_id=data.hold_there[0].title_id,
                   pickup_branch_id=other.pk)
        data.machine = machine_account_create(actor=system, name="Uitleenautomaat hal", login=f"t{run}-alpha",
                                              branch_id=main.pk)
        data.machine_nopin = machine_account_create(actor=system, name="Sorteermachine", login=f"t{run}-alpha-sort",
                                                    branch_id=main.pk, patron_pin_required=False)
        data.machine_revoke = machine_account_create(actor=system, name="Oude automaat", login=f"t{run}-alpha-old",
                                                     branch_id=main.pk)
    with tenant_context(beta):
        data.beta_members = members(beta, "B", ["bea"])
        data.beta_items = items(beta, beta_branch, titles[6], 2, "B")
        data.beta_machine = machine_account_create(actor=Actor.system("test", beta), name="Automaat beta",
                                                   login=f"t{run}-beta", branch_id=beta_branch.pk)
    return data


_barcode_numbers = itertools.count(1)


def _remove(data):
    for library, member_map, item_lists in (
        (data.alpha, data.members, [data.items, data.other_items, data.hold_here, data.hold_there, data.dvds,
                                    data.holdable]),
        (data.beta, data.beta_members, [data.beta_items]),
    ):
        with tenant_context(library):
            item_ids = [item.pk for items in item_lists for item in items]
            member_ids = [member.pk for member in member_map.values()]
            cards = [member.card_number for member in member_map.values()]
            title_ids = [title.pk for title in data.titles]
            CirculationEvent.objects.filter(item_id_ref__in=item_ids).delete()
            CirculationEvent.objects.filter(hold__title_id__in=title_ids).delete()
            Transfer.objects.filter(item_id__in=item_ids).delete()
            Notice.objects.filter(member_id__in=member_ids).delete()
            Hold.objects.filter(title_id__in=title_ids).delete()
            Loan.objects.filter(item_id__in=item_ids).delete()
            ItemEvent.objects.filter(item_id__in=item_ids).delete()
            Item.objects.filter(pk__in=item_ids).delete()
            LedgerEntry.objects.filter(member_id__in=member_ids, kind=LedgerEntry.Kind.WAIVER).delete()
            LedgerEntry.objects.filter(member_id__in=member_ids).delete()
            Block.objects.filter(member_id__in=member_ids).delete()
            AuditEntry.objects.filter(member_id_ref__in=member_ids).delete()
            for entry in AuditEntry.objects.filter(action=AuditEntry.Action.SEARCH, actor_ref__startswith="machine:"):
                if set(entry.detail.get("member_ids", [])) & set(member_ids):
                    entry.delete()
            CardSignIn.objects.filter(card_number__in=cards).delete()
            Member.objects.filter(pk__in=member_ids).delete()
            if library == data.alpha:
                LoanRule.objects.filter(pk=data.fee_rule.pk).delete()
            if not Member.objects.filter(category__code=CODE).exists():
                MemberCategory.objects.filter(code=CODE).delete()
                SubscriptionType.objects.filter(code=CODE).delete()
    Holding.objects.filter(title__in=data.titles).delete()
    for title in data.titles:
        title.delete()
    MachineAccount.objects.filter(login__startswith=f"t{data.run}-").delete()
    OpeningPeriod.objects.filter(pk__in=data.opening_period_ids).delete()


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Committed members, items, holds and machine accounts in alpha and beta."""
    run = next(_runs)
    with django_db_blocker.unblock():
        data = on_own_connection(lambda: _create(run))
    try:
        yield data
    finally:
        with django_db_blocker.unblock():
            on_own_connection(lambda: _remove(data))


@contextmanager
def running_sip2_server(django_db_blocker, *, threads=4, idle_timeout=20, login_timeout=3, message_timeout=2):
    """The real SIP2 server on a free port of 127.0.0.1, in a thread of this process,
    stopped when the block ends."""
    with django_db_blocker.unblock():
        server = ServerThread(host="127.0.0.1", port=0, threads=threads, idle_timeout=idle_timeout,
                              login_timeout=login_timeout, message_timeout=message_timeout).start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="module")
def sip2_server(django_db_setup, django_db_blocker):
    """The real SIP2 server on a free port of 127.0.0.1, in a thread of this process."""
    with running_sip2_server(django_db_blocker) as server:
        yield server


# --- a machine: the sip2 package's client, checksums verified here ------------------------------

_LOG_DIR = tempfile.mkdtemp(prefix="sip2-client-log-")


def verify_checksum(response):
    """The AZ of an answer (bytes as sent, without CR) must make the sum zero."""
    data = response.encode("utf-8")
    match = re.search(rb"AZ([0-9A-F]{4})$", data)
    assert match, f"no AZ checksum in {response!r}"
    assert protocol.checksum(data[:match.start() + 2]) == match.group(1).decode(), f"bad checksum: {response!r}"


class Machine:
    """A self-service machine: the `sip2` package's Sip2 client on a real socket."""

    def __init__(self, port, *, timeout=15):
        from Sip2.sip2 import Sip2

        client = Sip2()
        client.hostName = "127.0.0.1"
        client.hostPort = port
        client.tlsEnable = False
        client.socketTimeout = timeout
        client.logfile_path = _LOG_DIR
        client.loglevel = "WARNING"
        client.institutionId = ""
        client.scLocation = ""
        self.client = client
        client.connect()

    def send(self, message):
        """Send a message the client built; return the raw answer (checksum verified, CR stripped)."""
        response = self.client.get_response(message)
        response = response.rstrip("\r\n")
        verify_checksum(response)
        return response

    def raw(self, data: bytes, *, timeout=15):
        """Send raw bytes; the raw answer up to CR (b'' when the server closed)."""
        sock = self.client._socket
        sock.settimeout(timeout)
        sock.sendall(data)
        return read_answer(sock)

    def login(self, login, password):
        return self.client.sip_login_response(self.send(self.client.sip_login_request(login, password)))

    def patron(self, card, pin=""):
        self.client.patron = card
        self.client.patronpwd = pin

    def close(self):
        try:
            self.client.disconnect()
        except OSError:
            pass
        self.client._socket = None


def read_answer(sock):
    data = b""
    while not data.endswith(b"\r"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


# The fixed part of each answer after its two-digit code.
RESPONSE_FIXED = {"94": 1, "98": 34, "24": 35, "64": 59, "18": 24, "12": 24, "10": 24, "30": 24, "66": 27,
                  "38": 19, "16": 20, "36": 19, "96": 0}


def fields_of(response, code):
    """The values of a field code in a raw answer (after its fixed part, before AY/AZ)."""
    body = re.sub(r"(AY[0-9])?AZ[0-9A-F]{4}$", "", response)[2 + RESPONSE_FIXED[response[:2]]:]
    return [part[2:] for part in body.split("|") if part[:2] == code]


@pytest.fixture
def machine_for(sip2_server):
    """machine_for(login, password): a connected machine, logged in; closed after the test."""
    opened = []

    def connect(login=None, password=None):
        machine = Machine(sip2_server.port)
        opened.append(machine)
        if login is not None:
            answer = machine.login(login, password)
            assert answer["fixed"]["Ok"] == "1", answer
        return machine

    yield connect
    for machine in opened:
        machine.close()

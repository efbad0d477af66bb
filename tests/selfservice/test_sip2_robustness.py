"""The SIP2 server under bad input and across libraries: a machine of beta cannot
reach alpha's members or items; random, truncated, oversized and wrongly encoded
frames get 96 or the negative answer, the server stays up and no table changes;
a revoked machine is refused at its next message; idle connections are closed;
passwords and PINs never reach the log."""

import logging
import random
import socket
import time

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from circulation.models import Loan
from collection.models import Item
from core.actors import Actor
from members.models import AuditEntry
from selfservice.services import machine_account_revoke
from selfservice.sip2 import protocol
from tests.concurrency import on_own_connection

from .conftest import PIN, Machine, fields_of, read_answer

pytestmark = pytest.mark.django_db


def with_checksum(text, sequence="0"):
    data = f"{text}AY{sequence}AZ".encode("utf-8")
    return data + protocol.checksum(data).encode() + b"\r"


def table_counts(world):
    """Row counts of every table of alpha's, beta's and the public schema that SIP2 could touch."""
    counts = {}
    with connection.cursor() as cursor:
        for schema in ("public", world.alpha.schema_name, world.beta.schema_name):
            cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                           "AND table_type = 'BASE TABLE'", [schema])
            for (table,) in cursor.fetchall():
                cursor.execute(f'SELECT count(*) FROM "{schema}"."{table}"')
                counts[f"{schema}.{table}"] = cursor.fetchone()[0]
    return counts


def test_a_machine_of_beta_cannot_reach_alpha(world, machine_for):
    anna = world.members["anna"]
    machine = machine_for(world.beta_machine.account.login, world.beta_machine.password)
    # Alpha's card at beta: a guest at most -- never alpha's name, loans or fines, and no PIN check here.
    machine.patron(anna.card_number, PIN)
    status = machine.send(machine.client.sip_patron_status_request())
    assert anna.first_name not in status and anna.last_name not in status
    assert fields_of(status, "CQ") == ["N"]
    info = machine.send(machine.client.sip_patron_information_request("charged"))
    assert anna.last_name not in info and not fields_of(info, "AU")
    # Alpha's items are unknown at beta: no information, no checkout, no checkin.
    item = world.items[4]
    info = machine.send(machine.client.sip_item_information_request(item.barcode))
    assert info[2:4] == "01" and fields_of(info, "AJ") == [""]
    machine.patron(world.beta_members["bea"].card_number, PIN)
    assert machine.send(machine.client.sip_checkout_request(item.barcode))[2] == "0"
    assert machine.send(machine.client.sip_checkin_request(item.barcode))[2] == "0"
    with tenant_context(world.alpha):
        assert not Loan.objects.filter(item__barcode=item.barcode).exists()
        assert Item.objects.get(pk=item.pk).status == "available"
        assert not AuditEntry.objects.filter(member_id_ref=anna.pk,
                                             actor_ref__startswith=f"machine:{world.beta_machine.account.pk}@")
    # And beta's own member and items work at beta's machine.
    bea_item = world.beta_items[0]
    answer = machine.send(machine.client.sip_checkout_request(bea_item.barcode))
    assert answer[2] == "1", answer
    assert machine.send(machine.client.sip_checkin_request(bea_item.barcode))[2] == "1"


def test_fuzz_random_truncated_oversized_frames(world, sip2_server):
    """Garbage of every kind: the answers are 96 (or a negative answer), the server
    keeps serving, and not one row anywhere changed."""
    before = on_own_connection(lambda: table_counts(world))
    rng = random.Random(20261206)
    login = world.machine_nopin.account.login
    password = world.machine_nopin.password
    frames = [
        b"\r", b"\n", b"\r\n", b"9", b"99", b"XX\r", b"00\r", b"9\xff\xfe\r", b"11\r", b"09N\r",
        b"11YN20260101    120000" + b"x" * 5 + b"\r",  # truncated fixed fields
        with_checksum("9900302.00")[:-6] + b"ZZZZ\r",  # checksum not hex
        b"9900302.00AY1AZ0000\r",  # wrong checksum
        "23000" .encode() + "é".encode("latin-1") + b"\r",  # not UTF-8
        b"63000" + b"\x00" * 40 + b"\r",  # control characters
        b"17" + b"A" * 5000 + b"\r",  # oversized
        b"11NN" + b"|" * 3000 + b"\r",
        with_checksum("11NN20260101    120000" + " " * 18 + "AO|AA|AB|AC|"),  # empty card and item
        with_checksum("09N20260101    12000020260101    120000AP|AO|AB" + "Z" * 300 + "|AC|"),  # unknown item
        with_checksum("37" + "20260101    120000" + "0600EUR" + "BV-5.00|AO|AA" + world.members["anna"].card_number
                      + "|AD" + PIN + "|"),  # negative amount
        with_checksum("15X20260101    120000AO|AA|AB|"),  # unknown hold mode
    ]
    for _ in range(60):
        size = rng.choice([1, 2, 5, 20, 60, 200, 900])
        frames.append(bytes(rng.randrange(0, 256) for _ in range(size)) + rng.choice([b"\r", b"\r\n", b"\n", b""]))
        code = rng.choice(list(protocol.FIXED_LENGTHS))
        body = code + "".join(rng.choice("0123456789YN |AOABAACQ") for _ in range(rng.randrange(0, 80)))
        frames.append(body.encode() + b"\r")
    # Half of them from a logged-in machine, half from a stranger.
    for logged_in in (False, True):
        sock = socket.create_connection(("127.0.0.1", sip2_server.port), timeout=10)
        if logged_in:
            sock.sendall(with_checksum(f"9300CN{login}|CO{password}|CP|"))
            assert read_answer(sock).startswith(b"941")
        answers = 0
        for frame in frames:
            sock.sendall(frame)
            if frame.endswith((b"\r", b"\n")) and frame.strip(b"\r\n"):
                sock.settimeout(10)
                answer = read_answer(sock)
                assert answer, f"no answer to {frame[:40]!r}"
                answers += 1
                assert answer[:2] in {b"96", b"98", b"94", b"24", b"64", b"18", b"12", b"10", b"30", b"66", b"38",
                                      b"16", b"36"}, answer
                if answer[:2] not in (b"96", b"98", b"18", b"24", b"64", b"36"):
                    # Every negative answer: ok / accepted flag 0 or N.
                    assert answer[2:3] in (b"0", b"N"), (frame[:60], answer)
            else:
                time.sleep(0.01)
        assert answers > 50
        sock.close()
    # The server is still up and answers a well-formed message.
    machine = Machine(sip2_server.port)
    try:
        assert machine.login(login, password)["fixed"]["Ok"] == "1"
        assert machine.send(machine.client.sip_sc_status_request()).startswith("98Y")
    finally:
        machine.close()
    after = on_own_connection(lambda: table_counts(world))
    changed = {table: (before[table], after.get(table)) for table in before if before[table] != after.get(table)}
    # The machine's login may note when it was last seen; nothing else.
    assert not {table: counts for table, counts in changed.items()
                if table != "public.selfservice_machineaccount"}, changed


def test_truncated_message_gets_96_after_the_message_timeout(world, sip2_server):
    sock = socket.create_connection(("127.0.0.1", sip2_server.port), timeout=10)
    sock.sendall(b"9300CN" + world.machine.account.login.encode())  # no terminator
    assert read_answer(sock).startswith(b"96")
    sock.close()


def test_revoked_machine_is_refused_at_once(world, machine_for):
    machine = machine_for(world.machine_revoke.account.login, world.machine_revoke.password)
    assert machine.send(machine.client.sip_sc_status_request()).startswith("98Y")

    def revoke():
        with tenant_context(world.alpha):
            machine_account_revoke(actor=Actor.system("test", world.alpha), account_id=world.machine_revoke.account.pk)

    on_own_connection(revoke)
    time.sleep(1.1)  # at once: within a second (a connection checks its account at most once a second)
    machine.patron(world.members["anna"].card_number, PIN)
    answer = machine.send(machine.client.sip_checkout_request(world.items[5].barcode))
    assert answer[2] == "0"
    with pytest.raises(Exception):  # noqa: B017 - the client fails in its own way on a closed socket
        machine.send(machine.client.sip_sc_status_request())  # the server closed the connection
    again = machine_for()
    assert again.login(world.machine_revoke.account.login, world.machine_revoke.password)["fixed"]["Ok"] == "0"


def test_idle_connection_is_closed(world, sip2_server):
    sock = socket.create_connection(("127.0.0.1", sip2_server.port), timeout=30)
    started = time.monotonic()
    # Not logged in: the login timeout (3 s in these tests) closes it.
    assert sock.recv(100) == b""
    assert 2 < time.monotonic() - started < 8
    sock.close()


def test_passwords_and_pins_never_logged(world, machine_for, caplog):
    caplog.set_level(logging.DEBUG, logger="lsb.sip2")
    machine = machine_for()
    machine.login(world.machine.account.login, "wrong-secret-xyz")
    machine.login(world.machine.account.login, world.machine.password)
    machine.patron(world.members["fien"].card_number, "8642")
    machine.send(machine.client.sip_patron_status_request())
    machine.raw(b"23000" + b"X" * 10 + b"AAxx|AD8642|ACsecret-terminal|\r")
    text = caplog.text
    for secret in ("wrong-secret-xyz", world.machine.password, "8642", "secret-terminal"):
        assert secret not in text


def test_tls(world, tmp_path):
    """With --cert/--key the server speaks TLS only: a machine logs in over TLS; plain text gets nowhere."""
    import ssl
    import subprocess

    from selfservice.sip2.server import ServerThread, ssl_context

    cert, key = tmp_path / "sip2.pem", tmp_path / "sip2.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    server = ServerThread(host="127.0.0.1", port=0, threads=2, ssl=ssl_context(str(cert), str(key))).start()
    try:
        client = ssl.create_default_context(cafile=str(cert))
        client.check_hostname = False
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            with client.wrap_socket(raw) as sock:
                sock.sendall(with_checksum(f"9300CN{world.machine.account.login}|CO{world.machine.password}|CP|"))
                assert read_answer(sock).startswith(b"941")
                sock.sendall(with_checksum("9900302.00", "1"))
                answer = read_answer(sock)
                assert answer.startswith(b"98Y")
        with socket.create_connection(("127.0.0.1", server.port), timeout=20) as plain:
            plain.sendall(with_checksum("9900302.00"))
            assert not plain.recv(100).startswith(b"98")  # the handshake fails: closed, no answer
    finally:
        server.stop()

"""The SIP2 wire format (selfservice/sip2/protocol.py): checksums, sequence
numbers, terminators, dates, field values that cannot break a message, and logs
without secrets. Pure functions: no database."""

import datetime

import pytest
from django.utils import timezone

from selfservice.sip2 import protocol
from selfservice.sip2.protocol import MalformedMessage


def signed(text, sequence="3"):
    data = f"{text}AY{sequence}AZ".encode()
    return data + protocol.checksum(data).encode()


def test_checksum_of_the_spec_example():
    # The example of the sip2 package's documentation (and of 3M's spec): the checksum makes the sum zero.
    message = b"09N20160419    12200820160419    122008APReading Room 1|AO830|AB830$28170815|AC|AY2AZ"
    assert protocol.checksum(message) == "EB80"


def test_parse_with_sequence_and_checksum():
    request = protocol.parse(signed("9300CNautomaat|COgeheim|CPhal|"))
    assert (request.code, request.fixed, request.sequence, request.checksummed) == ("93", "00", "3", True)
    assert request.get("CN") == "automaat" and request.get("CP") == "hal"


def test_bad_checksum_and_unreadable_ones_are_malformed():
    good = signed("9900302.00")
    with pytest.raises(MalformedMessage, match="checksum"):
        protocol.parse(good[:-4] + b"0000")
    with pytest.raises(MalformedMessage):
        protocol.parse(good[:-4] + b"ZZZZ")
    with pytest.raises(MalformedMessage, match="encoding"):
        protocol.parse("23000é".encode("latin-1"))
    with pytest.raises(MalformedMessage, match="control"):
        protocol.parse(b"23000\x00\x00")
    with pytest.raises(MalformedMessage, match="unknown"):
        protocol.parse(b"42hello")
    with pytest.raises(MalformedMessage, match="truncated"):
        protocol.parse(b"11YN2026")
    with pytest.raises(MalformedMessage, match="too long"):
        protocol.parse(b"17" + b"x" * 5000)


def test_without_error_detection_and_an_answer_mirrors_it():
    plain = protocol.parse(b"9900302.00")
    assert plain.sequence is None and not plain.checksummed
    assert protocol.build("98", "Y", request=plain) == b"98Y\r"
    signed_request = protocol.parse(signed("9900302.00", "7"))
    answer = protocol.build("98", "Y", [("AO", "NL-1")], request=signed_request)
    assert answer.startswith(b"98YAONL-1|AY7AZ") and answer.endswith(b"\r")
    assert protocol.checksum(answer[:-5]) == answer[-5:-1].decode()


def test_field_values_cannot_break_a_message():
    answer = protocol.build("18", "", [("AJ", "Titel|AAgestolen\rmet regeleinde"), ("AF", None)])
    assert answer == b"18AJTitel/AAgestolen met regeleinde|\r"
    assert len(protocol.build("18", "", [("AJ", "x" * 1000)])) < 300


def test_dates():
    assert protocol.parse_date(" " * 18) is None
    assert protocol.parse_date("") is None
    assert protocol.parse_date("20261324    120000") is None
    moment = protocol.parse_date("20261206    143000")
    assert timezone.localtime(moment).replace(tzinfo=None) == datetime.datetime(2026, 12, 6, 14, 30)
    assert protocol.parse_date("20261206   Z143000") == datetime.datetime(2026, 12, 6, 14, 30,
                                                                      tzinfo=datetime.timezone.utc)
    assert protocol.sip_date(datetime.date(2026, 12, 24)) == "20261224    235959"
    assert len(protocol.sip_date()) == 18


def test_logs_never_carry_secrets():
    text = protocol.redacted(b"9300CNautomaat|COgeheim|CP|AY1AZ0000")
    assert "geheim" not in text and "automaat" in text
    text = protocol.redacted(b"11YN20260101    120000" + b" " * 18 + b"AO|AA123|AB456|AC terminal|AD1234|")
    assert "1234|" not in text and "terminal" not in text and "AA123" in text


def test_a_missing_transaction_date_is_tolerated_where_it_is_all_that_is_fixed():
    request = protocol.parse(signed("65AO|AA2010000001|BON|"))
    assert request.fixed == " " * 18 and request.get("AA") == "2010000001"
    with pytest.raises(MalformedMessage):
        protocol.parse(signed("11AO|AA2010000001|"))  # a checkout needs its fixed fields

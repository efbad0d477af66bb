"""SIP2 (3M Standard Interchange Protocol 2.00) framing: messages in, messages out.

A message is a two-digit command code, fixed-length fields, then variable fields
(two-letter code, value, '|'), optionally ending in the sequence number (AY, one
digit) and checksum (AZ, four hex digits), terminated by CR (CR LF accepted).

The checksum is the two's complement of the 16-bit sum of the message's bytes up
to and including "AZ"; a message whose checksum does not match is answered with
96 (request resend). A response carries AY/AZ when the request did (error
detection in use), AZ alone when the request had AZ alone.

Nothing here knows about libraries: this is the wire format only.
"""

import datetime
import re
from dataclasses import dataclass, field

from django.utils import timezone

MAX_MESSAGE_BYTES = 4096
FIELD_MAX = 255  # the spec's maximum for a variable-length field

# Fixed-field length after the two-digit code, per request the server understands.
FIXED_LENGTHS = {
    "93": 2,          # UID algorithm, PWD algorithm
    "99": 8,          # status code, max print width, protocol version
    "97": 0,
    "23": 3 + 18,     # language, transaction date
    "63": 3 + 18 + 10,  # language, transaction date, summary
    "17": 18,         # transaction date
    "11": 1 + 1 + 18 + 18,  # SC renewal policy, no block, transaction date, nb due date
    "09": 1 + 18 + 18,      # no block, transaction date, return date
    "29": 1 + 1 + 18 + 18,  # third party allowed, no block, transaction date, nb due date
    "65": 18,
    "37": 18 + 2 + 2 + 3,   # transaction date, fee type, payment type, currency type
    "15": 1 + 18,           # hold mode, transaction date
    "35": 18,
}

_TRAILER = re.compile(rb"(?:\|?AY([0-9])AZ([0-9A-Fa-f]{4})|\|?AZ([0-9A-Fa-f]{4}))$")
_AY_ONLY = re.compile(rb"\|?AY([0-9])$")
_FIELD_CODE = re.compile(r"^[A-Z][A-Z]$")
_BLANK_DATE = " " * 18
_DATE = re.compile(r"^[0-9]{8}[ A-Z]{4}[0-9]{6}$")
# Messages whose only fixed field is the transaction date.
DATE_ONLY = {"17", "65", "35"}


class MalformedMessage(Exception):
    """The message cannot be read (answered with 96)."""


@dataclass
class Request:
    code: str
    fixed: str
    fields: dict = field(default_factory=dict)  # code -> [values]
    sequence: str | None = None  # the AY digit, when sent
    checksummed: bool = False  # whether AZ was sent (error detection in use)

    def get(self, code, default=""):
        values = self.fields.get(code)
        return values[0] if values else default

    def has(self, code):
        return code in self.fields


def checksum(data: bytes) -> str:
    return format((-sum(data)) & 0xFFFF, "04X")


def parse(raw: bytes, *, encoding="utf-8") -> Request:
    """A Request from one message without its terminator. Raises MalformedMessage
    (bad checksum, wrong encoding, unknown or truncated command)."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise MalformedMessage("too long")
    if len(raw) < 2:
        raise MalformedMessage("too short")
    sequence = None
    checksummed = False
    body = raw
    trailer = _TRAILER.search(raw)
    if trailer is not None:
        digits = trailer.group(2) or trailer.group(3)
        # The sum covers everything up to and including "AZ".
        upto = trailer.end() - 4
        if checksum(raw[:upto]).upper() != digits.decode("ascii").upper():
            raise MalformedMessage("checksum")
        checksummed = True
        if trailer.group(1) is not None:
            sequence = trailer.group(1).decode("ascii")
        body = raw[:trailer.start()]
    elif b"AZ" in raw[-8:]:
        raise MalformedMessage("checksum field unreadable")
    else:
        ay = _AY_ONLY.search(raw)
        if ay is not None:
            sequence = ay.group(1).decode("ascii")
            body = raw[:ay.start()]
    try:
        text = body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        raise MalformedMessage("encoding") from None
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise MalformedMessage("control character")
    code = text[:2]
    if code not in FIXED_LENGTHS:
        raise MalformedMessage("unknown command")
    length = FIXED_LENGTHS[code]
    fixed = text[2:2 + length]
    rest = text[2 + length:]
    if code in DATE_ONLY and not _DATE.match(fixed) and _FIELD_CODE.match(text[2:4]):
        # Some machines leave out a transaction date that is all these messages have
        # fixed (e.g. 65 "65AO|AA…"): read the fields, the date counts as not given.
        fixed, rest = " " * length, text[2:]
    elif len(fixed) < length:
        raise MalformedMessage("fixed fields truncated")
    fields = {}
    for part in rest.split("|"):
        if not part:
            continue
        field_code = part[:2]
        if not _FIELD_CODE.match(field_code):
            raise MalformedMessage("field code")
        fields.setdefault(field_code, []).append(part[2:][:FIELD_MAX])
    return Request(code=code, fixed=fixed, fields=fields, sequence=sequence, checksummed=checksummed)


def clean(value) -> str:
    """A value safe inside a field: no field terminator, no control characters, at most 255 characters."""
    text = "" if value is None else str(value)
    text = text.replace("|", "/")
    text = "".join(char if ord(char) >= 32 and ord(char) != 127 else " " for char in text)
    return text[:FIELD_MAX]


def build(code, fixed="", fields=(), *, request=None, encoding="utf-8") -> bytes:
    """The bytes of a response (with AY/AZ as the request used them) and its CR.
    `fields` is a list of (code, value); None values are left out."""
    text = code + fixed + "".join(f"{name}{clean(value)}|" for name, value in fields if value is not None)
    data = text.encode(encoding, errors="replace")
    if request is not None and request.checksummed:
        if request.sequence is not None:
            data += b"AY" + request.sequence.encode("ascii")
        data += b"AZ"
        data += checksum(data).encode("ascii")
    elif request is not None and request.sequence is not None:
        data += b"AY" + request.sequence.encode("ascii")
    return data + b"\r"


def resend_request(*, checksummed=True) -> bytes:
    """96: please send your last message again (no sequence number, per the spec)."""
    data = b"96"
    if checksummed:
        data += b"AZ" + checksum(data + b"AZ").encode("ascii")
    return data + b"\r"


def sip_date(value=None) -> str:
    """YYYYMMDDZZZZHHMMSS in local time (ZZZZ four blanks); a date is at 23:59:59."""
    if value is None:
        value = timezone.now()
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        return value.strftime("%Y%m%d    %H%M%S")
    return value.strftime("%Y%m%d    235959")


def parse_date(text):
    """An aware datetime from an 18-character SIP2 date (local time, or UTC with a
    Z in the zone field); None for a blank date (18 spaces) or an unreadable one."""
    if not text or text == _BLANK_DATE or not text.strip():
        return None
    text = text[:18]
    if len(text) != 18:
        return None
    zone = text[8:12]
    try:
        value = datetime.datetime.strptime(text[:8] + text[12:], "%Y%m%d%H%M%S")
    except ValueError:
        return None
    if zone.strip().upper() == "Z":
        return value.replace(tzinfo=datetime.timezone.utc)
    if zone.strip():
        return None  # another time zone letter: not one LSB can place
    return timezone.make_aware(value)


def yn(value) -> str:
    return "Y" if value else "N"


def money(cents) -> str:
    """An amount for BV/CG: euros with a point, e.g. 2.50."""
    return f"{cents / 100:.2f}"


def redacted(raw: bytes) -> str:
    """A message for a log line: the passwords (CO login password, AD patron PIN,
    AC terminal password) blanked out."""
    parts = raw.decode("latin-1", errors="replace").split("|")
    return "|".join(part[:2] + "***" if part[:2] in ("CO", "AD", "AC") else part for part in parts)[:300]

"""MARC21 in: reading records from a file one at a time, and turning one record
into the fields a catalogue Title keeps.

Nothing here touches the database. `read_records` yields, for every record in
a file, either the record (its fields decoded to clean Unicode, and the ISO 2709
bytes in UTF-8 that the catalogue stores) or the reason it cannot be used, with
its position in the file. `title_fields_from` maps a good record onto Title's
fields; `title_fields` does the same for a pymarc Record. `sniff` tells whether
a file is MARC21 at all.

Lenient where the catalogue can be: a record is refused only when its leader or
directory is broken, or a field the catalogue needs (NEEDED_TAGS: identity,
ISBN and title) cannot be read. An oddity elsewhere (indicators of the wrong
length, an invalid tag, a bad subfield code, an empty subfield, undecodable text
in a note) is repaired or left out, and the record is imported with a warning
naming the field. Messages are codes with parameters (catalogue.errors), so
they are shown in the reader's language.

Clean text: every value is Unicode NFC, without control characters (tab and
line breaks become a space), with MARC's numeric character references
('&#x04AE;') resolved, whatever the input encoding. UTF-8 ISO 2709 records, what
national feeds deliver, are decoded here directly (strict UTF-8, field by field)
and stored as they came when they are already clean: that is several times
faster than building pymarc Records. Any other record (MARC-8, MARCXML, or
UTF-8 that needed cleaning or repair) is stored as the ISO 2709 this module
builds from its cleaned fields, with leader/09 'a'.
"""

import hashlib
import logging
import re
import unicodedata
import xml.sax
from collections import deque
from dataclasses import dataclass, field
from xml.sax.handler import feature_external_ges, feature_namespaces

from pymarc.marc8 import MARC8ToUnicode

from .errors import render
from .models import Audience, MarcFormat, MaterialType
from .normalise import clean_text, ean_normalise, has_control_characters, isbn_normalise, issn_normalise, \
    search_columns

logger = logging.getLogger(__name__)

END_OF_RECORD = 0x1D
END_OF_FIELD = 0x1E
SUBFIELD_DELIMITER = 0x1F
_READ_SIZE = 1 << 16
MARC_XML_NS = "http://www.loc.gov/MARC21/slim"
_TAG = re.compile(r"^[0-9A-Za-z]{3}$")
_TAG_BYTES = re.compile(rb"[0-9A-Za-z]{3}")
_DIRECTORY = re.compile(rb"(?:[0-9A-Za-z]{3}[0-9]{9})+")
_DIRECTORY_ENTRY = re.compile(rb"[\x20-\x7e]{3}[0-9]{9}")
# Bytes that make a UTF-8 record need cleaning: C0 controls (not the three MARC
# delimiters), DEL, C1 controls, U+FFFE/U+FFFF, and numeric character references.
_UNCLEAN = re.compile(rb"[\x00-\x1c\x7f]|\xc2[\x80-\x9f]|\xef\xbf[\xbe\xbf]|&#x")
_C0 = re.compile(rb"[\x00-\x1c\x7f]")


def _unclean(chunk, start):
    """Whether a record's data needs cleaning (_UNCLEAN), with cheap tests first."""
    if _C0.search(chunk, start):
        return True
    if b"\xc2" in chunk or b"\xef\xbf" in chunk or b"&#x" in chunk:
        return bool(_UNCLEAN.search(chunk, start))
    return False
CONTROL_NUMBER_MAX = 64
# The fields the catalogue cannot do without: identity (001, 003), matching (020)
# and the title (245). Broken, they refuse the record; elsewhere an oddity is a warning.
NEEDED_TAGS = frozenset({"001", "003", "020", "245"})
# A library's holdings and item data: never part of a national record.
HOLDINGS_TAGS = frozenset({"852", "853", "854", "855", "863", "864", "865", "866", "867", "868", "876", "877", "878"})
# LSB's own system number, written into 035 by every export: '(LSB)1234' is title 1234.
LSB_SYSTEM_NUMBER_PREFIX = "(LSB)"
_LSB_SYSTEM_NUMBER = re.compile(r"^\(LSB\)\s*([0-9]{1,18})$")
_LSB_SYSTEM_NUMBER_BYTES = re.compile(rb"\x1fa\s*\(LSB\)\s*[0-9]{1,18}\s*(?:\x1f|\x1e)")


class BadRecord(Exception):
    """A record that cannot be imported: a code (catalogue.errors) and its parameters."""

    def __init__(self, code, **params):
        super().__init__(code)
        self.code = code
        self.params = params

    def __str__(self):
        return render(self.code, self.params)


@dataclass
class MarcData:
    """A record's content, decoded and clean: the leader, its fields in record order
    (control fields as (tag, value), data fields as (tag, ind1, ind2, [(code, value), ...])),
    and two views of them: the control fields (first value per tag) and the data fields per tag."""

    leader: str
    fields: list = field(default_factory=list)
    control: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)

    def add(self, marc_field):
        self.fields.append(marc_field)
        if len(marc_field) == 2:
            self.control.setdefault(marc_field[0], marc_field[1])
        else:
            self.data.setdefault(marc_field[0], []).append(marc_field[1:])

    @classmethod
    def from_fields(cls, leader, fields):
        control, data = {}, {}
        for marc_field in fields:
            if len(marc_field) == 2:
                control.setdefault(marc_field[0], marc_field[1])
            else:
                data.setdefault(marc_field[0], []).append(marc_field[1:])
        return cls(leader, list(fields), control, data)

    @classmethod
    def from_record(cls, record):
        """From a pymarc Record (its text already in Unicode), cleaned."""
        result = cls(str(record.leader))
        for marc_field in record.fields:
            if marc_field.is_control_field():
                result.add((marc_field.tag, clean_text(marc_field.data or "")))
            else:
                result.add((marc_field.tag, marc_field.indicator1 or " ", marc_field.indicator2 or " ",
                            [(subfield.code, clean_text(subfield.value)) for subfield in marc_field.subfields]))
        return result

    def without(self, tags=(), keep=None):
        """The record without the fields whose tag is in `tags` (or for which keep(field) is false)."""
        fields = [marc_field for marc_field in self.fields
                  if marc_field[0] not in tags and (keep is None or keep(marc_field))]
        return MarcData.from_fields(self.leader, fields)


@dataclass
class ReadResult:
    """One record read from a file: `data` and `marc` set, or `problem` (a code) saying why not."""

    number: int  # 1-based position of the record in the file
    data: MarcData | None = None
    marc: bytes = b""  # the record as the catalogue stores it: ISO 2709, UTF-8
    problem_code: str = ""
    problem_params: dict = field(default_factory=dict)
    byte_offset: int | None = None  # ISO 2709: where the record starts
    line: int | None = None  # MARCXML: line of <record>
    next_offset: int | None = None  # ISO 2709: where the next record starts
    control_number: str = ""
    warnings: list = field(default_factory=list)  # [(code, params)]: imported anyway

    @property
    def ok(self):
        return self.data is not None

    @property
    def problem(self):
        return render(self.problem_code, self.problem_params) if self.problem_code else ""


def _failed(number, error, **position):
    return ReadResult(number, problem_code=error.code, problem_params=error.params, **position)


# --- writing ISO 2709 ---------------------------------------------------------------


def build_iso2709(leader, fields):
    """A record as ISO 2709 bytes in UTF-8 (leader/09 'a'), length and base address computed."""
    directory, body, offset = [], [], 0
    for marc_field in fields:
        if len(marc_field) == 2:
            raw = marc_field[1].encode("utf-8") + b"\x1e"
        else:
            tag, ind1, ind2, subfields = marc_field
            raw = (ind1 + ind2).encode("utf-8") + b"".join(
                b"\x1f" + code.encode("utf-8") + value.encode("utf-8") for code, value in subfields
            ) + b"\x1e"
        if len(raw) > 9999:
            raise BadRecord("marc.too_large")
        directory.append(f"{marc_field[0]}{len(raw):04d}{offset:05d}".encode("ascii"))
        body.append(raw)
        offset += len(raw)
    base_address = 24 + 12 * len(directory) + 1
    length = base_address + offset + 1
    if length > 99999:
        raise BadRecord("marc.too_large")
    head = f"{length:05d}{leader[5:9]}a{leader[10:12]}{base_address:05d}{leader[17:24]}"
    return head.encode("ascii") + b"".join(directory) + b"\x1e" + b"".join(body) + b"\x1d"


def marc_bytes(data):
    """The ISO 2709 bytes of decoded record content."""
    return build_iso2709(data.leader, data.fields)


# --- format -------------------------------------------------------------------------


def detect_format(stream):
    """'marcxml' when the file starts (after a BOM and white space) with '<',
    else 'iso2709'. Leaves the stream at its start."""
    head = stream.read(512)
    stream.seek(0)
    if isinstance(head, str):
        head = head.encode("utf-8", "replace")
    head = head.lstrip(b"\xef\xbb\xbf").lstrip()
    return MarcFormat.MARCXML if head.startswith(b"<") else MarcFormat.ISO2709


_SIGNATURES = [
    (b"\x89PNG", "marc_import.not_marc_image"), (b"\xff\xd8\xff", "marc_import.not_marc_image"),
    (b"GIF87a", "marc_import.not_marc_image"), (b"GIF89a", "marc_import.not_marc_image"),
    (b"BM", "marc_import.not_marc_image"), (b"II*\x00", "marc_import.not_marc_image"),
    (b"MM\x00*", "marc_import.not_marc_image"),
    (b"%PDF", "marc_import.not_marc_document"), (b"PK\x03\x04", "marc_import.not_marc_document"),
    (b"\x1f\x8b", "marc_import.not_marc_document"), (b"\xd0\xcf\x11\xe0", "marc_import.not_marc_document"),
]
_PLAUSIBLE_LEADER = re.compile(rb"[0-9]{5}[\x20-\x7e]{7}[0-9]{5}[\x20-\x7e]{7}")


@dataclass(frozen=True)
class Sniffed:
    format: str
    refusal: str = ""  # a marc_import.* code when this is no MARC21 file


def sniff(stream, marc_format=MarcFormat.AUTO):
    """What a file is, from its start: MARC21 as ISO 2709 or MARCXML, or a refusal
    code (empty, an image, a document, an HTML page, JSON, XML without MARC
    records, UNIMARC, or simply not MARC). Reads at most the first record; leaves
    the stream at its start."""
    head = stream.read(4096)
    stream.seek(0)
    if not head.strip(b" \t\r\n\x00"):
        return Sniffed(marc_format, "marc_import.file_empty")
    for signature, code in _SIGNATURES:
        if head.startswith(signature) and not (signature == b"BM" and _PLAUSIBLE_LEADER.match(head[:24])):
            return Sniffed(marc_format, code)
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    detected = MarcFormat.MARCXML if text.startswith(b"<") else MarcFormat.ISO2709
    if marc_format == MarcFormat.AUTO:
        marc_format = detected
    if text[:1] in (b"{", b"["):
        return Sniffed(marc_format, "marc_import.not_marc_json")
    if detected == MarcFormat.MARCXML:
        lowered = text[:2048].lower()
        if b"<!doctype html" in lowered or b"<html" in lowered:
            return Sniffed(marc_format, "marc_import.not_marc_html")
        if marc_format != MarcFormat.MARCXML:
            return Sniffed(marc_format, "marc_import.not_marc")
        first, saw_record = _first_marcxml_record(stream)
        stream.seek(0)
        if not saw_record:
            return Sniffed(marc_format, "marc_import.not_marc_xml")
        if first is not None and first.ok and looks_like_unimarc(first.data):
            return Sniffed(marc_format, "marc_import.unimarc")
        return Sniffed(marc_format)
    if marc_format != MarcFormat.ISO2709 or not _PLAUSIBLE_LEADER.match(text[:24]):
        return Sniffed(marc_format, "marc_import.not_marc")
    first = next(_read_iso2709(stream, start_number=0, start_offset=0), None)
    stream.seek(0)
    if first is not None and first.ok and looks_like_unimarc(first.data):
        return Sniffed(marc_format, "marc_import.unimarc")
    return Sniffed(marc_format)


def looks_like_unimarc(data):
    """UNIMARC keeps the title in 200 $a and has no 245."""
    return "245" not in data.data and any(code == "a" for _, _, subfields in data.data.get("200", ())
                                          for code, _ in subfields)


def read_records(stream, marc_format, *, start_number=0, start_offset=0):
    """Every record in `stream` (binary), as ReadResults, one at a time.

    `start_number`/`start_offset` continue an import after the records it already
    committed (ISO 2709 seeks to `start_offset`; MARCXML reads past them)."""
    if marc_format == MarcFormat.MARCXML:
        for result in _read_marcxml(stream):
            if result.number > start_number:
                yield result
    else:
        yield from _read_iso2709(stream, start_number=start_number, start_offset=start_offset)


# --- ISO 2709 -----------------------------------------------------------------------


class _Buffer:
    """Reads a binary stream in blocks, with the byte offset of what it hands out,
    so that a record with a wrong length can be skipped up to its terminator."""

    def __init__(self, stream, offset):
        self.stream = stream
        self.offset = offset
        self.data = b""

    def _fill(self):
        block = self.stream.read(_READ_SIZE)
        self.data += block
        return bool(block)

    def read(self, size):
        while len(self.data) < size and self._fill():
            pass
        chunk, self.data = self.data[:size], self.data[size:]
        self.offset += len(chunk)
        return chunk

    def skip_past_terminator(self):
        """Drop everything up to and including the next end-of-record byte."""
        while True:
            index = self.data.find(bytes([END_OF_RECORD]))
            if index >= 0:
                self.offset += index + 1
                self.data = self.data[index + 1:]
                return
            self.offset += len(self.data)
            self.data = b""
            if not self._fill():
                return

    def unread(self, chunk):
        self.data = chunk + self.data
        self.offset -= len(chunk)


def _read_iso2709(stream, *, start_number, start_offset):
    if start_offset:
        stream.seek(start_offset)
    buffer = _Buffer(stream, start_offset)
    number = start_number
    while True:
        # Skip the line breaks (and padding) some tools put between records.
        head = buffer.read(1)
        while head in (b"\n", b"\r", b" ", b"\x00", b"\x1a"):
            head = buffer.read(1)
        if not head:
            return
        buffer.unread(head)
        number += 1
        offset = buffer.offset
        head = buffer.read(5)
        if len(head) < 5 or not head.isdigit():
            error = (BadRecord("marc.truncated_at_end") if len(head) < 5
                     else BadRecord("marc.leader_length_not_numeric", value=_show(head)))
            buffer.unread(head)
            buffer.skip_past_terminator()
            yield _failed(number, error, byte_offset=offset, next_offset=buffer.offset)
            continue
        length = int(head)
        if length < 25:
            buffer.unread(head)
            buffer.skip_past_terminator()
            yield _failed(number, BadRecord("marc.leader_length_too_small", length=length),
                          byte_offset=offset, next_offset=buffer.offset)
            continue
        chunk = head + buffer.read(length - 5)
        if len(chunk) < length or chunk[-1] != END_OF_RECORD:
            # The length is wrong, or the file ends: the record ends at its terminator.
            terminator = chunk.find(bytes([END_OF_RECORD]))
            if terminator >= 0:
                buffer.unread(chunk[terminator + 1:])
                error = BadRecord("marc.record_ends_early", length=length, actual=terminator + 1)
            elif len(chunk) < length:
                error = BadRecord("marc.truncated", length=length, actual=len(chunk))
            else:
                buffer.skip_past_terminator()
                error = BadRecord("marc.length_wrong", length=length)
            yield _failed(number, error, byte_offset=offset, next_offset=buffer.offset,
                          control_number=_control_number_guess(chunk))
            continue
        try:
            data, marc, warnings = decode_iso2709(chunk)
        except BadRecord as error:
            yield _failed(number, error, byte_offset=offset, next_offset=buffer.offset,
                          control_number=_control_number_guess(chunk))
            continue
        except Exception:  # one record must not stop the file
            logger.exception("MARC record %s at byte %s could not be decoded", number, offset)
            yield _failed(number, BadRecord("marc.unreadable"), byte_offset=offset, next_offset=buffer.offset,
                          control_number=_control_number_guess(chunk))
            continue
        yield ReadResult(number, data=data, marc=marc, byte_offset=offset, next_offset=buffer.offset,
                         warnings=warnings)


def decode_iso2709(chunk):
    """One ISO 2709 record (bytes, ending in the record terminator) as
    (MarcData, the bytes to store, warnings); BadRecord when its leader, directory,
    or a field the catalogue needs is broken."""
    try:
        leader = chunk[:24].decode("ascii")
    except UnicodeDecodeError:
        raise BadRecord("marc.leader_not_ascii") from None
    if not leader[12:17].isdigit():
        raise BadRecord("marc.base_address_not_numeric", value=repr(leader[12:17]))
    base_address = int(leader[12:17])
    if base_address < 25 or base_address >= len(chunk):
        raise BadRecord("marc.base_address_outside", base=base_address, length=len(chunk))
    if leader[9] not in " a":
        raise BadRecord("marc.encoding_unknown", value=repr(leader[9]))
    if chunk[base_address - 1] != END_OF_FIELD:
        raise BadRecord("marc.directory_no_field_end")
    directory = chunk[24:base_address - 1]
    if not directory:
        raise BadRecord("marc.directory_empty")
    if len(directory) % 12:
        raise BadRecord("marc.directory_length", length=len(directory))
    clean_directory = bool(_DIRECTORY.fullmatch(directory))
    if not clean_directory:
        for start in range(0, len(directory), 12):
            if not _DIRECTORY_ENTRY.fullmatch(directory[start:start + 12]):
                raise BadRecord("marc.directory_entry", entry=_show(directory[start:start + 12]),
                                number=start // 12 + 1)
    utf8 = leader[9] == "a"
    unclean = _unclean(chunk, base_address)
    if utf8 and not unclean and clean_directory:
        fast = _decode_clean_utf8(chunk, leader, directory, base_address)
        if fast is not None:
            return fast, chunk, []
    mislabelled = not utf8 and _utf8_labelled_marc8(chunk, base_address)
    decoder = _Decoder(utf8=utf8 or mislabelled, unclean=unclean)
    if mislabelled:
        decoder.warn("marc_warning.utf8_labelled_marc8")
    result = MarcData(leader[:9] + "a" + leader[10:])
    record_end = len(chunk) - 1
    for start in range(0, len(directory), 12):
        raw_tag = directory[start:start + 3]
        begin = base_address + int(directory[start + 7:start + 12])
        end = begin + int(directory[start + 3:start + 7])
        tag = raw_tag.decode("ascii")
        if end <= begin or end > record_end:
            raise BadRecord("marc.field_outside", tag=tag)
        value = chunk[begin:end - 1]
        if chunk[end - 1] != END_OF_FIELD or END_OF_FIELD in value or END_OF_RECORD in value:
            raise BadRecord("marc.field_boundaries", tag=tag)
        if not clean_directory and not _TAG_BYTES.fullmatch(raw_tag):
            decoder.warn("marc_warning.bad_tag", tag=repr(tag))
            continue
        marc_field = decoder.field(tag, value)
        if marc_field is not None:
            result.add(marc_field)
    if decoder.utf8 and not decoder.changed:
        return result, chunk, decoder.warnings
    return result, build_iso2709(result.leader, result.fields), decoder.warnings


def _decode_clean_utf8(chunk, leader, directory, base_address):
    """The common case, inline and fast: a UTF-8 record without control characters,
    its fields in directory order one after the other, all well-formed and NFC,
    decoded in one go and stored as it came. None when anything is off (the lenient
    decoder then reads the record, repairing or refusing)."""
    record_end = len(chunk) - 1
    entries = directory.decode("ascii")
    tags = [entries[start:start + 3] for start in range(0, len(entries), 12)]
    offset = 0
    for start in range(3, len(entries), 12):
        length = int(entries[start:start + 4])
        if int(entries[start + 4:start + 9]) != offset or length < 1 \
                or chunk[base_address + offset + length - 1] != END_OF_FIELD:
            return None
        offset += length
    if base_address + offset != record_end:
        return None
    try:
        text = chunk[base_address:record_end].decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not chunk.isascii() and not unicodedata.is_normalized("NFC", text):
        return None
    values = text.split("\x1e")
    if len(values) != len(tags) + 1:
        return None
    control, data, fields = {}, {}, []
    for tag, value in zip(tags, values):
        if tag < "010" and tag.isdigit():
            if "\x1f" in value:
                return None
            control.setdefault(tag, value)
            fields.append((tag, value))
            continue
        indicators, *parts = value.split("\x1f")
        if len(indicators) != 2 or not (indicators.isascii() and indicators.isprintable()):
            return None
        try:
            subfields = [(part[0], part[1:]) for part in parts]
        except IndexError:  # an empty subfield
            return None
        codes = "".join(code for code, _ in subfields)
        if not (codes.isascii() and codes.isprintable()) or " " in codes:
            return None
        data.setdefault(tag, []).append((indicators[0], indicators[1], subfields))
        fields.append((tag, indicators[0], indicators[1], subfields))
    return MarcData(leader, fields, control, data)


def _utf8_labelled_marc8(chunk, base_address):
    """Whether a record whose leader says MARC-8 holds UTF-8 text: no escape sequences,
    and bytes above ASCII that are all valid UTF-8 (MARC-8's diacritics before a
    letter never are)."""
    data = chunk[base_address:]
    if data.isascii() or b"\x1b" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class _Decoder:
    """Decodes one record's fields (UTF-8 or MARC-8), repairing what it may and
    refusing what it must; `changed` when the stored bytes must be rebuilt."""

    def __init__(self, *, utf8, unclean):
        self.utf8 = utf8
        self.unclean = unclean  # control characters or character references somewhere: clean every value
        self.changed = not utf8
        self.warnings = []
        self._control_warned = set()

    def warn(self, code, **params):
        self.warnings.append((code, params))
        self.changed = True

    def field(self, tag, value):
        if tag < "010" and tag.isdigit():
            if SUBFIELD_DELIMITER in value:
                self._control_characters(tag)
                value = value.replace(b"\x1f", b"")
            return tag, self.text(value, tag, None)
        needed = tag in NEEDED_TAGS
        indicators, delimiter, rest = value.partition(b"\x1f")
        if not delimiter and len(indicators) != 2:
            if needed:
                raise BadRecord("marc.no_subfields", tag=tag)
            self.warn("marc_warning.no_subfields", tag=tag)
            return None
        if len(indicators) != 2 or not (32 <= indicators[0] < 127 and 32 <= indicators[1] < 127):
            read = "".join(chr(byte) if 32 <= byte < 127 else " " for byte in indicators[:2]).ljust(2)
            self.warn("marc_warning.indicators", tag=tag, value=_show(indicators), read=repr(read))
            ind1, ind2 = read[0], read[1]
        else:
            ind1, ind2 = chr(indicators[0]), chr(indicators[1])
        subfields = []
        if delimiter:
            for subfield in rest.split(b"\x1f"):
                if not subfield:
                    self.warn("marc_warning.empty_subfield", tag=tag)
                    continue
                if not 33 <= subfield[0] < 127:
                    if needed:
                        raise BadRecord("marc.subfield_code", tag=tag)
                    self.warn("marc_warning.subfield_code", tag=tag)
                    continue
                code = chr(subfield[0])
                subfields.append((code, self.text(subfield[1:], tag, code)))
        return tag, ind1, ind2, subfields

    def text(self, raw, tag, code):
        where = f"{tag} ${code}" if code else tag
        if self.utf8:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                if tag in NEEDED_TAGS:
                    raise BadRecord("marc.encoding_utf8", field=where) from None
                self.warn("marc_warning.encoding_utf8", field=where)
                text = raw.decode("utf-8", "replace")
            if raw.isascii() and not self.unclean:
                return text
        elif raw.isascii() and b"\x1b" not in raw and not self.unclean:
            return raw.decode("ascii")
        else:
            try:
                text = _StrictMarc8ToUnicode().translate(raw)
            except (UnicodeError, IndexError, TypeError, KeyError, ValueError):
                if tag in NEEDED_TAGS:
                    raise BadRecord("marc.encoding_marc8", field=where) from None
                self.warn("marc_warning.encoding_marc8", field=where)
                text = _lenient_marc8(raw)
        if has_control_characters(text):
            self._control_characters(tag)
        cleaned = clean_text(text)
        if cleaned != text:
            self.changed = True
        return cleaned

    def _control_characters(self, tag):
        if tag not in self._control_warned:
            self._control_warned.add(tag)
            self.warn("marc_warning.control_characters", tag=tag)
        self.changed = True


class _StrictMarc8ToUnicode(MARC8ToUnicode):
    """pymarc's MARC-8 converter turns a character it cannot map into a space and
    writes a note to stderr; reading `quiet` is what it does at exactly that
    point, so this converter raises there instead."""

    @property
    def quiet(self):
        raise UnicodeError("unmappable MARC-8")

    @quiet.setter
    def quiet(self, value):
        pass


def _lenient_marc8(raw):
    """MARC-8 as pymarc reads it leniently: what cannot be mapped becomes a space."""
    try:
        return MARC8ToUnicode(quiet=True).translate(raw)
    except (IndexError, TypeError, KeyError, ValueError):
        return raw.decode("ascii", "replace").replace("\ufffd", " ")


def _control_number_guess(chunk):
    """The 001 of a broken record when it can still be found, for the log."""
    match = re.search(rb"\x1e([^\x1e\x1f\x1d]{1,64})\x1e", chunk[:4096])
    if match and chunk[24:27] == b"001":
        return match.group(1).decode("latin-1").strip()
    return ""


def _show(raw):
    return repr(raw.decode("latin-1")) if isinstance(raw, bytes) else repr(raw)


# --- MARCXML ------------------------------------------------------------------------


class _MarcXmlHandler(xml.sax.ContentHandler):
    """Builds records from MARCXML as they are read (SAX), handing each over as soon
    as its </record> is read, with its line number. Elements in the MARC21 slim
    namespace (or in none) count; others (an OAI-PMH envelope) are passed over.
    The same leniency as for ISO 2709: a bad tag, indicator or subfield code is a
    warning (in a needed field a refusal), a broken leader refuses the record."""

    def __init__(self):
        super().__init__()
        self.ready = deque()
        self.number = 0
        self.saw_record = False
        self.locator = None
        self._record = None

    def setDocumentLocator(self, locator):
        self.locator = locator

    def startElementNS(self, name, qname, attrs):
        namespace, local = name
        if namespace not in (MARC_XML_NS, None):
            return
        if local == "record":
            self.number += 1
            self.saw_record = True
            self._record = {"line": self.locator.getLineNumber() if self.locator else None, "leader": None,
                            "fields": [], "warnings": [], "broken": None, "field": None, "text": [],
                            "in": None}
            return
        record = self._record
        if record is None or record["broken"]:
            return
        record["text"] = []
        if local == "leader":
            record["in"] = "leader"
        elif local == "controlfield":
            record["field"] = [attrs.get((None, "tag"), ""), None]
            record["in"] = "controlfield"
        elif local == "datafield":
            tag = attrs.get((None, "tag"), "")
            indicators = []
            for attribute in ("ind1", "ind2"):
                value = attrs.get((None, attribute), " ")
                if len(value) != 1 or not 32 <= ord(value) < 127:
                    read = value[:1] if value[:1] and 32 <= ord(value[:1]) < 127 else " "
                    record["warnings"].append(("marc_warning.indicators",
                                               {"tag": tag, "value": repr(value), "read": repr(read)}))
                    value = read
                indicators.append(value)
            record["field"] = [tag, indicators[0], indicators[1], []]
            record["in"] = "datafield"
        elif local == "subfield" and record["field"] is not None and len(record["field"]) == 4:
            record["code"] = attrs.get((None, "code"), "")
            record["in"] = "subfield"

    def characters(self, content):
        if self._record is not None and self._record["in"] in ("leader", "controlfield", "subfield"):
            self._record["text"].append(content)

    def endElementNS(self, name, qname):
        namespace, local = name
        if namespace not in (MARC_XML_NS, None) or self._record is None:
            return
        record = self._record
        if local == "record":
            self.ready.append(self._finish(record))
            self._record = None
            return
        if record["broken"]:
            return
        text = "".join(record["text"])
        record["text"] = []
        if local == "leader":
            record["in"] = None
            if len(text) != 24:
                record["broken"] = BadRecord("marc.xml_leader_length", length=len(text), value=repr(text))
            elif not text.isascii():
                record["broken"] = BadRecord("marc.leader_not_ascii")
            else:
                record["leader"] = text
        elif local == "controlfield":
            tag = record["field"][0]
            record["field"], record["in"] = None, None
            if not _TAG.match(tag):
                record["warnings"].append(("marc_warning.bad_tag", {"tag": repr(tag)}))
            else:
                self._add(record, (tag, text))
        elif local == "subfield":
            record["in"] = "datafield"
            code = record.pop("code", "")
            tag = record["field"][0]
            if len(code) != 1 or not 33 <= ord(code) < 127:
                if tag in NEEDED_TAGS:
                    record["broken"] = BadRecord("marc.subfield_code", tag=tag)
                else:
                    record["warnings"].append(("marc_warning.subfield_code", {"tag": tag}))
                return
            record["field"][3].append((code, text))
        elif local == "datafield":
            tag, ind1, ind2, subfields = record["field"]
            record["field"], record["in"] = None, None
            if not _TAG.match(tag):
                record["warnings"].append(("marc_warning.bad_tag", {"tag": repr(tag)}))
            else:
                self._add(record, (tag, ind1, ind2, subfields))

    def _add(self, record, marc_field):
        tag = marc_field[0]
        values = [marc_field[1]] if len(marc_field) == 2 else [value for _, value in marc_field[3]]
        if any(has_control_characters(value) for value in values):
            record["warnings"].append(("marc_warning.control_characters", {"tag": tag}))
        if len(marc_field) == 2:
            record["fields"].append((tag, clean_text(marc_field[1])))
        else:
            record["fields"].append((tag, marc_field[1], marc_field[2],
                                     [(code, clean_text(value)) for code, value in marc_field[3]]))

    def _finish(self, record):
        position = {"line": record["line"]}
        if record["broken"]:
            return _failed(self.number, record["broken"], **position)
        if record["leader"] is None:
            if not record["fields"]:
                return _failed(self.number, BadRecord("marc.xml_empty_record"), **position)
            return _failed(self.number, BadRecord("marc.xml_leader_missing"), **position)
        leader = record["leader"]
        data = MarcData.from_fields(leader[:9] + "a" + leader[10:], record["fields"])
        try:
            marc = marc_bytes(data)
        except BadRecord as error:
            return _failed(self.number, error, **position)
        return ReadResult(self.number, data=data, marc=marc, warnings=record["warnings"], **position)


def _marcxml_parser(handler):
    parser = xml.sax.make_parser()
    parser.setFeature(feature_namespaces, True)
    parser.setFeature(feature_external_ges, False)
    parser.setContentHandler(handler)
    # parse() hands the handler a locator, feed() does not; the expat parser is one itself.
    handler.setDocumentLocator(parser)
    return parser


def _read_marcxml(stream):
    handler = _MarcXmlHandler()
    parser = _marcxml_parser(handler)
    try:
        while block := stream.read(_READ_SIZE):
            parser.feed(block)
            while handler.ready:
                yield handler.ready.popleft()
        parser.close()
    except xml.sax.SAXParseException as error:
        while handler.ready:
            yield handler.ready.popleft()
        in_record = handler._record is not None
        yield ReadResult(
            handler.number if in_record else handler.number + 1,
            problem_code="marc.xml_invalid",
            problem_params={"line": error.getLineNumber(), "column": error.getColumnNumber()},
            line=error.getLineNumber(),
        )
        return
    while handler.ready:
        yield handler.ready.popleft()


def _first_marcxml_record(stream):
    """(the first record of a MARCXML file or None, whether a MARC <record> element was seen)."""
    handler = _MarcXmlHandler()
    parser = _marcxml_parser(handler)
    try:
        while block := stream.read(_READ_SIZE):
            parser.feed(block)
            if handler.ready:
                return handler.ready.popleft(), True
        parser.close()
    except xml.sax.SAXParseException:
        return None, handler.saw_record
    return (handler.ready.popleft() if handler.ready else None), handler.saw_record


# --- identity, holdings, enrichment -------------------------------------------------


def control_identity(data):
    """(source, control number): 003 and 001, stripped."""
    return data.control.get("003", "").strip(), data.control.get("001", "").strip()


def lsb_title_id(data):
    """The LSB title id an export wrote into 035 ('(LSB)1234'), or None."""
    for _, _, subfields in data.data.get("035", ()):
        for code, value in subfields:
            if code == "a":
                match = _LSB_SYSTEM_NUMBER.match(value.strip())
                if match:
                    return int(match.group(1))
    return None


def _is_lsb_system_number(marc_field):
    return len(marc_field) == 4 and marc_field[0] == "035" and any(
        code == "a" and _LSB_SYSTEM_NUMBER.match(value.strip()) for code, value in marc_field[3])


def shared_part(data):
    """The part of a record that may be a national record: without a library's
    holdings and item fields (HOLDINGS_TAGS) and without LSB's own system number."""
    if HOLDINGS_TAGS.isdisjoint(data.data) and not any(
            code == "a" and value.lstrip().startswith(LSB_SYSTEM_NUMBER_PREFIX) for _, _, subfields in data.data.get("035", ())
            for code, value in subfields):
        return data
    return data.without(HOLDINGS_TAGS, keep=lambda marc_field: not _is_lsb_system_number(marc_field))


def shared_bytes(data, marc):
    """The stored bytes of shared_part(data), cut from the record's own bytes `marc`
    (its fields unchanged): dropping directory entries is much cheaper than writing
    the record again."""
    base_address = int(marc[12:17])
    directory = marc[24:base_address - 1]
    entries, body, offset = [], [], 0
    for start in range(0, len(directory), 12):
        tag = directory[start:start + 3].decode("ascii")
        begin = base_address + int(directory[start + 7:start + 12])
        raw = marc[begin:begin + int(directory[start + 3:start + 7])]
        if tag in HOLDINGS_TAGS or (tag == "035" and _LSB_SYSTEM_NUMBER_BYTES.search(raw)):
            continue
        entries.append(directory[start:start + 7] + f"{offset:05d}".encode("ascii"))
        body.append(raw)
        offset += len(raw)
    base = 24 + 12 * len(entries) + 1
    head = f"{base + offset + 1:05d}".encode("ascii") + marc[5:12] + f"{base:05d}".encode("ascii") + marc[17:24]
    return head + b"".join(entries) + b"\x1e" + b"".join(body) + b"\x1d"


def holdings_count(data):
    return sum(len(data.data.get(tag, ())) for tag in ("852",))


def with_identity(data, source, control_number):
    """The record with 001 (and 003) set, for a title that keeps its identity when a
    record without 001 replaces its description."""
    fields = [marc_field for marc_field in data.fields if marc_field[0] not in ("001", "003")]
    identity = [("001", control_number)] + ([("003", source)] if source else [])
    return MarcData.from_fields(data.leader, identity + fields)


# What another source may add to a record that lacks it: groups of tags, each added
# whole and only when the record has none of the group. Never the identity, the
# title, the makers or holdings.
ENRICHABLE_GROUPS = (
    ("020",), ("022",), ("024",), ("041",), ("082",), ("084",), ("250",), ("260", "264"), ("300",),
    ("490", "830"), ("520",), ("600", "610", "611", "630", "648", "650", "651", "655"),
)


def enrichment(target, source):
    """The fields of `source` that `target` lacks (by ENRICHABLE_GROUPS), or []."""
    added = []
    for group in ENRICHABLE_GROUPS:
        if any(tag in target.data for tag in group):
            continue
        added += [marc_field for marc_field in source.fields if marc_field[0] in group]
    return added


def enriched(target, fields):
    """`target` with `fields` added in tag order."""
    merged = list(target.fields)
    for marc_field in fields:
        position = len(merged)
        for index, existing in enumerate(merged):
            if existing[0] > marc_field[0]:
                position = index
                break
        merged.insert(position, marc_field)
    return MarcData.from_fields(target.leader, merged)


def decode_stored(marc):
    """A stored record (ISO 2709, UTF-8) as MarcData."""
    data, _, _ = decode_iso2709(bytes(marc))
    return data


# --- record -> title fields ---------------------------------------------------------

_TRAILING_ISBD = re.compile(r"[\s/:;=,.]+$")
_YEAR = re.compile(r"(1[0-9]{3}|20[0-9]{2})")

# MARC relator codes ($4) in Dutch.
RELATOR_CODES = {
    "aut": "auteur", "cre": "auteur", "ill": "illustrator", "trl": "vertaler", "edt": "redacteur",
    "com": "samensteller", "cmp": "componist", "prf": "uitvoerder", "nrt": "verteller", "drt": "regisseur",
    "act": "acteur", "pht": "fotograaf", "lyr": "tekstschrijver", "arr": "arrangeur", "cnd": "dirigent",
    "sng": "zanger", "voc": "zanger", "aui": "auteur inleiding", "aft": "auteur nawoord", "ctb": "medewerker",
    "pbl": "uitgever", "adp": "bewerker", "ctg": "cartograaf", "dsr": "ontwerper", "cov": "omslagontwerper",
    "art": "kunstenaar", "aus": "scenarist", "pro": "producent", "mus": "musicus", "itr": "musicus",
    "hst": "presentator", "ivr": "interviewer", "ive": "geïnterviewde", "ann": "annotator",
    "cwt": "commentator", "wac": "commentator", "edc": "redacteur", "fmo": "vorige eigenaar", "own": "eigenaar",
    "dte": "opgedragen aan", "ths": "promotor", "dgs": "promotor", "dis": "promovendus", "rev": "recensent",
    "res": "onderzoeker", "spk": "spreker", "tra": "vertaler", "prt": "drukker", "bsl": "boekverkoper",
    "egr": "graveur", "bdd": "bandontwerper", "bnd": "boekbinder", "dnr": "schenker", "lbt": "librettist",
}
# Relator terms ($e; $j of meetings) as catalogues write them, English and Dutch, in Dutch.
RELATOR_TERMS = {
    "author": "auteur", "joint author": "auteur", "writer": "auteur", "auteur": "auteur", "co-auteur": "auteur",
    "creator": "auteur", "schrijver": "auteur",
    "illustrator": "illustrator", "ill": "illustrator", "illustraties": "illustrator", "illustrations": "illustrator",
    "illustr": "illustrator",
    "translator": "vertaler", "tr": "vertaler", "trans": "vertaler", "vert": "vertaler", "vertaler": "vertaler",
    "vertaling": "vertaler",
    "editor": "redacteur", "ed": "redacteur", "eds": "redacteur", "red": "redacteur", "redactie": "redacteur",
    "redacteur": "redacteur", "eindredactie": "redacteur", "editor of compilation": "redacteur",
    "compiler": "samensteller", "comp": "samensteller", "samenst": "samensteller", "samensteller": "samensteller",
    "samenstelling": "samensteller",
    "composer": "componist", "componist": "componist", "muziek": "componist",
    "performer": "uitvoerder", "uitvoerder": "uitvoerder",
    "narrator": "verteller", "verteller": "verteller", "voorgelezen door": "verteller", "reader": "verteller",
    "director": "regisseur", "film director": "regisseur", "regie": "regisseur", "regisseur": "regisseur",
    "actor": "acteur", "acteur": "acteur",
    "photographer": "fotograaf", "fotograaf": "fotograaf", "foto's": "fotograaf", "fotografie": "fotograaf",
    "lyricist": "tekstschrijver", "tekst": "tekstschrijver", "tekstschrijver": "tekstschrijver",
    "arranger": "arrangeur", "arr": "arrangeur", "arrangeur": "arrangeur",
    "conductor": "dirigent", "dirigent": "dirigent",
    "singer": "zanger", "vocalist": "zanger", "zanger": "zanger", "zang": "zanger",
    "author of introduction": "auteur inleiding", "writer of introduction": "auteur inleiding",
    "author of introduction, etc": "auteur inleiding", "inl": "auteur inleiding", "inleiding": "auteur inleiding",
    "writer of afterword": "auteur nawoord", "nawoord": "auteur nawoord",
    "contributor": "medewerker", "medewerker": "medewerker", "medewerking": "medewerker",
    "publisher": "uitgever", "uitgever": "uitgever",
    "adapter": "bewerker", "bew": "bewerker", "bewerker": "bewerker", "bewerking": "bewerker",
    "cartographer": "cartograaf", "designer": "ontwerper", "cover designer": "omslagontwerper",
    "artist": "kunstenaar", "screenwriter": "scenarist", "producer": "producent", "musician": "musicus",
    "instrumentalist": "musicus", "host": "presentator", "interviewer": "interviewer",
    "interviewee": "geïnterviewde", "annotator": "annotator", "commentator": "commentator",
    "commentator for written text": "commentator", "former owner": "vorige eigenaar", "dedicatee": "opgedragen aan",
    "thesis advisor": "promotor", "degree supervisor": "promotor", "speaker": "spreker",
    # Abbreviated and older terms as the Library of Congress and others wrote them.
    "illus": "illustrator", "joint ed": "redacteur", "joint comp": "samensteller", "joint tr": "vertaler",
    "ed. and tr": "redacteur en vertaler", "supposed author": "vermoedelijke auteur", "pub": "uitgever",
    "printer": "drukker", "bookseller": "boekverkoper", "engraver": "graveur", "engr": "graveur",
    "binding designer": "bandontwerper", "binder": "boekbinder", "donor": "schenker", "librettist": "librettist",
}

_AUDIENCE = {**dict.fromkeys("abcdj", Audience.YOUTH), **dict.fromkeys("eg", Audience.ADULT)}
# Record types where 008/22 is the target audience (books, music, visual, computer files).
_AUDIENCE_TYPES = set("atcdijgkormp")


def clean(text):
    """Without the trailing ISBD punctuation of a subfield ('Titel :' -> 'Titel')."""
    return _TRAILING_ISBD.sub("", (text or "").strip())


def _subfields(data, tag, codes):
    """The values of subfields `codes` of every field `tag`, in order."""
    return [value for _, _, subfields in data.data.get(tag, ()) for code, value in subfields if code in codes]


def _first(data, tag, code):
    for value in _subfields(data, tag, code):
        if value.strip():
            return value
    return ""


def material_type(data):
    leader = data.leader
    record_type, level = leader[6:7], leader[7:8]
    fixed = data.control.get("008", "")
    physical = data.control.get("007", "")
    if record_type in ("a", "t"):
        if level == "s":
            return MaterialType.MAGAZINE
        if fixed[23:24] == "d" or physical[:2] == "tb":
            return MaterialType.LARGE_PRINT
        return MaterialType.BOOK
    if record_type == "i":
        return MaterialType.AUDIOBOOK
    if record_type == "j":
        return MaterialType.MUSIC_CD
    if record_type == "g":
        return MaterialType.DVD
    if record_type == "r" or (record_type == "m" and fixed[26:27] == "g"):
        return MaterialType.GAME
    if record_type == "m":
        return MaterialType.ELECTRONIC
    if record_type in ("c", "d"):
        return MaterialType.SHEET_MUSIC
    if record_type in ("e", "f"):
        return MaterialType.MAP
    return MaterialType.OTHER


def audience(data):
    leader = data.leader
    if leader[6:7] not in _AUDIENCE_TYPES or leader[7:8] == "s":
        return Audience.UNKNOWN
    return _AUDIENCE.get(data.control.get("008", "")[22:23], Audience.UNKNOWN)


def language(data):
    code = data.control.get("008", "")[35:38].strip().lower()
    if len(code) == 3 and code.isalpha():
        return code
    value = _first(data, "041", "a").strip().lower()[:3]
    return value if len(value) == 3 and value.isalpha() else ""


def year(data):
    for tag in ("264", "260"):
        for value in _subfields(data, tag, "c"):
            match = _YEAR.search(value)
            if match:
                return int(match.group(1))
    fixed = data.control.get("008", "")[7:11]
    return int(fixed) if fixed.isdigit() and 1000 <= int(fixed) <= 2099 else None


def _relator_key(value):
    return clean(value).strip(" .()[]").lower()


def relator_role(terms, codes):
    """The Dutch role for a maker's relator terms and codes: the first with a Dutch
    mapping; else the first term (or code) as given; '' without any."""
    for term in terms:
        if _relator_key(term) in RELATOR_TERMS:
            return RELATOR_TERMS[_relator_key(term)]
    for code in codes:
        if _relator_key(code) in RELATOR_CODES:
            return RELATOR_CODES[_relator_key(code)]
    for value in terms + codes:
        if clean(value):
            return clean(value)
    return ""


def contributors(data):
    """The makers: 1XX (main entry; 'auteur' unless a relator says otherwise) and
    7XX (added entries: the role their relator gives, else none)."""
    people = []
    for tag in ("100", "110", "111", "700", "710", "711"):
        corporate = tag[1:] == "10"
        term_code = "j" if tag[1:] == "11" else "e"  # meetings have their relator term in $j
        for _, _, subfields in data.data.get(tag, ()):
            name = clean(" ".join(value.strip() for code, value in subfields
                                  if code == "a" or (corporate and code == "b")))
            if not name:
                continue
            role = relator_role([value for code, value in subfields if code == term_code],
                                [value for code, value in subfields if code == "4"])
            if not role and tag[0] == "1":
                role = "auteur"
            if not any(person["name"] == name and person["role"] == role for person in people):
                people.append({"name": name, "role": role})
    return people


def subjects(data):
    found = []
    for tag in ("600", "610", "611", "630", "650", "651", "655"):
        for _, _, subfields in data.data.get(tag, ()):
            heading = next((clean(value) for code, value in subfields if code == "a"), "")
            if not heading:
                continue
            parts = [heading] + [clean(value) for code, value in subfields if code in "xyz" and clean(value)]
            subject = " -- ".join(parts)
            if subject not in found:
                found.append(subject)
    return found


def vernacular(data, tags, codes):
    """The values of subfields `codes` of the 880 fields (text in the original script)
    linked to fields `tags` ($6 '245-01/(N')."""
    values = []
    for _, _, subfields in data.data.get("880", ()):
        link = next((value for code, value in subfields if code == "6"), "")
        if link[:3] in tags:
            values += [clean(value) for code, value in subfields if code in codes and clean(value)]
    return values


def _unique(values):
    return list(dict.fromkeys(value for value in values if value))


def title_fields(record):
    """The Title fields of a pymarc Record (text in Unicode); see title_fields_from."""
    data = MarcData.from_record(record)
    return title_fields_from(data, marc_bytes(data))


def title_fields_from(data, marc):
    """The Title fields of one record: `data` its decoded content, `marc` the
    ISO 2709 bytes (UTF-8) to store. BadRecord when it has no title (245 $a) or
    its control number does not fit."""
    main_title = clean(_first(data, "245", "a"))
    if not main_title:
        raise BadRecord("marc.unimarc_record" if looks_like_unimarc(data) else "marc.title_missing")
    source, control_number = control_identity(data)
    if len(control_number) > CONTROL_NUMBER_MAX or len(source) > CONTROL_NUMBER_MAX:
        raise BadRecord("marc.control_number_too_long", max=CONTROL_NUMBER_MAX)
    people = contributors(data)
    contributors_text = "; ".join(person["name"] for person in people)
    subject_list = subjects(data)
    publisher = clean(_first(data, "264", "b")) or clean(_first(data, "260", "b"))
    subtitle = clean(_first(data, "245", "b"))
    series = clean(_first(data, "490", "a")) or clean(_first(data, "830", "a"))
    vernacular_titles = vernacular(data, ("245",), "a")
    fields = {
        "source": source,
        "control_number": control_number,
        "marc": marc,
        "marc_checksum": hashlib.sha1(marc).hexdigest(),
        "title": main_title,
        "vernacular_title": vernacular_titles[0] if vernacular_titles else "",
        "subtitle": subtitle,
        "responsibility": clean(_first(data, "245", "c")),
        "contributors": people,
        "contributors_text": contributors_text,
        "isbns": _unique(isbn_normalise(value) for value in _subfields(data, "020", "a")),
        "issns": _unique(issn_normalise(value) for value in _subfields(data, "022", "a")),
        "eans": _unique(ean_normalise(value) for ind1, _, subfields in data.data.get("024", ()) if ind1 == "3"
                        for code, value in subfields if code == "a"),
        "publisher": publisher,
        "year": year(data),
        "edition": clean(_first(data, "250", "a")),
        "series": series,
        "language": language(data),
        "material_type": material_type(data),
        "audience": audience(data),
        "subjects": subject_list,
        "subjects_text": "; ".join(subject_list),
    }
    fields.update(search_columns(
        title=main_title,
        vernacular_title=" ".join(vernacular_titles),
        contributors_text=contributors_text,
        # The makers as the original script writes them: linked names, else the statement of responsibility.
        vernacular_contributors=" ".join(vernacular(data, ("100", "110", "111", "700", "710", "711"), "ab")
                                         + vernacular(data, ("245",), "c")),
        subtitle=" ".join([subtitle] + vernacular(data, ("245",), "b") + [clean(value) for value in
                                                                        _subfields(data, "246", "a")]),
        series=series,
        subjects_text=fields["subjects_text"],
    ))
    return fields


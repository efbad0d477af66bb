"""MARC21 in: reading records from a file one at a time, and turning one record
into the fields a catalogue Title keeps.

Nothing here touches the database. `read_records` yields, for every record in
a file, either the record (its fields decoded to Unicode, and the ISO 2709
bytes in UTF-8 that the catalogue stores) or the reason it cannot be used, with
its position in the file. `title_fields_from` maps a good record onto Title's
fields; `title_fields` does the same for a pymarc Record.

UTF-8 ISO 2709 records, what national feeds deliver, are decoded here directly
(checked field by field, with strict UTF-8) and stored as they came: that is
several times faster than building pymarc Records, and an import must keep up
with files of hundreds of thousands of records. MARC-8 records (leader/09
blank) are converted by pymarc (to_unicode) and stored as UTF-8 with
leader/09 'a'; MARCXML is read by pymarc's SAX handler, streamed.
"""

import hashlib
import logging
import re
import xml.sax
from collections import deque
from dataclasses import dataclass, field
from xml.sax.handler import feature_external_ges, feature_namespaces

from pymarc import Record
from pymarc.leader import Leader
from pymarc.marc8 import MARC8ToUnicode
from pymarc.marcxml import XmlHandler

from .models import Audience, MarcFormat, MaterialType
from .normalise import ean_normalise, fold, isbn_normalise

logger = logging.getLogger(__name__)

END_OF_RECORD = 0x1D
END_OF_FIELD = 0x1E
SUBFIELD_DELIMITER = 0x1F
_READ_SIZE = 1 << 16
MARC_XML_NS = "http://www.loc.gov/MARC21/slim"
_TAG = re.compile(r"^[0-9A-Za-z]{3}$")
_DIRECTORY = re.compile(rb"(?:[0-9A-Za-z]{3}[0-9]{9})+")
_DIRECTORY_ENTRY = re.compile(rb"[0-9A-Za-z]{3}[0-9]{9}")
CONTROL_NUMBER_MAX = 64


class BadRecord(Exception):
    """A record that cannot be imported; the message (Dutch) says why."""


@dataclass
class MarcData:
    """A record's content, decoded: the leader, the control fields (first value
    per tag) and the data fields per tag as (ind1, ind2, [(code, value), ...])."""

    leader: str
    control: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)

    @classmethod
    def from_record(cls, record):
        """From a pymarc Record (its text already in Unicode)."""
        result = cls(str(record.leader))
        for marc_field in record.fields:
            if marc_field.is_control_field():
                result.control.setdefault(marc_field.tag, marc_field.data or "")
            else:
                result.data.setdefault(marc_field.tag, []).append(
                    (marc_field.indicator1, marc_field.indicator2,
                     [(subfield.code, subfield.value) for subfield in marc_field.subfields])
                )
        return result


@dataclass
class ReadResult:
    """One record read from a file: `data` and `marc` set, or `problem` saying why not."""

    number: int  # 1-based position of the record in the file
    data: MarcData | None = None
    marc: bytes = b""  # the record as the catalogue stores it: ISO 2709, UTF-8
    problem: str = ""
    byte_offset: int | None = None  # ISO 2709: where the record starts
    line: int | None = None  # MARCXML: line of <record>
    next_offset: int | None = None  # ISO 2709: where the next record starts
    control_number: str = ""

    @property
    def ok(self):
        return self.data is not None


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


def _from_pymarc(record, *, number, line=None, byte_offset=None, next_offset=None):
    """A ReadResult for a pymarc Record, stored as UTF-8 ISO 2709 (leader/09 'a')."""
    try:
        marc = record.as_marc()
    except Exception as error:
        return ReadResult(number, problem=f"record kan niet als MARC21 worden opgeslagen: {error}", line=line,
                          byte_offset=byte_offset, next_offset=next_offset)
    return ReadResult(number, data=MarcData.from_record(record), marc=marc, line=line, byte_offset=byte_offset,
                      next_offset=next_offset)


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
        # Skip the line breaks some tools put between records.
        head = buffer.read(1)
        while head in (b"\n", b"\r"):
            head = buffer.read(1)
        if not head:
            return
        buffer.unread(head)
        number += 1
        offset = buffer.offset
        head = buffer.read(5)
        if len(head) < 5 or not head.isdigit():
            reason = (
                "afgebroken record aan het eind van het bestand" if len(head) < 5
                else f"kapotte leader: recordlengte (leader/00-04) is geen getal ({_show(head)})"
            )
            buffer.unread(head)
            buffer.skip_past_terminator()
            yield ReadResult(number, problem=reason, byte_offset=offset, next_offset=buffer.offset)
            continue
        length = int(head)
        if length < 25:
            buffer.unread(head)
            buffer.skip_past_terminator()
            yield ReadResult(number, problem=f"kapotte leader: recordlengte {length} is te klein",
                             byte_offset=offset, next_offset=buffer.offset)
            continue
        chunk = head + buffer.read(length - 5)
        if len(chunk) < length or chunk[-1] != END_OF_RECORD:
            # The length is wrong, or the file ends: the record ends at its terminator.
            terminator = chunk.find(bytes([END_OF_RECORD]))
            if terminator >= 0:
                buffer.unread(chunk[terminator + 1:])
                problem = (f"afgebroken of kapot record: de leader noemt {length} bytes, "
                           f"maar het record eindigt na {terminator + 1} bytes")
            elif len(chunk) < length:
                problem = f"afgebroken record: de leader noemt {length} bytes, het bestand heeft er nog {len(chunk)}"
            else:
                buffer.skip_past_terminator()
                problem = f"kapotte leader: recordlengte {length} klopt niet (geen recordeinde op die plek)"
            yield ReadResult(number, problem=problem, byte_offset=offset, next_offset=buffer.offset,
                             control_number=_control_number_guess(chunk))
            continue
        try:
            data, marc = decode_iso2709(chunk)
        except BadRecord as error:
            yield ReadResult(number, problem=str(error), byte_offset=offset, next_offset=buffer.offset,
                             control_number=_control_number_guess(chunk))
            continue
        except Exception as error:  # one record must not stop the file
            logger.exception("MARC record %s at byte %s could not be decoded", number, offset)
            yield ReadResult(number, problem=f"onleesbaar record: {error.__class__.__name__}", byte_offset=offset,
                             next_offset=buffer.offset, control_number=_control_number_guess(chunk))
            continue
        yield ReadResult(number, data=data, marc=marc, byte_offset=offset, next_offset=buffer.offset)


def decode_iso2709(chunk):
    """One ISO 2709 record (bytes, ending in the record terminator) as
    (MarcData, the bytes to store); BadRecord when its leader, directory or
    text encoding is broken."""
    try:
        leader = chunk[:24].decode("ascii")
    except UnicodeDecodeError:
        raise BadRecord("kapotte leader: bevat tekens die geen ASCII zijn") from None
    if not leader[12:17].isdigit():
        raise BadRecord(f"kapotte leader: basisadres (leader/12-16) is geen getal ({leader[12:17]!r})")
    base_address = int(leader[12:17])
    if base_address < 25 or base_address >= len(chunk):
        raise BadRecord(f"kapotte leader: basisadres {base_address} ligt buiten het record ({len(chunk)} bytes)")
    if leader[9] not in " a":
        raise BadRecord(f"onbekende tekencodering in leader/09 ({leader[9]!r}): alleen MARC-8 (spatie) of UTF-8 (a)")
    if chunk[base_address - 1] != END_OF_FIELD:
        raise BadRecord("kapotte directory: geen veldeinde vóór het basisadres")
    directory = chunk[24:base_address - 1]
    if not directory:
        raise BadRecord("geen velden: de directory is leeg")
    if len(directory) % 12:
        raise BadRecord(f"kapotte directory: lengte {len(directory)} is geen veelvoud van 12")
    if not _DIRECTORY.fullmatch(directory):
        for start in range(0, len(directory), 12):
            if not _DIRECTORY_ENTRY.fullmatch(directory[start:start + 12]):
                raise BadRecord(
                    f"kapotte directory: ongeldige ingang {_show(directory[start:start + 12])} (nummer {start // 12 + 1})"
                )
    utf8 = leader[9] == "a"
    result = MarcData(leader)
    control, data = result.control, result.data
    record_end = len(chunk) - 1
    for start in range(0, len(directory), 12):
        tag = directory[start:start + 3].decode("ascii")
        begin = base_address + int(directory[start + 7:start + 12])
        end = begin + int(directory[start + 3:start + 7])
        if end <= begin or end > record_end:
            raise BadRecord(f"kapotte directory: veld {tag} valt buiten het record")
        value = chunk[begin:end - 1]
        if chunk[end - 1] != END_OF_FIELD or END_OF_FIELD in value or END_OF_RECORD in value:
            raise BadRecord(f"kapotte directory: veld {tag} begint of eindigt niet waar de directory zegt")
        if tag < "010" and tag.isdigit():
            if SUBFIELD_DELIMITER in value:
                raise BadRecord(f"kapotte directory: controleveld {tag} bevat subvelden")
            if utf8:
                control.setdefault(tag, _utf8(value, tag))
            continue
        indicators, _, rest = value.partition(b"\x1f")
        if len(indicators) != 2 or not (32 <= indicators[0] < 127 and 32 <= indicators[1] < 127):
            raise BadRecord(f"kapotte directory of indicatoren in veld {tag} ({_show(indicators)})")
        subfields = []
        if rest:
            for subfield in rest.split(b"\x1f"):
                if not subfield or not 33 <= subfield[0] < 127:
                    raise BadRecord(f"ongeldige subveldcode in veld {tag}")
                code = chr(subfield[0])
                if utf8:
                    subfields.append((code, _utf8(subfield[1:], tag, code)))
                elif b"\x1b" in subfield or not subfield.isascii():
                    _check_marc8(tag, code, subfield[1:])
        if utf8:
            data.setdefault(tag, []).append((chr(indicators[0]), chr(indicators[1]), subfields))
    if utf8:
        return result, chunk
    # MARC-8: checked above, converted by pymarc.
    try:
        record = Record(chunk, to_unicode=True, hide_utf8_warnings=True)
        return MarcData.from_record(record), record.as_marc()
    except Exception as error:
        raise BadRecord(f"onleesbaar record: {error.__class__.__name__} {error}".strip()) from None


def _utf8(raw, tag, code=None):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        where = f"veld {tag} ${code}" if code else f"veld {tag}"
        raise BadRecord(f"ongeldige tekencodering (UTF-8) in {where}: {error.reason}") from None


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


def _check_marc8(tag, code, value):
    try:
        _StrictMarc8ToUnicode().translate(value)
    except (UnicodeError, IndexError, TypeError, KeyError):
        raise BadRecord(f"ongeldige tekencodering (MARC-8) in veld {tag} ${code}") from None


def _control_number_guess(chunk):
    """The 001 of a broken record when it can still be found, for the log."""
    match = re.search(rb"\x1e([^\x1e\x1f\x1d]{1,64})\x1e", chunk[:4096])
    if match and chunk[24:27] == b"001":
        return match.group(1).decode("latin-1").strip()
    return ""


def _show(raw):
    return repr(raw.decode("latin-1")) if isinstance(raw, bytes) else repr(raw)


# --- MARCXML ------------------------------------------------------------------------


class _StreamingHandler(XmlHandler):
    """pymarc's SAX handler, handing each record over as soon as its </record>
    is read, with its line number; a record that pymarc cannot build (a broken
    leader, a bad tag) becomes a problem instead of stopping the file. Elements
    in the MARC21 slim namespace (or in none) count; others are passed over."""

    def __init__(self):
        super().__init__(strict=False)
        self.ready = deque()
        self.number = 0
        self._locator = None
        self._line = None
        self._broken = ""

    def setDocumentLocator(self, locator):
        self._locator = locator

    def startElementNS(self, name, qname, attrs):
        if name[0] not in (MARC_XML_NS, None):  # e.g. an OAI-PMH envelope around the records
            return
        name = (MARC_XML_NS, name[1])
        if name == (MARC_XML_NS, "record"):
            self.number += 1
            self._line = self._locator.getLineNumber() if self._locator else None
            self._broken = ""
        if self._broken:
            return
        try:
            if name[0] == MARC_XML_NS and name[1] in ("controlfield", "datafield"):
                tag = attrs.get((None, "tag"), "")
                if not _TAG.match(tag):
                    raise BadRecord(f"ongeldig veldlabel {tag!r}")
                if name[1] == "datafield":
                    for indicator in ("ind1", "ind2"):
                        value = attrs.get((None, indicator), " ")
                        if len(value) != 1:
                            raise BadRecord(f"ongeldige indicator {value!r} in veld {tag}")
            elif name == (MARC_XML_NS, "subfield"):
                code = attrs.get((None, "code"), "")
                if len(code) != 1:
                    raise BadRecord(f"ongeldige subveldcode {code!r}")
            super().startElementNS(name, qname, attrs)
        except BadRecord as error:
            self._broken = str(error)
        except Exception as error:
            self._broken = f"onleesbaar record: {error}"

    def endElementNS(self, name, qname):
        if name[0] not in (MARC_XML_NS, None):
            return
        name = (MARC_XML_NS, name[1])
        if name == (MARC_XML_NS, "record"):
            if self._broken or self._record is None:
                self.ready.append(ReadResult(self.number, problem=self._broken or "leeg record", line=self._line))
            else:
                self.ready.append(_from_pymarc(self._record, number=self.number, line=self._line))
            self._record = None
            self._field = None
            self._broken = ""
            self._text = []
            return
        if self._broken:
            self._text = []
            return
        try:
            if name == (MARC_XML_NS, "leader"):
                text = "".join(self._text)
                if len(text) != 24:
                    raise BadRecord(f"kapotte leader: {len(text)} tekens in plaats van 24 ({text!r})")
                self._record.leader = Leader(text) if self._record else None
                self._text = []
                return
            super().endElementNS(name, qname)
        except BadRecord as error:
            self._broken = str(error)
        except Exception as error:
            self._broken = f"onleesbaar record: {error}"



def _read_marcxml(stream):
    handler = _StreamingHandler()
    parser = xml.sax.make_parser()
    parser.setFeature(feature_namespaces, True)
    parser.setFeature(feature_external_ges, False)
    parser.setContentHandler(handler)
    # parse() hands the handler a locator, feed() does not; the expat parser is one itself.
    handler.setDocumentLocator(parser)
    try:
        while block := stream.read(_READ_SIZE):
            parser.feed(block)
            while handler.ready:
                yield handler.ready.popleft()
        parser.close()
    except xml.sax.SAXParseException as error:
        while handler.ready:
            yield handler.ready.popleft()
        in_record = handler._record is not None or bool(handler._broken)
        yield ReadResult(
            handler.number if in_record else handler.number + 1,
            problem=f"ongeldige XML op regel {error.getLineNumber()}, kolom {error.getColumnNumber()}: "
                    f"{error.getMessage()}; de rest van het bestand is niet gelezen",
            line=error.getLineNumber(),
        )
        return
    while handler.ready:
        yield handler.ready.popleft()


# --- record -> title fields ---------------------------------------------------------

_TRAILING_ISBD = re.compile(r"[\s/:;=,.]+$")
_YEAR = re.compile(r"(1[0-9]{3}|20[0-9]{2})")
_ISSN = re.compile(r"([0-9]{4})-?([0-9]{3}[0-9Xx])")

# MARC relator codes ($4) in Dutch, for the roles the libraries show.
RELATOR_CODES = {
    "aut": "auteur",
    "cre": "auteur",
    "ill": "illustrator",
    "trl": "vertaler",
    "edt": "redacteur",
    "com": "samensteller",
    "cmp": "componist",
    "prf": "uitvoerder",
    "nrt": "verteller",
    "drt": "regisseur",
    "act": "acteur",
    "pht": "fotograaf",
    "lyr": "tekstschrijver",
    "arr": "arrangeur",
    "cnd": "dirigent",
    "sng": "zanger",
    "aui": "auteur inleiding",
    "ctb": "medewerker",
    "pbl": "uitgever",
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


def contributors(data):
    people = []
    for tag in ("100", "110", "111", "700", "710", "711"):
        corporate = tag[1:] == "10"
        for _, _, subfields in data.data.get(tag, ()):
            name = clean(" ".join(value.strip() for code, value in subfields
                                  if code == "a" or (corporate and code == "b")))
            if not name:
                continue
            terms = [clean(value) for code, value in subfields if code == "e" and clean(value)]
            codes = [RELATOR_CODES.get(clean(value).lower(), clean(value).lower())
                     for code, value in subfields if code == "4" and clean(value)]
            role = (terms or codes or ["auteur"])[0]
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


def _unique(values):
    return list(dict.fromkeys(value for value in values if value))


def issn_normalise(value):
    """'1234-567X' when `value` holds an ISSN with a valid check digit, else None."""
    match = _ISSN.search(value or "")
    if not match:
        return None
    digits = (match.group(1) + match.group(2)).upper()
    total = sum((8 - index) * int(char) for index, char in enumerate(digits[:7]))
    check = (11 - total % 11) % 11
    if digits[7] != ("X" if check == 10 else str(check)):
        return None
    return f"{digits[:4]}-{digits[4:]}"


def control_identity(data):
    """(source, control number): 003 and 001, stripped."""
    return data.control.get("003", "").strip(), data.control.get("001", "").strip()


def title_fields(record):
    """The Title fields of a pymarc Record (text in Unicode); see title_fields_from."""
    try:
        marc = record.as_marc()
    except Exception as error:
        raise BadRecord(f"record kan niet als MARC21 worden opgeslagen: {error}") from None
    return title_fields_from(MarcData.from_record(record), marc)


def title_fields_from(data, marc):
    """The Title fields of one record: `data` its decoded content, `marc` the
    ISO 2709 bytes (UTF-8) to store. BadRecord when it has no title (245 $a) or
    its control number does not fit."""
    main_title = clean(_first(data, "245", "a"))
    if not main_title:
        raise BadRecord("titel ontbreekt (245 $a)")
    source, control_number = control_identity(data)
    if len(control_number) > CONTROL_NUMBER_MAX or len(source) > CONTROL_NUMBER_MAX:
        raise BadRecord(f"controlenummer of bron langer dan {CONTROL_NUMBER_MAX} tekens")
    people = contributors(data)
    contributors_text = "; ".join(person["name"] for person in people)
    subject_list = subjects(data)
    publisher = clean(_first(data, "264", "b")) or clean(_first(data, "260", "b"))
    return {
        "source": source,
        "control_number": control_number,
        "marc": marc,
        "marc_checksum": hashlib.sha1(marc).hexdigest(),
        "title": main_title,
        "subtitle": clean(_first(data, "245", "b")),
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
        "series": clean(_first(data, "490", "a")) or clean(_first(data, "830", "a")),
        "language": language(data),
        "material_type": material_type(data),
        "audience": audience(data),
        "subjects": subject_list,
        "subjects_text": "; ".join(subject_list),
        "title_folded": fold(main_title),
        "contributors_folded": fold(contributors_text),
    }

"""EDIFACT messages of the EDItEUR library profile: ORDERS (to a supplier),
ORDRSP and INVOIC (from a supplier).

pydifact does the syntax (UNA service characters, escaping, segments and
elements); the segments of the EDItEUR messages are ours. Reading is strict:
the interchange envelope (UNB/UNZ), each message's UNH/UNT with its segment
count, the message type and the segments LSB needs are checked, and the first
problem is refused with the segment's position in the file (1 = the first
segment after UNA) and its tag. Nothing here touches the database: the
services (ordering.services.edi) turn a parsed document into changes, all or
nothing.

The EDItEUR segments used (library profile, EANCOM D96A):

ORDERS  UNH ORDERS:D:96A:UN:EAN008, BGM+220+<order number>+9, DTM+137 (date),
        NAD+BY / NAD+SU (buyer and supplier codes), CUX+2:EUR:9, and per line
        LIN+n++<EAN-13>:EN, PIA+5+<ISBN>:IB, IMD+L+050/009/109/170 (title,
        author, publisher, year), QTY+21 (ordered), GIR per branch
        (LQT quantity, LLO branch, LFN fund, LSQ shelf location, LST item type),
        PRI+AAE (price incl. VAT), RFF+LI (our line reference), then UNS+S, CNT+2.
ORDRSP  BGM+231, per line LIN+n+<action> (2 cancelled, 3 changed, 5 accepted,
        24 accepted with a change notified, 10 not found), QTY+21/83/12
        (ordered/back-ordered/to be sent), DTM+44 (available on), FTX+LIN
        (EDItEUR code lists 8B and 12B), PRI+AAE, RFF+LI.
INVOIC  BGM+380 (invoice) <invoice number>, DTM+137, per line QTY+47
        (invoiced), GIR (LAC barcode, LLO branch: shelf-ready copies), MOA+203
        (line amount excl. VAT), TAX+7+VAT (+ MOA+124 tax), RFF+LI; after UNS+S
        MOA+9 (amount due) or MOA+77/79/129 + MOA+124.
"""

import datetime
import logging
import re
import warnings
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.translation import gettext as _
from pydifact.control import Characters
from pydifact.exceptions import EDISyntaxError
from pydifact.parser import Parser
from pydifact.segmentcollection import Interchange, Message
from pydifact.segments import Segment

from core.errors import ServiceError
from core.money import MAX_AMOUNT_CENTS

# pydifact logs every UNB it reads at INFO.
logging.getLogger("pydifact").setLevel(logging.WARNING)

# EDItEUR: UNA:+.? '  (component :, element +, decimal point ., release ?, segment ')
CHARACTERS = Characters(decimal_point=".")
SYNTAX = ("UNOC", 3)
ORDERS_ID = ["ORDERS", "D", "96A", "UN", "EAN008"]

# LIN 1229 in an order response.
ACTION_CANCELLED = "2"
ACTION_CHANGED = "3"
ACTION_NO_ACTION = "4"
ACTION_ACCEPTED = "5"
ACTION_NOT_FOUND = "10"
ACTION_RECORDED = "24"
ACTIONS = {ACTION_CANCELLED, ACTION_CHANGED, ACTION_NO_ACTION, ACTION_ACCEPTED, ACTION_NOT_FOUND,
           ACTION_RECORDED}

# EDItEUR code list 8B (availability) and 12B (order line status), as the desk reads them.
CODE_LIST_8B = {
    "AB": "Uitgave vervallen", "AD": "Direct bij de uitgever bestellen", "CS": "Status onzeker",
    "IB": "Op voorraad", "IP": "Leverbaar bij de uitgever", "MD": "Print on demand",
    "NK": "Titel onbekend", "NN": "Wordt niet door ons geleverd", "NP": "Nog niet verschenen",
    "NQ": "Niet op voorraad", "NS": "Niet los verkrijgbaar", "OB": "Tijdelijk niet op voorraad",
    "OF": "Deze uitvoering uitverkocht, andere leverbaar", "OP": "Uitverkocht",
    "OR": "Uitverkocht, nieuwe druk verwacht", "RE": "Wacht op herdruk", "RP": "Wordt herdrukt",
    "RR": "Geen rechten voor deze markt", "TO": "Alleen op bestelling", "TU": "Tijdelijk niet leverbaar",
    "UB": "Niet te verkrijgen", "UC": "Niet leverbaar, herdruk wordt overwogen",
}
CODE_LIST_12B = {
    "100": "Regel geaccepteerd", "110": "Geaccepteerd, vervangend product wordt geleverd",
    "200": "Regel niet geaccepteerd", "220": "Openstaande regel geannuleerd",
    "221": "Geannuleerd: vervaldatum bestelling verstreken", "222": "Geannuleerd op verzoek van de klant",
    "223": "Geannuleerd: kan niet leveren", "400": "In nalevering", "401": "Besteld bij onze leverancier",
    "402": "Besteld in het buitenland", "404": "Onderweg van onze leverancier",
    "800": "Regel al verzonden", "900": "Regel niet te vinden", "902": "Vertraging: let op de leverdatum",
    "903": "Prijswijziging",
}


@dataclass
class EdiLine:
    """One LIN group of an order response or an invoice."""

    segment: int  # position of the LIN segment
    number: str
    action: str = ""
    ean: str = ""
    reference: str = ""
    reference_segment: int = 0
    quantities: dict = field(default_factory=dict)  # QTY qualifier -> int
    available_on: datetime.date | None = None
    status_code: str = ""
    status_list: str = ""
    status_text: str = ""
    prices: dict = field(default_factory=dict)  # PRI qualifier -> cents
    amounts: dict = field(default_factory=dict)  # MOA qualifier -> cents
    tax_rate_bp: int | None = None
    copies: list = field(default_factory=list)  # GIR: [{"segment": n, "LAC": barcode, "LLO": branch, ...}]
    title: str = ""
    author: str = ""

    @property
    def status_description(self):
        table = CODE_LIST_12B if self.status_list == "12B" else CODE_LIST_8B
        return table.get(self.status_code, self.status_code)


@dataclass
class EdiDocument:
    """One message (UNH..UNT)."""

    kind: str
    segment: int  # position of UNH
    reference: str
    document_number: str = ""
    document_date: datetime.date | None = None
    buyer_id: str = ""
    supplier_id: str = ""
    supplier_segment: int = 0
    currency: str = ""
    currency_segment: int = 0
    order_number: str = ""
    lines: list = field(default_factory=list)
    totals: dict = field(default_factory=dict)  # MOA after UNS -> cents
    line_count: int | None = None


@dataclass
class EdiInterchange:
    sender: str
    recipient: str
    control_reference: str
    documents: list


# --- writing -----------------------------------------------------------------------


def _chunks(text, size=35):
    text = " ".join((text or "").split())
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def _imd(code, text):
    """IMD+L+<code>+:::<text> in 35-character components, two per segment."""
    chunks = _chunks(text)
    return [Segment("IMD", "L", code, ["", "", "", *chunks[i:i + 2]]) for i in range(0, len(chunks), 2)]


def cents_text(cents):
    """1250 -> '12.50' (EDIFACT decimal point '.')."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(int(cents)), 100)
    return f"{sign}{whole}.{rest:02d}"


@dataclass
class OrderLineOut:
    reference: str
    ean: str
    title: str
    author: str
    publisher: str
    year: str
    quantity: int
    price_cents: int
    copies: list  # [(branch code, quantity, fund code, shelf location, item type)]


def orders_interchange(*, order_number, buyer_id, buyer_qualifier, supplier_id, supplier_qualifier, lines,
                       control_reference, message_reference, now, note="", account_number="",
                       delivery_location=""):
    """The ORDERS interchange of one order, as text (one segment per line). `account_number`
    (the library's customer number at the supplier) goes in the buyer's reference RFF+API and
    `delivery_location` (a GLN or SAN of the supplier's kind of code) in NAD+DP, as the EDItEUR
    library profile has them; either is left out when empty."""
    interchange = Interchange(
        sender=[buyer_id, buyer_qualifier], recipient=[supplier_id, supplier_qualifier],
        control_reference=control_reference, syntax_identifier=SYNTAX, timestamp=now,
        extra_header_elements=["", "ORDERS"], characters=CHARACTERS,
    )
    interchange.has_una_segment = True
    message = Message(message_reference, ORDERS_ID, characters=CHARACTERS)
    agency = "31B" if buyer_qualifier == "31B" else "9"
    supplier_agency = "31B" if supplier_qualifier == "31B" else "9"
    segments = [
        Segment("BGM", "220", order_number, "9"),
        Segment("DTM", ["137", f"{now:%Y%m%d}", "102"]),
        Segment("NAD", "BY", [buyer_id, "", agency]),
    ]
    if account_number:
        # The reference group of NAD+BY: the buyer's own number in the supplier's books.
        segments.append(Segment("RFF", ["API", account_number]))
    segments.append(Segment("NAD", "SU", [supplier_id, "", supplier_agency]))
    if delivery_location:
        segments.append(Segment("NAD", "DP", [delivery_location, "", supplier_agency]))
    segments.append(Segment("CUX", ["2", "EUR", "9"]))
    if note.strip():
        segments.append(Segment("FTX", "GEN", "", "", _chunks(note, 70)[:5]))
    for number, line in enumerate(lines, start=1):
        segments.append(Segment("LIN", str(number), "", [line.ean, "EN"]) if line.ean else Segment("LIN", str(number)))
        if line.ean:
            segments.append(Segment("PIA", "5", [line.ean, "IB"]))
        segments += _imd("050", line.title)
        if line.author:
            segments += _imd("009", line.author)
        if line.publisher:
            segments += _imd("109", line.publisher)
        if line.year:
            segments += _imd("170", line.year)
        segments.append(Segment("QTY", ["21", str(line.quantity)]))
        for sequence, (branch_code, quantity, fund_code, shelf, item_type) in enumerate(line.copies, start=1):
            elements = [[str(quantity), "LQT"], [branch_code, "LLO"], [fund_code, "LFN"]]
            if shelf:
                elements.append([shelf[:35], "LSQ"])
            if item_type:
                elements.append([item_type, "LST"])
            segments.append(Segment("GIR", f"{sequence:03d}", *elements))
        segments.append(Segment("PRI", ["AAE", cents_text(line.price_cents), "CA"]))
        segments.append(Segment("RFF", ["LI", line.reference]))
    segments += [Segment("UNS", "S"), Segment("CNT", ["2", str(len(lines))])]
    message.add_segments(segments)
    interchange.add_message(message)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return interchange.serialize(break_lines=True)


# --- reading -----------------------------------------------------------------------


class _Refuse(Exception):
    pass


def _refuse(code, **params):
    return ServiceError(code, **params)


def _value(element, index=0):
    if isinstance(element, list):
        return (element[index] if index < len(element) else "") or ""
    return (element or "") if index == 0 else ""


def _el(segment, position, index=0):
    elements = segment.elements
    if position >= len(elements):
        return ""
    return _value(elements[position], index).strip()


# ASCII digits only: Decimal() and strptime also read Arabic-Indic and full-width
# digits, and '١٢.٥٠' must not be booked as EUR 12.50 (issue 14, finding 11).
_DECIMAL = re.compile(r"[0-9]{1,12}(?:[.,][0-9]{1,6})?")
_WHOLE = re.compile(r"[0-9]{1,7}(?:\.0+)?")
_YYYYMMDD = re.compile(r"[0-9]{8}")
# A supplier's message speaks of orders, deliveries and invoices of its own era (EDIFACT
# D96A messages from the 1990s are still read: the real Koha sample is of 1997).
_EARLIEST_DATE = datetime.date(1980, 1, 1)
_FUTURE_DAYS = 5 * 366


def _amount(text, number, tag, what, maximum_cents=MAX_AMOUNT_CENTS):
    """'12.50', '35.260', '7,4' -> cents (rounded half up), at most `maximum_cents`
    (one line's price or amount: the app-wide cap); refuses anything else."""
    if not isinstance(text, str) or not _DECIMAL.fullmatch(text):
        raise _refuse("edifact.bad_value", segment=number, tag=tag, value=text, what=what)
    cents = int((Decimal(text.replace(",", ".")) * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    if cents > maximum_cents:
        raise _refuse("edifact.bad_value", segment=number, tag=tag, value=text, what=what)
    return cents


def _integer(text, number, tag, what):
    if not isinstance(text, str) or not _WHOLE.fullmatch(text):
        raise _refuse("edifact.bad_value", segment=number, tag=tag, value=text, what=what)
    return int(Decimal(text))


def _date(text, number, tag, fmt="102"):
    if fmt not in ("102", ""):
        raise _refuse("edifact.bad_value", segment=number, tag=tag, value=f"{text}:{fmt}", what=_("datum"))
    try:
        if not _YYYYMMDD.fullmatch(text):
            raise ValueError(text)
        value = datetime.datetime.strptime(text, "%Y%m%d").date()
    except (TypeError, ValueError):
        raise _refuse("edifact.bad_value", segment=number, tag=tag, value=text, what=_("datum")) from None
    if not _EARLIEST_DATE <= value <= datetime.date.today() + datetime.timedelta(days=_FUTURE_DAYS):
        raise _refuse("edifact.bad_value", segment=number, tag=tag, value=text, what=_("datum"))
    return value


def _parse_segments(text):
    """[(position, Segment)] of the whole file, UNA left out; syntax errors refused."""
    if not isinstance(text, str):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            text = text.decode("iso8859-1")
    text = text.lstrip("\ufeff").strip()
    if not text:
        raise _refuse("edifact.empty")
    if not text.startswith(("UNA", "UNB")):
        raise _refuse("edifact.syntax", segment=1, reason=_("het bestand begint niet met UNA of UNB"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            segments = [segment for segment in Parser(characters=CHARACTERS).parse(text) if segment.tag != "UNA"]
    except (EDISyntaxError, ValueError, IndexError, StopIteration) as error:
        where = re.search(r"line (\d+), column (\d+)", str(error))
        reason = (_("ongeldige opbouw bij regel %(line)s, kolom %(column)s")
                  % {"line": where.group(1), "column": where.group(2)}) if where else _("ongeldige opbouw")
        raise _refuse("edifact.syntax", segment="?", reason=reason) from None
    for position, segment in enumerate(segments, start=1):
        if not re.fullmatch(r"[A-Z]{3}", segment.tag or ""):
            raise _refuse("edifact.syntax", segment=position,
                          reason=_("'%(tag)s' is geen segmentcode") % {"tag": (segment.tag or "")[:20]})
    return list(enumerate(segments, start=1))


def read_interchange(text, *, expected):
    """Parse a supplier's interchange whose messages are all of type `expected`
    ('ORDRSP' or 'INVOIC'). Returns EdiInterchange; refuses (ServiceError) with the
    segment and the reason at the first problem."""
    numbered = _parse_segments(text)
    number, unb = numbered[0]
    if unb.tag != "UNB":
        raise _refuse("edifact.segment_missing", message="UNB", tag="UNB")
    if _el(unb, 0, 0) not in ("UNOA", "UNOB", "UNOC", "UNOD", "UNOE", "UNOF", "UNOW", "UNOY"):
        raise _refuse("edifact.bad_value", segment=number, tag="UNB", value=_el(unb, 0, 0),
                      what=_("tekenset"))
    last_number, unz = numbered[-1]
    if unz.tag != "UNZ":
        raise _refuse("edifact.segment_missing", message="UNB", tag="UNZ")
    control_reference = _el(unb, 4)
    if _el(unz, 1) != control_reference:
        raise _refuse("edifact.bad_value", segment=last_number, tag="UNZ", value=_el(unz, 1),
                      what=_("verwijzing naar UNB"))
    documents = []
    current = None
    for number, segment in numbered[1:-1]:
        if segment.tag == "UNH":
            if current is not None:
                raise _refuse("edifact.segment_missing", message=current[0].reference, tag="UNT")
            kind = _el(segment, 1, 0)
            if kind != expected:
                raise _refuse("edifact.unknown_type", kind=kind or "?", segment=number, expected=expected)
            current = (EdiDocument(kind=kind, segment=number, reference=_el(segment, 0)), [])
        elif segment.tag == "UNT":
            if current is None:
                raise _refuse("edifact.refused", segment=number, tag="UNT", reason=_("UNT zonder UNH."))
            document, body = current
            count = _integer(_el(segment, 0), number, "UNT", _("aantal segmenten"))
            if count != len(body) + 2:
                raise _refuse("edifact.refused", segment=number, tag="UNT", reason=_(
                    "het bericht telt %(actual)s segmenten, UNT noemt er %(count)s.") % {
                        "actual": len(body) + 2, "count": count})
            if _el(segment, 1) != document.reference:
                raise _refuse("edifact.bad_value", segment=number, tag="UNT", value=_el(segment, 1),
                              what=_("verwijzing naar UNH"))
            documents.append(_read_document(document, body))
            current = None
        elif current is None:
            raise _refuse("edifact.refused", segment=number, tag=segment.tag,
                          reason=_("segment buiten een bericht (UNH..UNT)."))
        else:
            current[1].append((number, segment))
    if current is not None:
        raise _refuse("edifact.segment_missing", message=current[0].reference, tag="UNT")
    if not documents:
        raise _refuse("edifact.segment_missing", message=control_reference or "?", tag="UNH")
    declared = _integer(_el(unz, 0), last_number, "UNZ", _("aantal berichten"))
    if declared != len(documents):
        raise _refuse("edifact.refused", segment=last_number, tag="UNZ", reason=_(
            "het bestand bevat %(actual)s berichten, UNZ noemt er %(count)s.") % {
                "actual": len(documents), "count": declared})
    return EdiInterchange(sender=_el(unb, 1, 0), recipient=_el(unb, 2, 0), control_reference=control_reference,
                          documents=documents)


def _read_document(document, body):
    line = None
    summary = False
    for number, segment in body:
        tag = segment.tag
        if tag == "UNS":
            summary = True
            line = None
        elif tag == "BGM" and line is None and not summary:
            document.document_number = _el(segment, 1)
        elif tag == "DTM" and line is None and not summary:
            if _el(segment, 0, 0) == "137":
                document.document_date = _date(_el(segment, 0, 1), number, tag, _el(segment, 0, 2))
        elif tag == "NAD" and line is None:
            if _el(segment, 0) == "SU":
                document.supplier_id, document.supplier_segment = _el(segment, 1, 0), number
            elif _el(segment, 0) == "BY":
                document.buyer_id = _el(segment, 1, 0)
        elif tag == "CUX" and line is None:
            document.currency, document.currency_segment = _el(segment, 0, 1), number
        elif tag == "RFF" and line is None and _el(segment, 0, 0) == "ON":
            document.order_number = _el(segment, 0, 1)
        elif tag == "LIN":
            line = EdiLine(segment=number, number=_el(segment, 0), action=_el(segment, 1),
                           ean=_el(segment, 2, 0))
            document.lines.append(line)
        elif tag == "CNT" and summary:
            if _el(segment, 0, 0) == "2":
                document.line_count = _integer(_el(segment, 0, 1), number, tag, _("aantal regels"))
        elif tag == "MOA" and summary:
            # A whole message's total may be many lines' worth: 100 times one line's cap.
            document.totals.setdefault(_el(segment, 0, 0), _amount(_el(segment, 0, 1), number, tag, _("bedrag"),
                                                                   maximum_cents=100 * MAX_AMOUNT_CENTS))
        elif line is not None:
            _read_line_segment(line, number, segment)
    if not document.supplier_id:
        raise _refuse("edifact.segment_missing", message=document.reference, tag="NAD+SU")
    if document.kind == "INVOIC" and not document.document_number:
        raise _refuse("edifact.segment_missing", message=document.reference, tag="BGM")
    for line in document.lines:
        if not line.reference:
            raise _refuse("edifact.refused", segment=line.segment, tag="LIN", reason=_(
                "regel %(line)s heeft geen RFF+LI (onze regelverwijzing).") % {"line": line.number})
        if document.kind == "ORDRSP" and line.action not in ACTIONS:
            raise _refuse("edifact.bad_value", segment=line.segment, tag="LIN", value=line.action or "—",
                          what=_("actiecode (2, 3, 4, 5, 10 of 24)"))
        if document.kind == "INVOIC":
            if "47" not in line.quantities:
                raise _refuse("edifact.refused", segment=line.segment, tag="LIN", reason=_(
                    "regel %(line)s heeft geen gefactureerd aantal (QTY+47).") % {"line": line.number})
            if "203" not in line.amounts:
                raise _refuse("edifact.refused", segment=line.segment, tag="LIN", reason=_(
                    "regel %(line)s heeft geen regelbedrag (MOA+203).") % {"line": line.number})
    if document.line_count is not None and document.line_count != len(document.lines):
        raise _refuse("edifact.refused", segment=document.segment, tag="CNT", reason=_(
            "het bericht heeft %(actual)s regels, CNT noemt er %(count)s.") % {
                "actual": len(document.lines), "count": document.line_count})
    return document


def _read_line_segment(line, number, segment):
    tag = segment.tag
    if tag == "QTY":
        line.quantities[_el(segment, 0, 0)] = _integer(_el(segment, 0, 1), number, tag, _("aantal"))
    elif tag == "DTM" and _el(segment, 0, 0) == "44":
        line.available_on = _date(_el(segment, 0, 1), number, tag, _el(segment, 0, 2))
    elif tag == "FTX" and _el(segment, 0) in ("LIN", "LNO", "SUB"):
        code, code_list = _el(segment, 2, 0), _el(segment, 2, 1)
        if code and not line.status_code:
            line.status_code, line.status_list = code[:8], code_list[:4]
        element = segment.elements[3] if len(segment.elements) > 3 else ""
        free = " ".join(part for part in element if part) if isinstance(element, list) else (element or "")
        if free.strip():
            line.status_text = (line.status_text + " " + free).strip()[:200]
    elif tag == "PRI":
        line.prices.setdefault(_el(segment, 0, 0), _amount(_el(segment, 0, 1), number, tag, _("prijs")))
    elif tag == "MOA":
        line.amounts.setdefault(_el(segment, 0, 0), _amount(_el(segment, 0, 1), number, tag, _("bedrag")))
    elif tag == "TAX" and _el(segment, 0) == "7":
        rate = _el(segment, 4, 3)
        if rate:
            try:
                line.tax_rate_bp = int((Decimal(rate.replace(",", ".")) * 100).to_integral_value())
            except InvalidOperation:
                raise _refuse("edifact.bad_value", segment=number, tag=tag, value=rate,
                              what=_("btw-percentage")) from None
        elif _el(segment, 5) in ("Z", "E"):
            line.tax_rate_bp = 0
    elif tag == "RFF" and _el(segment, 0, 0) == "LI" and not line.reference:
        line.reference, line.reference_segment = _el(segment, 0, 1), number
    elif tag == "GIR":
        copy = {"segment": number}
        for element in segment.elements[1:]:
            value, qualifier = _value(element, 0).strip(), _value(element, 1).strip()
            if qualifier:
                copy[qualifier] = value
        line.copies.append(copy)
    elif tag == "IMD" and _el(segment, 0) == "L":
        text = (_el(segment, 2, 3) + _el(segment, 2, 4)).strip()
        if _el(segment, 1) == "050":
            line.title = (line.title + " " + text).strip()
        elif _el(segment, 1) in ("009", "010"):
            line.author = (line.author + " " + text).strip()

"""What each SIP2 message does: parse its fields, call the library's services and
selectors as the machine (core.actors.Actor.machine, in the machine's library
schema, at its branch), and answer with the response message.

Synchronous Django code: the server (selfservice/sip2/server.py) runs each
message in a worker thread with the connection's library set for that call.
Every refusal is a service's error code, rendered in Dutch for the screen message
(AF) and mapped to the response's own fields (ok flags, patron status bits, fee
fields). A message the server cannot handle for an unexpected reason gets its
command's negative answer and changes nothing (the service's transaction rolls back).
"""

import hashlib
import hmac
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection
from django.utils import timezone, translation
from django_tenants.utils import schema_context

from circulation.borrowers import borrower_find, guest_lookups_audited
from circulation.selectors import member_holds, open_loans, title_texts
from circulation.services.holds import hold_cancel, hold_change_pickup, hold_place
from circulation.services.loans import checkin, checkout, renew, renew_all
from core.errors import ServiceError, ServiceErrors, error_codes
from members.models import LedgerEntry
from members.selectors.access import member_shown
from members.cards import card_number_normalise
from members.selectors.ledger import member_balance_cents, member_entries
from members.services.auth import member_authenticate
from members.services.ledger import ledger_payment

from .. import selectors as machine_selectors
from . import protocol
from .protocol import money, sip_date, yn

log = logging.getLogger("lsb.sip2")

SUPPORTED = {  # BX, in the spec's order
    "23": True, "11": True, "09": True, "01": False, "99": True, "97": True, "93": True, "63": True,
    "35": True, "37": True, "17": True, "19": False, "25": False, "15": True, "29": True, "65": True,
}
PROTOCOL_VERSION = "2.00"
MAX_LIST_ITEMS = 20
OFFLINE_MAX_DAYS = 60
CURRENCY = "EUR"

# SIP2 circulation status (message 18) per item status.
CIRCULATION_STATUS = {
    "available": "03", "on_loan": "04", "on_interlibrary_loan": "04", "in_transit": "10",
    "on_hold_shelf": "08", "missing": "13", "damaged": "01", "withdrawn": "01", "in_processing": "06",
}
# SIP2 media type (CK) per item type.
MEDIA_TYPE = {
    "book": "001", "large_print": "001", "sheet_music": "001", "magazine": "002", "audiobook": "006",
    "music_cd": "006", "dvd": "000", "game": "000", "other": "000",
}
# Check-in routing for sorting machines: sort bin (CL) and alert type (CV, the
# 3M extension's values: 01 hold here, 02 hold for another branch, 03 hold for
# another library (IBL), 04 send to another branch, 99 other).
ROUTE_ALERT = {"shelf": None, "hold_shelf": "01", "hold_transit": "02", "transit": "04", "keep": "99"}
# Payment types (37) LSB takes: 00 cash, 01 VISA, 02 credit card (a card terminal: "pin").
PAYMENT_METHOD = {"00": LedgerEntry.PaymentMethod.CASH, "01": LedgerEntry.PaymentMethod.PIN,
                  "02": LedgerEntry.PaymentMethod.PIN}
FEE_TYPE_RENTAL = "06"
# Patron status (24/64): 14 positions, 'Y' = denied/too many.
STATUS_CHARGE, STATUS_RENEW, STATUS_RECALL, STATUS_HOLD, STATUS_CARD_LOST = 0, 1, 2, 3, 4
STATUS_TOO_MANY_CHARGED, STATUS_TOO_MANY_OVERDUE, STATUS_EXCESSIVE_FINES = 5, 6, 10
# Patron PINs checked in this session, kept only as an HMAC under a per-process key.
_PIN_KEY = secrets.token_bytes(32)


class Refusal(Exception):
    """A refusal of the edge itself (sip2.* codes) or a service's, as the answer's AF."""

    def __init__(self, error):
        super().__init__(str(error))
        self.error = error


class CloseConnection(Exception):
    """Answer, then close the connection (a revoked machine)."""

    def __init__(self, response):
        super().__init__("close")
        self.response = response


@dataclass
class Session:
    """One machine connection: who logged in and what this visit has verified."""

    peer: str = ""
    account_id: int | None = None
    login: str = ""
    organisation: object = None
    branch: object = None
    pin_required: bool = True
    failed_logins: int = 0
    verified: dict = field(default_factory=dict)  # card -> HMAC of the PIN that was right
    last_seen_at: object = None
    password_hash: str = ""
    language: str = "000"
    usable_checked_at: float = -1e9  # time.monotonic() of the last 'still usable?' check

    @property
    def logged_in(self):
        return self.account_id is not None

    def actor(self):
        from core.actors import Actor

        return Actor.machine(self.account_id, self.branch.pk, self.organisation)


# --- helpers -------------------------------------------------------------------------

def messages_of(error):
    """The Dutch sentences of a ValidationError (a service's refusal)."""
    if isinstance(error, ValidationError):
        return [str(message) for message in error.messages]
    return [str(error)]


def _codes(error):
    try:
        return error_codes(error)
    except Exception:  # noqa: BLE001 - a plain ValidationError without codes
        return []


def screen(errors):
    """AF fields: each sentence its own AF."""
    out = []
    for error in errors:
        for message in messages_of(error):
            out.append(("AF", message))
    return out


def _now():
    return timezone.now()


def _institution(session):
    return session.organisation.isil if session.organisation is not None else ""


def _pin_digest(pin):
    return hmac.new(_PIN_KEY, pin.encode("utf-8"), hashlib.sha256).digest()


_TITLE_CACHE = {}
_TITLE_CACHE_MAX = 20_000
_TITLE_CACHE_SECONDS = 600


def _title(title_id):
    """The title text an answer shows (AJ), kept per process for ten minutes: the
    national catalogue's titles hardly change, and every checkout and checkin shows one."""
    if title_id is None:
        return ""
    now = time.monotonic()
    cached = _TITLE_CACHE.get(title_id)
    if cached is not None and now - cached[1] < _TITLE_CACHE_SECONDS:
        return cached[0]
    text = title_texts([title_id]).get(title_id, "")
    if len(_TITLE_CACHE) >= _TITLE_CACHE_MAX:
        _TITLE_CACHE.clear()
    _TITLE_CACHE[title_id] = (text, now)
    return text


def _scanned_title(item, title_id):
    """The title text of a copy a circulation service just scanned: read with the
    copy (circulation.desk_context), else looked up."""
    text = getattr(item, "title_text", None)
    return text if text is not None else _title(title_id)


_BRANCH_CODES = {"at": 0.0, "codes": {}}
_BRANCH_CODES_SECONDS = 60


def _branch_codes(branch_ids):
    """{branch id: code} for locations in answers, kept per process for a minute."""
    now = time.monotonic()
    codes = _BRANCH_CODES["codes"]
    wanted = {branch_id for branch_id in branch_ids if branch_id}
    if now - _BRANCH_CODES["at"] >= _BRANCH_CODES_SECONDS or not wanted <= codes.keys():
        codes = {**codes, **machine_selectors.sip2_branch_codes(wanted)}
        _BRANCH_CODES.update(at=now, codes=codes)
    return codes


# --- patrons --------------------------------------------------------------------------

@dataclass
class Patron:
    card: str
    borrower: object = None  # circulation.borrowers.Borrower
    error: object = None  # why the card is no valid patron here (ServiceError)
    pin_sent: bool = False
    pin_ok: bool | None = None  # None: no PIN sent
    pin_error: object = None

    @property
    def card_number(self):
        """The card as the services should get it (cleaned up)."""
        return self.borrower.card_number if self.borrower is not None else self.card

    @property
    def valid(self):
        return self.borrower is not None

    @property
    def member(self):
        return self.borrower.member if self.borrower is not None else None

    @property
    def authorised(self):
        """May the machine act for this patron / show their data?"""
        return self.valid and self.pin_error is None and (self.pin_ok or not self.pin_sent)


def patron_find(session, request):
    """The patron of AA, with their PIN (AD) checked when sent (member_authenticate:
    the OPAC's lock-out; guests sign in at home). On a machine that requires the PIN
    a missing PIN is a refusal too (pin_error)."""
    card = request.get("AA").strip()
    patron = Patron(card=card)
    if not card:
        patron.error = ServiceError("sip2.patron_missing")
        return patron
    try:
        # A guest card's lookup is told to its home library (its audit log).
        with guest_lookups_audited(session.actor()):
            patron.borrower = borrower_find(organisation=session.organisation, card_number=card)
    except ServiceError as error:
        patron.error = error
    pin = request.get("AD")
    patron.pin_sent = bool(pin)
    if patron.pin_sent:
        patron.pin_ok = False
        if patron.borrower is not None and patron.borrower.is_guest:
            patron.pin_error = ServiceError("sip2.guest_pin_at_home", home=patron.borrower.home.name)
        else:
            key = patron.borrower.card_number if patron.borrower is not None else card
            known = session.verified.get(key)
            if known is not None and hmac.compare_digest(known, _pin_digest(pin)):
                patron.pin_ok = True
            else:
                try:
                    member_authenticate(card_number=card, pin=pin, address=None, channel="sip2")
                except ServiceError as error:
                    patron.pin_error = error
                else:
                    patron.pin_ok = True
                    session.verified = {key: _pin_digest(pin)}  # one patron at a time
    elif session.pin_required and patron.borrower is not None:
        patron.pin_error = ServiceError("sip2.pin_required")
    return patron


def patron_for_action(session, request, *, lookup=True):
    """The patron a checkout, renewal, payment or hold is for; Refusal when the
    card is no valid patron or the PIN is missing or wrong. Without `lookup`, on a
    machine that does not ask for the PIN and got none, the card goes to the
    service as it is (which refuses an invalid one with its own code): no look-up
    of its own."""
    if not lookup and not session.pin_required and not request.get("AD"):
        card = card_number_normalise(request.get("AA"))
        if not card:
            raise Refusal(ServiceError("sip2.patron_missing"))
        return Patron(card=card)
    patron = patron_find(session, request)
    if patron.error is not None:
        raise Refusal(patron.error)
    if patron.pin_error is not None:
        raise Refusal(patron.pin_error)
    return patron


def status_bits(patron, *, loans=None):
    """The 14-character patron status."""
    bits = [" "] * 14
    if not patron.valid or not patron.authorised:
        for position in (STATUS_CHARGE, STATUS_RENEW, STATUS_RECALL, STATUS_HOLD):
            bits[position] = "Y"
        return "".join(bits)
    borrower = patron.borrower
    if not borrower.may_borrow:
        for position in (STATUS_CHARGE, STATUS_RENEW, STATUS_RECALL, STATUS_HOLD):
            bits[position] = "Y"
    for reason in borrower.reasons:
        code = getattr(reason, "code", "")
        reason_code = (getattr(reason, "params", None) or {}).get("reason_code", "")
        if "card_reported_lost" in (code, reason_code) or code == "member.card_reported_lost":
            bits[STATUS_CARD_LOST] = "Y"
        if code == "member.balance_too_high" or reason_code == "member.balance_too_high":
            bits[STATUS_EXCESSIVE_FINES] = "Y"
    if borrower.is_guest:
        bits[STATUS_HOLD] = "Y"  # a guest reserves at home
    if loans is not None:
        limit = borrower.subscription_max_loans
        if limit is not None and len(loans) >= limit:
            bits[STATUS_TOO_MANY_CHARGED] = "Y"
    return "".join(bits)


def patron_name(session, patron, purpose):
    """AE: the member's name (audited: a machine showed it) or, for a guest, their home library."""
    if not patron.valid or not patron.authorised:
        return None
    if patron.member is not None:
        member_shown(session.actor(), patron.member, purpose=purpose)
        return patron.member.full_name
    return f"Gastlener van {patron.borrower.home.name}"


def patron_common_fields(session, request, patron, *, purpose):
    """AO, AA, AE, BL, CQ, BH, BV and the AF of a patron status or information answer."""
    fields = [("AO", _institution(session)), ("AA", patron.card), ("AE", patron_name(session, patron, purpose) or "")]
    fields.append(("BL", yn(patron.valid)))
    if patron.pin_sent:
        fields.append(("CQ", yn(patron.pin_ok)))
    balance = None
    if patron.authorised and patron.member is not None:
        balance = member_balance_cents(patron.member)
        fields += [("BH", CURRENCY), ("BV", money(max(balance, 0)))]
    errors = [error for error in (patron.error, patron.pin_error) if error is not None]
    if patron.authorised and not patron.borrower.may_borrow:
        errors += list(patron.borrower.reasons)
    return fields, errors, balance


# --- 93 login -------------------------------------------------------------------------------

def login(session, request):
    """93 -> 94: the machine's login name and password bind this connection to its
    library and branch. Wrong or revoked: 94 with ok 0."""
    login_name = request.get("CN").strip().lower()
    password = request.get("CO")
    account = machine_selectors.machine_for_login(login_name)
    ok = account is not None and account.check_password(password)
    if not ok:
        session.failed_logins += 1
        log.warning("SIP2 login refused for %r from %s", login_name[:40], session.peer)
        return protocol.build("94", "0", request=request)
    session.account_id = account.pk
    session.login = account.login
    session.organisation = account.organisation
    session.branch = account.branch
    session.pin_required = account.patron_pin_required
    session.password_hash = account.password
    session.verified = {}
    account.seen()
    session.last_seen_at = account.last_seen_at
    log.info("SIP2 machine %s (%s) logged in from %s for %s, branch %s", account.pk, account.login, session.peer,
             account.organisation.schema_name, account.branch.code)
    return protocol.build("94", "1", request=request)


USABLE_CHECK_SECONDS = 1.0


def still_usable(session):
    """Revoking takes effect at once (within a second): a message checks the
    account (one indexed read) unless this connection checked it less than
    USABLE_CHECK_SECONDS ago (a checkout and its checkin, a patron's visit), and a
    new password logs the old connections out."""
    checked = time.monotonic()
    if checked - session.usable_checked_at < USABLE_CHECK_SECONDS:
        return True
    usable, last_seen, password = machine_selectors.machine_still_usable(session.account_id)
    if not usable or password != session.password_hash:
        return False
    session.usable_checked_at = checked
    now = _now()
    if last_seen is None or (now - last_seen).total_seconds() >= 60:
        from ..models import MachineAccount

        MachineAccount.objects.filter(pk=session.account_id).update(last_seen_at=now)
    return True


# --- 99 status -------------------------------------------------------------------------------

def sc_status(session, request):
    supported = "".join(yn(SUPPORTED[code]) for code in SUPPORTED)
    fixed = ("Y" + "Y" + "Y" + "Y" + "N" + "Y" + "030" + "003" + sip_date() + PROTOCOL_VERSION)
    fields = [("AO", _institution(session)), ("AM", session.organisation.name), ("BX", supported),
              ("AN", session.branch.code)]
    return protocol.build("98", fixed, fields, request=request)


def status_not_logged_in(request):
    supported = "".join(yn(SUPPORTED[code]) for code in SUPPORTED)
    fixed = "N" + "N" + "N" + "N" + "N" + "N" + "030" + "003" + sip_date() + PROTOCOL_VERSION
    with translation.override("nl"):
        fields = [("AO", ""), ("AM", ""), ("BX", supported), ("AF", str(ServiceError("sip2.not_logged_in")))]
    return protocol.build("98", fixed, fields, request=request)


# --- 23 patron status, 63 patron information --------------------------------------------------

def patron_status(session, request):
    patron = patron_find(session, request)
    fields, errors, _balance = patron_common_fields(session, request, patron, purpose="sip2_patron_status")
    fixed = status_bits(patron) + request.fixed[:3] + sip_date()
    return protocol.build("24", fixed, fields + screen(errors), request=request)


def _range(request, count):
    """The BP..BQ items asked for (1-based, inclusive), at most MAX_LIST_ITEMS."""
    def number(code, default):
        value = request.get(code).strip()
        return int(value) if value.isdigit() and 0 < int(value) < 100000 else default

    start = number("BP", 1)
    end = number("BQ", start + MAX_LIST_ITEMS - 1)
    end = min(end, start + MAX_LIST_ITEMS - 1, count)
    return slice(start - 1, max(end, start - 1))


def _fine_lines(member, balance):
    """The charges that make up what is owed (payments settle the oldest first), newest first."""
    remaining = balance
    lines = []
    if remaining <= 0:
        return lines
    for entry in member_entries(member, limit=200):
        if entry.kind != LedgerEntry.Kind.CHARGE or entry.open_cents <= 0:
            continue
        amount = min(entry.open_cents, remaining)
        lines.append(f"{money(amount)} {CURRENCY} {entry.description}")
        remaining -= amount
        if remaining <= 0:
            break
    return lines


def patron_information(session, request):
    patron = patron_find(session, request)
    fields, errors, balance = patron_common_fields(session, request, patron, purpose="sip2_patron_information")
    summary = (request.fixed[21:31] + " " * 10)[:10]
    counts = {"holds_ready": 0, "overdue": 0, "charged": 0, "fines": 0, "recall": 0, "holds_waiting": 0}
    loans = []
    if patron.authorised:
        today = timezone.localdate()
        loans = open_loans(patron.borrower.loans_filter(), today=today)
        overdue = [loan for loan in loans if loan.overdue_days]
        holds = member_holds(patron.member) if patron.member is not None else []
        ready = [hold for hold in holds if hold.status == "ready"]
        waiting = [hold for hold in holds if hold.status != "ready"]
        fines = _fine_lines(patron.member, balance) if patron.member is not None and balance else []
        counts.update(holds_ready=len(ready), overdue=len(overdue), charged=len(loans), fines=len(fines),
                      holds_waiting=len(waiting))
        lists = {
            0: ("AS", [hold.assigned_item.barcode if hold.assigned_item_id else "" for hold in ready]),
            1: ("AT", [loan.item.barcode for loan in overdue]),
            2: ("AU", [loan.item.barcode for loan in loans]),
            3: ("AV", fines),
            4: ("BU", []),
            5: ("CD", [hold.title.title if hold.title else "" for hold in waiting]),
        }
        for position, (code, values) in lists.items():
            if summary[position] in "Yy":
                fields += [(code, value) for value in values[_range(request, len(values))]]
                break  # the spec: one list per message
        limit = patron.borrower.subscription_max_loans
        if limit is not None:
            fields.append(("CB", str(limit)))
    fixed = (status_bits(patron, loans=loans) + request.fixed[:3] + sip_date()
             + "".join(f"{min(counts[key], 9999):04d}" for key in
                       ("holds_ready", "overdue", "charged", "fines", "recall", "holds_waiting")))
    return protocol.build("64", fixed, fields + screen(errors), request=request)


# --- 17 item information ---------------------------------------------------------------------

def item_information(session, request):
    barcode = request.get("AB").strip()
    info = machine_selectors.sip2_item(barcode) if barcode else None
    now_text = sip_date()
    if info is None:
        error = ServiceError("sip2.item_missing") if not barcode else ServiceError("scan.item_unknown",
                                                                                   barcode=barcode)
        fixed = "01" + "00" + "01" + now_text
        return protocol.build("18", fixed, [("AB", barcode), ("AJ", "")] + screen([error]), request=request)
    item = info.item
    fixed = CIRCULATION_STATUS.get(item.status, "01") + "02" + "01" + now_text
    fields = [("CF", str(info.queue_length)),
              ("AH", sip_date(info.loan.due_on) if info.loan is not None else None),
              ("CM", sip_date(info.ready_hold.shelf_until) if info.ready_hold is not None
               and info.ready_hold.shelf_until else None),
              ("AB", item.barcode), ("AJ", info.title_text), ("BG", _institution(session)),
              ("CK", MEDIA_TYPE.get(item.item_type, "000")),
              ("AQ", info.owning_branch_code), ("AP", info.current_branch_code),
              ("CH", item.get_item_type_display())]
    fields.append(("AF", item.get_status_display()))
    return protocol.build("18", fixed, fields, request=request)


# --- 11 checkout -----------------------------------------------------------------------------

def _offline_moment(request, position):
    """The date of an offline transaction (no block), when sensible: not in the future,
    at most OFFLINE_MAX_DAYS ago; else None (now)."""
    moment = protocol.parse_date(request.fixed[position:position + 18])
    now = _now()
    if moment is None or moment > now or (now - moment).days > OFFLINE_MAX_DAYS:
        return None
    return moment


def _due_fields(loan):
    return [("AH", sip_date(loan.due_on))]


def checkout_message(session, request):
    renewal_policy = request.fixed[0:1] == "Y"
    no_block = request.fixed[1:2] == "Y"
    nb_due = protocol.parse_date(request.fixed[20:38])
    barcode = request.get("AB").strip()
    fee_acknowledged = request.get("BO").strip().upper() == "Y"
    fields = [("AO", _institution(session)), ("AA", request.get("AA").strip()), ("AB", barcode)]

    def refuse(errors, *, renewal=False, fee_cents=None):
        extra = []
        if fee_cents:
            extra = [("BT", FEE_TYPE_RENTAL), ("BH", CURRENCY), ("BV", money(fee_cents))]
        title = machine_selectors.sip2_title_of_barcode(barcode) if barcode else ""
        return protocol.build("12", "0" + yn(renewal) + "N" + "N" + sip_date(),
                              fields + [("AJ", title), ("AH", "")] + extra + screen(errors), request=request)

    if request.get("BI").strip().upper() == "Y":
        # Cancel a checkout that did not complete at the machine: take the copy back.
        try:
            checkin(actor=session.actor(), barcode=barcode)
        except ValidationError as error:
            return refuse([error])
        return protocol.build("12", "1NNN" + sip_date(), fields + [("AJ", machine_selectors.sip2_title_of_barcode(
            barcode)), ("AH", "")], request=request)
    if not barcode:
        return refuse([ServiceError("sip2.item_missing")])
    try:
        patron = patron_for_action(session, request, lookup=False)
    except Refusal as refusal:
        return refuse([refusal.error])
    already = None
    if not renewal_policy:
        # The machine does not want a renewal when the patron already has the copy.
        already = machine_selectors.sip2_open_loan_of(patron.card_number, barcode)
        if already is not None:
            return refuse([ServiceError("sip2.renewal_not_allowed_here")], renewal=False)
    offline_at = _offline_moment(request, 2) if no_block else None
    try:
        result = checkout(
            actor=session.actor(), card_number=patron.card_number, barcode=barcode,
            fee_acknowledged=fee_acknowledged, offline=no_block,
            offline_due_on=timezone.localdate(nb_due) if (no_block and nb_due is not None) else None,
            now=offline_at,
        )
    except ValidationError as error:
        fee = None
        refusals = error.errors if isinstance(error, ServiceErrors) else [error]
        for reason in refusals:
            if getattr(reason, "code", "") == "checkout.fee_not_acknowledged":
                fee = reason.params.get("amount_cents")
        return refuse([error], renewal=renewal_policy and machine_selectors.sip2_open_loan_of(
            patron.card_number, barcode) is not None, fee_cents=fee)
    loan = result.loan
    title = _scanned_title(loan.item, loan.title_id)
    fee_cents = result.fee_cents
    fields += [("AJ", title)] + _due_fields(loan)
    if fee_cents:
        fields += [("BT", FEE_TYPE_RENTAL), ("BH", CURRENCY), ("BV", money(fee_cents))]
    fields += [("CK", MEDIA_TYPE.get(loan.item.item_type, "000")), ("CI", "N")]
    message = (f"Verlengd tot {loan.due_on:%d-%m-%Y}." if result.renewed
               else f"Uitgeleend tot {loan.due_on:%d-%m-%Y}.")
    fields += [("AF", message), ("AG", f"{title[:60]} - terug op {loan.due_on:%d-%m-%Y}")]
    return protocol.build("12", "1" + yn(result.renewed) + "N" + "Y" + sip_date(), fields, request=request)


# --- 09 checkin ------------------------------------------------------------------------------

def checkin_message(session, request):
    no_block = request.fixed[0:1] == "Y"
    barcode = request.get("AB").strip()
    now = _now()
    returned = protocol.parse_date(request.fixed[19:37])
    at = None
    if returned is not None and returned <= now and (now - returned).days <= OFFLINE_MAX_DAYS:
        # The return date of an offline transaction (no block), or one clearly before now.
        if no_block or (now - returned).total_seconds() > 600:
            at = returned
    base = [("AO", _institution(session)), ("AB", barcode)]
    if not barcode:
        return protocol.build("10", "0NNN" + sip_date(), base + [("AQ", "")] + screen([ServiceError(
            "sip2.item_missing")]), request=request)
    actor = session.actor()
    try:
        result = checkin(actor=actor, barcode=barcode, now=at)
    except ValidationError as error:
        return protocol.build("10", "0NNN" + sip_date(), base + [("AQ", "")] + screen([error]), request=request)
    item = result.item
    routing = _branch_codes([item.owning_branch_id, result.destination_branch_id])
    alert_type = ROUTE_ALERT.get(result.route)
    hold = result.hold
    if hold is not None and hold.member_id is None and alert_type is not None:
        alert_type = "03"  # a library's hold: interlibrary loan
    fields = base + [("AQ", routing.get(item.owning_branch_id, "")), ("AJ", _scanned_title(item, item.title_id)),
                     ("CK", MEDIA_TYPE.get(item.item_type, "000")),
                     ("CL", result.route),
                     ("CT", routing.get(result.destination_branch_id, "") if result.destination_branch_id else None)]
    if alert_type is not None:
        fields.append(("CV", alert_type))
    if hold is not None and hold.member_id is not None:
        member = hold.member
        member_shown(actor, member, purpose="sip2_checkin_hold_slip")
        fields.append(("CY", member.card_number))
    texts = ["Ingenomen. Dank u wel."]
    for note in result.notes:
        if note.code in ("checkin.late_fine", "checkin.withdrawn", "checkin.damage_reported",
                         "checkin.on_interlibrary_loan"):
            texts.append(note.message)
    fields += [("AF", text) for text in texts]
    fields.append(("AG", result.message))
    fixed = "1" + "Y" + "N" + yn(alert_type is not None) + sip_date()
    return protocol.build("10", fixed, fields, request=request)


# --- 29 renew, 65 renew all --------------------------------------------------------------------

def renew_message(session, request):
    barcode = request.get("AB").strip()
    fee_acknowledged = request.get("BO").strip().upper() == "Y"
    fields = [("AO", _institution(session)), ("AA", request.get("AA").strip()), ("AB", barcode)]

    def refuse(errors, fee_cents=None):
        extra = [("BT", FEE_TYPE_RENTAL), ("BH", CURRENCY), ("BV", money(fee_cents))] if fee_cents else []
        title = machine_selectors.sip2_title_of_barcode(barcode) if barcode else ""
        return protocol.build("30", "0NNN" + sip_date(), fields + [("AJ", title), ("AH", "")] + extra
                              + screen(errors), request=request)

    if not barcode:
        return refuse([ServiceError("sip2.item_missing")])
    try:
        patron = patron_for_action(session, request, lookup=False)
    except Refusal as refusal:
        return refuse([refusal.error])
    loan = machine_selectors.sip2_open_loan_of(patron.card_number, barcode)
    if loan is None:
        return refuse([ServiceError("sip2.loan_not_found")])
    try:
        loan = renew(actor=session.actor(), loan_id=loan.pk, fee_acknowledged=fee_acknowledged)
    except ValidationError as error:
        refusals = error.errors if isinstance(error, ServiceErrors) else [error]
        fee = next((reason.params.get("amount_cents") for reason in refusals
                    if getattr(reason, "code", "") == "checkout.fee_not_acknowledged"), None)
        return refuse([error], fee_cents=fee)
    title = _title(loan.title_id)
    fields += [("AJ", title)] + _due_fields(loan) + [("CK", MEDIA_TYPE.get(loan.item.item_type, "000")),
                                                       ("AF", f"Verlengd tot {loan.due_on:%d-%m-%Y}.")]
    return protocol.build("30", "1YNY" + sip_date(), fields, request=request)


def renew_all_message(session, request):
    fee_acknowledged = request.get("BO").strip().upper() == "Y"
    base = [("AO", _institution(session))]
    try:
        patron = patron_for_action(session, request, lookup=False)
        outcomes = renew_all(actor=session.actor(), card_number=patron.card_number,
                             fee_acknowledged=fee_acknowledged)
    except Refusal as refusal:
        return protocol.build("66", "0" + "0000" + "0000" + sip_date(), base + screen([refusal.error]),
                              request=request)
    except ValidationError as error:
        return protocol.build("66", "0" + "0000" + "0000" + sip_date(), base + screen([error]), request=request)
    renewed = [outcome for outcome in outcomes if outcome.renewed]
    refused = [outcome for outcome in outcomes if not outcome.renewed]
    fields = base + [("BM", outcome.loan.item.barcode) for outcome in renewed[:MAX_LIST_ITEMS]]
    fields += [("BN", outcome.loan.item.barcode) for outcome in refused[:MAX_LIST_ITEMS]]
    for outcome in refused[:3]:
        fields += [("AF", reason) for reason in outcome.reasons[:1]]
    fields.append(("AF", f"{len(renewed)} verlengd, {len(refused)} niet verlengd."))
    fixed = "1" + f"{min(len(renewed), 9999):04d}" + f"{min(len(refused), 9999):04d}" + sip_date()
    return protocol.build("66", fixed, fields, request=request)


# --- 37 fee paid -----------------------------------------------------------------------------

def fee_paid(session, request):
    payment_type = request.fixed[20:22]
    currency = request.fixed[22:25]
    transaction_id = request.get("BK").strip()
    fields = [("AO", _institution(session)), ("AA", request.get("AA").strip()), ("BK", transaction_id)]

    def refuse(errors):
        return protocol.build("38", "N" + sip_date(), fields + screen(errors), request=request)

    try:
        patron = patron_for_action(session, request)
    except Refusal as refusal:
        return refuse([refusal.error])
    if patron.member is None:
        return refuse([ServiceError("sip2.guest_pays_at_home", home=patron.borrower.home.name)])
    if currency.strip().upper() not in (CURRENCY, ""):
        return refuse([ServiceError("sip2.currency_not_euro")])
    method = PAYMENT_METHOD.get(payment_type)
    if method is None:
        return refuse([ServiceError("sip2.payment_type_unknown")])
    try:
        amount = Decimal(request.get("BV").strip().replace(",", "."))
        cents = int((amount * 100).to_integral_exact())
        if amount != Decimal(cents) / 100:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        return refuse([ServiceError("sip2.fee_unknown")])
    fee_id = request.get("CG").strip()
    description = "Betaald bij automaat" + (f" ({fee_id})" if fee_id else "")
    reference = f"sip2:{session.account_id}:{transaction_id}"[:64] if transaction_id else ""
    try:
        ledger_payment(actor=session.actor(), member=patron.member, amount_cents=cents, method=method,
                       description=description, reference=reference)
    except ValidationError as error:
        return refuse([error])
    balance = member_balance_cents(patron.member)
    fields.append(("AF", f"Betaling van {money(cents)} {CURRENCY} ontvangen. Openstaand: "
                         f"{money(max(balance, 0))} {CURRENCY}."))
    return protocol.build("38", "Y" + sip_date(), fields, request=request)


# --- 15 hold ---------------------------------------------------------------------------------

def hold_message(session, request):
    mode = request.fixed[0:1]
    barcode = request.get("AB").strip()
    pickup_code = request.get("BS").strip()
    base = [("AO", _institution(session)), ("AA", request.get("AA").strip())]

    def answer(ok, *, available=False, hold=None, errors=(), texts=()):
        fields = list(base)
        if hold is not None:
            fields += [("BR", str(hold.expected_position)) if hold.expected_position else ("BR", None),
                       ("BS", machine_selectors.sip2_branch_codes([hold.pickup_branch_id]).get(hold.pickup_branch_id))]
        fields += [("AB", barcode), ("AJ", machine_selectors.sip2_title_of_barcode(barcode) if barcode else "")]
        fields += screen(errors) + [("AF", text) for text in texts]
        return protocol.build("16", yn(ok).replace("Y", "1").replace("N", "0") + yn(available) + sip_date(),
                              fields, request=request)

    if mode not in ("+", "-", "*"):
        return answer(False, errors=[ServiceError("sip2.hold_mode_unknown")])
    if not barcode:
        return answer(False, errors=[ServiceError("sip2.item_missing")])
    try:
        patron = patron_for_action(session, request)
    except Refusal as refusal:
        return answer(False, errors=[refusal.error])
    if patron.member is None:
        return answer(False, errors=[ServiceError("hold.member_may_not_reserve")])
    pickup_id = session.branch.pk
    if pickup_code:
        pickup_id = machine_selectors.sip2_branch_by_code(session.organisation, pickup_code)
        if pickup_id is None:
            return answer(False, errors=[ServiceError("sip2.pickup_unknown", code=pickup_code)])
    actor = session.actor()
    specific = request.get("BY").strip() == "3"
    try:
        if mode == "+":
            if specific:
                hold = hold_place(actor=actor, member=patron.member, item_barcode=barcode, pickup_branch_id=pickup_id)
            else:
                title_id = machine_selectors.sip2_title_id_of_barcode(barcode)
                if title_id is None:
                    raise ServiceError("scan.item_unknown", barcode=barcode)
                hold = hold_place(actor=actor, member=patron.member, title_id=title_id, pickup_branch_id=pickup_id)
            return answer(True, available=hold.status == "ready", hold=hold,
                          texts=[f"Gereserveerd; ophalen in {machine_selectors.sip2_branch_name(pickup_id)}."])
        hold = machine_selectors.sip2_active_hold_of(patron.member, barcode)
        if hold is None:
            raise ServiceError("hold.not_found")
        if mode == "-":
            hold_cancel(actor=actor, hold_id=hold.pk, reason="Geannuleerd bij de automaat")
            return answer(True, texts=["Reservering geannuleerd."])
        hold = hold_change_pickup(actor=actor, hold_id=hold.pk, pickup_branch_id=pickup_id)
        return answer(True, hold=hold, texts=[f"Ophalen in {machine_selectors.sip2_branch_name(pickup_id)}."])
    except ValidationError as error:
        return answer(False, errors=[error])


# --- 35 end session ------------------------------------------------------------------------------

def end_session(session, request):
    session.verified = {}
    return protocol.build("36", "Y" + sip_date(), [("AO", _institution(session)),
                                                    ("AA", request.get("AA").strip()),
                                                    ("AF", "Tot ziens.")], request=request)


HANDLERS = {
    "99": sc_status,
    "23": patron_status,
    "63": patron_information,
    "17": item_information,
    "11": checkout_message,
    "09": checkin_message,
    "29": renew_message,
    "65": renew_all_message,
    "37": fee_paid,
    "15": hold_message,
    "35": end_session,
}


def negative(request, session):
    """The negative answer of a command, for a message that failed unexpectedly."""
    error = [("AF", str(ServiceError("sip2.server_error")))]
    institution = [("AO", _institution(session))]
    date = sip_date()
    blank_status = "YYYY" + " " * 10
    answers = {
        "93": ("94", "0", []),
        "99": ("98", "NNNNNN" + "030" + "003" + date + PROTOCOL_VERSION, institution),
        "23": ("24", blank_status + "000" + date, institution + [("AA", request.get("AA")), ("AE", ""),
                                                                  ("BL", "N")]),
        "63": ("64", blank_status + "000" + date + "0000" * 6, institution + [("AA", request.get("AA")),
                                                                                ("AE", ""), ("BL", "N")]),
        "17": ("18", "01" + "00" + "01" + date, [("AB", request.get("AB")), ("AJ", "")]),
        "11": ("12", "0NNN" + date, institution + [("AA", request.get("AA")), ("AB", request.get("AB")),
                                                   ("AJ", ""), ("AH", "")]),
        "09": ("10", "0NNN" + date, institution + [("AB", request.get("AB")), ("AQ", "")]),
        "29": ("30", "0NNN" + date, institution + [("AA", request.get("AA")), ("AB", request.get("AB")),
                                                   ("AJ", ""), ("AH", "")]),
        "65": ("66", "0" + "0000" + "0000" + date, institution),
        "37": ("38", "N" + date, institution + [("AA", request.get("AA")), ("BK", request.get("BK"))]),
        "15": ("16", "0N" + date, institution + [("AA", request.get("AA"))]),
        "35": ("36", "N" + date, institution + [("AA", request.get("AA"))]),
    }
    code, fixed, fields = answers.get(request.code, ("96", "", []))
    if code == "96":
        return protocol.resend_request(checksummed=request.checksummed)
    return protocol.build(code, fixed, fields + (error if code != "94" else []), request=request)


_upkeep = threading.local()
UPKEEP_SECONDS = 30


def _connection_upkeep(*, force=False):
    """Django's per-request connection care (close a broken or too old connection,
    health check on next use), per worker thread at most every UPKEEP_SECONDS, and
    at once after a database error: not one health check round trip per message."""
    now = time.monotonic()
    if force or connection.errors_occurred or now - getattr(_upkeep, "at", 0.0) >= UPKEEP_SECONDS:
        _upkeep.at = now
        close_old_connections()


def handle(session, request):
    """Answer one parsed message (in a worker thread). Returns the response bytes;
    raises CloseConnection when the connection must end after the answer."""
    _connection_upkeep()
    try:
        with translation.override("nl"):
            if request.code == "93":
                if session.logged_in:
                    session.account_id = None
                with schema_context("public"):
                    return login(session, request)
            if not session.logged_in:
                if request.code == "99":
                    return status_not_logged_in(request)
                return protocol.resend_request(checksummed=request.checksummed)
            connection.set_tenant(session.organisation)
            try:
                if not still_usable(session):
                    log.warning("SIP2 machine %s refused: revoked, inactive or password changed", session.account_id)
                    session.account_id = None
                    raise CloseConnection(negative(request, session))
                handler = HANDLERS[request.code]
                try:
                    return handler(session, request)
                except CloseConnection:
                    raise
                except Exception:  # noqa: BLE001 - logged; the machine gets the negative answer
                    log.exception("SIP2 message %s of machine %s failed", request.code, session.account_id)
                    return negative(request, session)
            finally:
                connection.set_schema_to_public()
    finally:
        if connection.errors_occurred:
            _connection_upkeep(force=True)

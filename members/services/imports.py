"""Bulk import of members from CSV (migrating from a library's previous system).

Column layout (Dutch headers, first row; order free; header case and spaces
ignored; separator ';' or ','; UTF-8, with or without BOM):

  pasnummer*        card number (6-20 letters/digits; nationally unique)
  voornaam*         first name
  tussenvoegsel     name prefix (van, de, ...)
  achternaam*       last name
  geboortedatum*    dd-mm-jjjj or jjjj-mm-dd
  straat, huisnummer, postcode (1234 AB), plaats
  email, telefoon
  pincode           PIN (at least PIN_MIN_LENGTH digits)
  abonnement        code of a subscription type (empty: the category's default)
  vestiging         code of the preferred branch (empty: none)
  toestemming_leenhistorie, toestemming_nieuwsbrief, toestemming_leestips
                    ja/nee (also j/n, 1/0, true/false; empty: nee)
  notities          free text
  lid_tot_en_met    the date the member paid their subscription until in the
                    previous system: the membership runs until then and no fee
                    is charged (empty: a new membership year, fee charged)

(* required). Every row is registered through members-core's member_register,
so it passes exactly the same checks as a member registered at the desk, in its
own transaction: a bad row is reported (row number = line in the file, the header
being line 1) and the other rows are imported. A card number that is already a
member (or former card) of this library is skipped, so re-running the same file
creates no duplicates.
"""

import csv
import io
import itertools
import os
import re
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from core.errors import ServiceError, ServiceErrors, error_codes
from staff.models import Role
from tenants.models import Branch

from ..models import AuditEntry, FormerCard, Member, SubscriptionType
from ..selectors.access import require_staff_role
from .privacy import audit_record

COLUMNS = [
    ("pasnummer", True, "pasnummer (6 tot 20 letters en cijfers)"),
    ("voornaam", True, "voornaam"),
    ("tussenvoegsel", False, "tussenvoegsel"),
    ("achternaam", True, "achternaam"),
    ("geboortedatum", True, "geboortedatum (dd-mm-jjjj of jjjj-mm-dd)"),
    ("straat", False, "straat"),
    ("huisnummer", False, "huisnummer met toevoeging"),
    ("postcode", False, "postcode (1234 AB)"),
    ("plaats", False, "woonplaats"),
    ("email", False, "e-mailadres"),
    ("telefoon", False, "telefoonnummer"),
    ("pincode", False, "pincode"),
    ("abonnement", False, "code van het abonnement (leeg: standaard van de categorie)"),
    ("vestiging", False, "code van de voorkeursvestiging"),
    ("toestemming_leenhistorie", False, "ja/nee"),
    ("toestemming_nieuwsbrief", False, "ja/nee"),
    ("toestemming_leestips", False, "ja/nee"),
    ("notities", False, "notities"),
    ("lid_tot_en_met", False, "betaald lidmaatschap tot en met (dd-mm-jjjj); ingevuld: geen abonnementskosten"),
]
REQUIRED = [name for name, required, _ in COLUMNS if required]
KNOWN = {name for name, _, _ in COLUMNS}

# Files uploaded on the screen are imported while the admin waits (hashing a PIN
# takes a good part of a second of CPU); larger ones go through the
# import_members management command, which shows progress.
SCREEN_MAX_BYTES = 2_000_000
SCREEN_MAX_ROWS = 500

_YES = {"ja", "j", "1", "true", "waar", "yes", "y", "x"}
_NO = {"nee", "n", "0", "false", "onwaar", "no", ""}


@dataclass
class RowError:
    row: int
    card_number: str
    message: str
    codes: list = field(default_factory=list)  # the refusals' codes (core.errors)

    @classmethod
    def of(cls, row, card_number, error):
        """A row's error from the ServiceError(s) (or a model ValidationError) it raised."""
        return cls(row, card_number, " ".join(error.messages), [code for code in error_codes(error) if code])


@dataclass
class ImportResult:
    created: list = field(default_factory=list)  # member ids
    skipped: list = field(default_factory=list)  # (row, card number) already a member here
    errors: list = field(default_factory=list)  # RowError
    total: int = 0


def _header(name):
    return re.sub(r"[\s-]+", "_", (name or "").strip().lstrip("\ufeff").lower())


def members_csv_rows(content):
    """Parse CSV bytes/text into [(row number, {column: value})]; refuses (ServiceError)
    a file that is no UTF-8 CSV or lacks a required column, before anything is imported."""
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ServiceError("member_import.not_utf8")
    content = content.lstrip("\ufeff")
    first_line = content.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise ServiceError("member_import.empty")
    names = [_header(name) for name in header]
    problems = []
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        problems.append(ServiceError("member_import.columns_missing", columns=", ".join(missing)))
    unknown = [original for original, name in zip(header, names) if name and name not in KNOWN]
    if unknown:
        problems.append(ServiceError("member_import.columns_unknown", columns=", ".join(unknown)))
    duplicated = sorted({name for name in names if name and names.count(name) > 1})
    if duplicated:
        problems.append(ServiceError("member_import.columns_twice", columns=", ".join(duplicated)))
    if problems:
        _refused(problems)
    rows = []
    try:
        for values in reader:
            if not any(value.strip() for value in values):
                continue
            rows.append((reader.line_num, {
                name: (values[index].strip() if index < len(values) else "")
                for index, name in enumerate(names) if name
            }))
    except csv.Error as error:
        raise ServiceError("member_import.not_csv", line=reader.line_num, error=str(error))
    return rows


def _refused(problems):
    if len(problems) == 1:
        raise problems[0]
    raise ServiceErrors(problems)


def _date(value, label, column):
    for pattern in ("%d-%m-%Y", "%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    raise ServiceError("member_import.not_a_date", field=column, label=label, value=value)


def _yes_no(value, label, column):
    value = value.strip().lower()
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise ServiceError("member_import.not_yes_no", field=column, label=label, value=value)


def _register_kwargs(values, *, organisation, branches, subscriptions):
    """Turn one CSV row into member_register's arguments (raises ServiceError)."""
    problems = []
    for name in REQUIRED:
        if not values.get(name):
            problems.append(ServiceError("member_import.column_empty", field=name, column=name))
    if problems:
        _refused(problems)
    date_of_birth = _date(values["geboortedatum"], _("Geboortedatum"), "geboortedatum")
    paid_until = (_date(values["lid_tot_en_met"], _("Lid tot en met"), "lid_tot_en_met")
                  if values.get("lid_tot_en_met") else None)
    subscription = None
    if values.get("abonnement"):
        subscription = subscriptions.get(values["abonnement"].lower())
        if subscription is None:
            raise ServiceError("member_import.subscription_unknown", field="abonnement", value=values["abonnement"],
                               library=organisation.name)
    branch_id = None
    if values.get("vestiging"):
        branch_id = branches.get(values["vestiging"].lower())
        if branch_id is None:
            raise ServiceError("member_import.branch_unknown", field="vestiging", value=values["vestiging"],
                               library=organisation.name)
    consents = {
        key: _yes_no(values.get(column, ""), label, column)
        for key, column, label in (
            ("loan_history", "toestemming_leenhistorie", _("Toestemming leenhistorie")),
            ("newsletter", "toestemming_nieuwsbrief", _("Toestemming nieuwsbrief")),
            ("suggestions", "toestemming_leestips", _("Toestemming leestips")),
        )
    }
    return {
        "card_number": values["pasnummer"],
        "first_name": values["voornaam"],
        "name_prefix": values.get("tussenvoegsel", ""),
        "last_name": values["achternaam"],
        "date_of_birth": date_of_birth,
        "street": values.get("straat", ""),
        "house_number": values.get("huisnummer", ""),
        "postcode": values.get("postcode", ""),
        "city": values.get("plaats", ""),
        "email": values.get("email", ""),
        "phone": values.get("telefoon", ""),
        "preferred_branch_id": branch_id,
        "notes": values.get("notities", ""),
        "pin": values.get("pincode", ""),
        "subscription": subscription,
        "consents": consents,
        "paid_until": paid_until,
    }


def _pin_checked(pin):
    """(hash, problems) for a PIN through registration's own check; ("", []) when empty.

    Hashing is deliberately slow (PBKDF2); it runs in worker threads, since
    hashlib releases the GIL while it hashes."""
    from .registration import _clean_pin

    problems = []
    return _clean_pin(pin, problems), problems


def _ahead(function, arguments, *, workers):
    """function(argument) for each argument, in order, computed up to 4 x workers ahead in threads."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        window = deque()
        arguments = iter(arguments)
        for argument in itertools.islice(arguments, workers * 4):
            window.append(pool.submit(function, argument))
        for argument in arguments:
            yield window.popleft().result()
            window.append(pool.submit(function, argument))
        while window:
            yield window.popleft().result()


def _cards_known_here(card_numbers):
    """The (upper-case) card numbers this library already has, as member or former card."""
    known = set()
    card_numbers = sorted(card_numbers)
    for start in range(0, len(card_numbers), 1000):
        chunk = card_numbers[start:start + 1000]
        known.update(Member.objects.filter(card_number__in=chunk).values_list("card_number", flat=True))
        known.update(FormerCard.objects.filter(card_number__in=chunk).values_list("card_number", flat=True))
    return {card.upper() for card in known}


def members_import(*, actor, rows, progress=None, progress_every=100, workers=None):
    """Import parsed CSV rows (see members_csv_rows) into this library.

    Each row is registered through member_register, in its own transaction, so it
    passes the desk's checks; rows whose card number this library already has
    are skipped, and a card number seen earlier in the same file is an error.
    PINs are checked and hashed by registration's own function, ahead of the
    rows, in `workers` threads (default: one per CPU), and stored in the same
    transaction as the member. `progress(done, total)` is called every
    `progress_every` rows and at the end. One IMPORT entry in the audit log
    records the counts and the new member ids. A library administrator (or the
    system: the import_members command without --staff)."""
    from .registration import member_register

    organisation = actor.require_current_library()
    require_staff_role(actor, Role.LIBRARY_ADMIN)
    result = ImportResult(total=len(rows))
    branches = {
        code.lower(): pk for pk, code in Branch.objects.filter(organisation=organisation).values_list("pk", "code")
    }
    subscriptions = {
        subscription.code.lower(): subscription for subscription in SubscriptionType.objects.filter(is_active=True)
    }
    known = _cards_known_here({values.get("pasnummer", "").strip().upper() for _, values in rows} - {""})

    # First decide per row (cheap), so only rows to register get their PIN hashed.
    seen = {}
    plan = []  # (row number, values, None) to register, or (row number, values, outcome)
    for row_number, values in rows:
        card = values.get("pasnummer", "").strip().upper()
        if card and card in seen:
            plan.append((row_number, values, RowError.of(
                row_number, values["pasnummer"], ServiceError("member_import.card_twice_in_file", row=seen[card]))))
            continue
        if card:
            seen[card] = row_number
        plan.append((row_number, values, "skip" if card in known else None))

    to_register = [values for _, values, outcome in plan if outcome is None]
    pins = _ahead(_pin_checked, [values.get("pincode", "") for values in to_register],
                  workers=workers or os.cpu_count() or 1)
    for done, (row_number, values, outcome) in enumerate(plan, start=1):
        card_number = values.get("pasnummer", "")
        if isinstance(outcome, RowError):
            result.errors.append(outcome)
        elif outcome == "skip":
            result.skipped.append((row_number, card_number))
        else:
            pin_hash, pin_problems = next(pins)
            try:
                kwargs = _register_kwargs(values, organisation=organisation, branches=branches,
                                          subscriptions=subscriptions)
                with transaction.atomic():
                    # A bad PIN goes to member_register as it is, so the row's
                    # error lists every problem at once (nothing is hashed then).
                    member = member_register(actor=actor, **{**kwargs, "pin": kwargs["pin"] if pin_problems else ""})
                    if pin_hash:
                        Member.objects.filter(pk=member.pk).update(pin_hash=pin_hash)
            except ValidationError as error:
                result.errors.append(RowError.of(row_number, card_number, error))
            else:
                result.created.append(member.pk)
        if progress is not None and (done % progress_every == 0 or done == result.total):
            progress(done, result.total)
    audit_record(actor=actor, member=None, action=AuditEntry.Action.IMPORT, detail={
        "rows": result.total, "created": len(result.created), "skipped": len(result.skipped),
        "errors": len(result.errors), "member_ids": result.created,
    })
    return result

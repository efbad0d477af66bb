"""A supplier's title list (MARC21 or CSV) into an order list.

New titles enter the national catalogue only through the catalogue's own MARC
import (catalogue.services.marc_import_register / marc_import_run: its matching
and authority rules decide whether a record makes a new title or meets an
existing one; the import is logged for this library). CSV rows whose ISBN the
catalogue does not know become small MARC records with the supplier's source
code (MARC 003) and the ISBN as control number (001). Broken rows are reported
per row and the rest is added to the order list.
"""

import csv
import io
from dataclasses import dataclass, field

from pymarc import Field, Leader, MARCReader, Record, Subfield, parse_xml_to_array

from django.db import transaction

from catalogue import services as catalogue_services
from catalogue.models import MarcImportRecord, ProblemLevel, Title
from catalogue.normalise import ean_normalise, isbn_normalise
from collection.models import CollectionKind, ItemType
from collection.services import branch_of
from core.errors import ServiceError
from core.money import euro_parse

from ..models import Fund, LineSource, Order, OrderStatus
from .common import acquisitions_actor
from .orders import MAX_QUANTITY, order_line_add

CSV_COLUMNS = {
    "isbn": ("isbn", "ean", "isbn13"),
    "title": ("titel", "title"),
    "author": ("auteur", "author", "maker"),
    "publisher": ("uitgever", "publisher"),
    "year": ("jaar", "year"),
    "price": ("prijs", "price", "bedrag"),
    "quantity": ("aantal", "quantity", "aant"),
}


@dataclass
class _Row:
    number: int
    isbn: str = ""
    title: str = ""
    author: str = ""
    publisher: str = ""
    year: str = ""
    price_cents: int | None = None
    quantity: int = 1
    control: tuple = ("", "")  # (003, 001) of a MARC record
    record: object = None  # pymarc Record to import (new title)
    title_id: int | None = None


@dataclass
class TitleListResult:
    lines: list = field(default_factory=list)
    problems: list = field(default_factory=list)  # [ServiceError] in row order
    titles_new: int = 0
    marc_import: object = None


def _format(data):
    head = data.lstrip()[:200]
    if head[:1] == b"<":
        return "marcxml"
    if data[:5].isdigit() and len(data) >= 24:
        return "iso2709"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", "replace")
    first = text.splitlines()[0].lower() if text.strip() else ""
    if "isbn" in first or "ean" in first:
        return "csv"
    raise ServiceError("title_list.format_unknown", field="file")


def _int(value, default):
    value = (value or "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        return None
    return number if 0 < number <= MAX_QUANTITY else None


def _csv_rows(data, default_quantity, default_price_cents, problems):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", "replace")
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=";,\t")
    except csv.Error:
        dialect = csv.excel
        dialect.delimiter = ";" if sample.count(";") >= sample.count(",") else ","
    reader = csv.reader(io.StringIO(text), dialect)
    header = [cell.strip().lower() for cell in next(reader, [])]
    columns = {}
    for key, names in CSV_COLUMNS.items():
        for index, name in enumerate(header):
            if name in names:
                columns[key] = index
                break
    for required in ("isbn", "title"):
        if required not in columns:
            raise ServiceError("title_list.csv_columns", field="file", column=CSV_COLUMNS[required][0])
    rows = []
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue

        def cell(key):
            index = columns.get(key)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        row = _Row(number=number, title=cell("title")[:300], author=cell("author")[:200],
                   publisher=cell("publisher")[:200], year=cell("year")[:4])
        raw_isbn = cell("isbn")
        row.isbn = isbn_normalise(raw_isbn) or ean_normalise(raw_isbn) or ""
        if not row.isbn:
            problems.append(ServiceError("row.isbn_invalid", row=number, value=raw_isbn or "—"))
            continue
        price_text = cell("price")
        row.price_cents = euro_parse(price_text) if price_text else default_price_cents
        if not row.price_cents or row.price_cents <= 0:
            problems.append(ServiceError("row.price_invalid", row=number, value=price_text or "—"))
            continue
        quantity = _int(cell("quantity"), default_quantity)
        if quantity is None:
            problems.append(ServiceError("row.quantity_invalid", row=number, value=cell("quantity")))
            continue
        row.quantity = quantity
        rows.append(row)
    return rows


def _csv_record(row, source):
    record = Record(leader=Leader("00000nam a2200000 a 4500"), force_utf8=True)
    year = row.year if row.year.isdigit() and len(row.year) == 4 else "    "
    record.add_field(Field(tag="001", data=row.isbn), Field(tag="003", data=source),
                     Field(tag="008", data=f"000000s{year}    ne            000 1 dut d"),
                     Field(tag="020", indicators=[" ", " "], subfields=[Subfield("a", row.isbn)]))
    if row.author:
        record.add_field(Field(tag="100", indicators=["1", " "], subfields=[Subfield("a", row.author)]))
    record.add_field(Field(tag="245", indicators=["1", "0"], subfields=[Subfield("a", row.title)]))
    publication = [Subfield("b", row.publisher)] if row.publisher else []
    if year.strip():
        publication.append(Subfield("c", year))
    if publication:
        record.add_field(Field(tag="264", indicators=[" ", "1"], subfields=publication))
    return record


def _marc_rows(data, marc_format, default_quantity, default_price_cents, problems):
    if marc_format == "marcxml":
        try:
            records = parse_xml_to_array(io.BytesIO(data))
        except Exception:  # noqa: BLE001 - any XML problem: not a MARC file
            raise ServiceError("title_list.format_unknown", field="file") from None
    else:
        records = list(MARCReader(data, to_unicode=True, force_utf8=False, utf8_handling="replace",
                                  permissive=True))
    rows = []
    for number, record in enumerate(records, start=1):
        row = _Row(number=number, quantity=default_quantity)
        rows.append(row)
        if record is None:
            continue  # the catalogue's import names the problem of this record
        control = tuple((record.get_fields(tag)[0].data or "").strip() if record.get_fields(tag) else ""
                        for tag in ("003", "001"))
        row.control = control
        for field_020 in record.get_fields("020"):
            row.isbn = row.isbn or isbn_normalise(" ".join(field_020.get_subfields("a"))) or ""
            for price in field_020.get_subfields("c"):
                row.price_cents = row.price_cents or euro_parse(price.replace("EUR", "").strip(" :"))
        for field_365 in record.get_fields("365"):
            for price in field_365.get_subfields("b"):
                row.price_cents = row.price_cents or euro_parse(price)
        row.title = (record.title or "")[:300] if hasattr(record, "title") else ""
        if not row.price_cents:
            row.price_cents = default_price_cents
    return rows


def _import_outcome(marc_import):
    """({record number: why the catalogue refused it}, {record number: the title it became
    or was matched to}) from the import's log. Warnings are not refusals: such a record
    was imported; the title is the one the catalogue's matching chose (a supplier's record
    of a national title is attached to it, not copied)."""
    refused = {problem.record_number: problem.reason
               for problem in marc_import.problems.filter(level=ProblemLevel.REFUSED)}
    found = dict(MarcImportRecord.objects.filter(marc_import=marc_import, title__isnull=False)
                 .values_list("record_number", "title_id"))
    return refused, found


def _title_for(row, imported=None):
    """The title a row orders: none for a row without 001 or ISBN; else the title the
    catalogue import matched or made for its record (`imported`), or found by 003/001 or ISBN."""
    source, control_number = row.control
    if not control_number and not row.isbn:
        return None
    if imported:
        return imported
    if control_number:
        title_id = Title.objects.filter(source=source, control_number=control_number).values_list(
            "pk", flat=True).first()
        if title_id:
            return title_id
    if row.isbn:
        return (Title.objects.filter(isbns__contains=[row.isbn]).order_by("pk").values_list("pk", flat=True).first()
                or Title.objects.filter(eans__contains=[row.isbn]).order_by("pk").values_list("pk", flat=True)
                .first())
    return None


def title_list_import(*, actor, order_id, data, file_name, fund_id, branch_id, shelf_location="",
                      default_quantity=1, default_price_cents=None, item_type=ItemType.BOOK,
                      collection=CollectionKind.ADULT, discount=None):
    """Add the titles of a supplier's list (bytes of a MARC21 or CSV file) to an
    order list, each with its quantity to `branch_id` / `shelf_location` on `fund_id`.
    Returns a TitleListResult: the lines added and one problem per broken row."""
    acquisitions_actor(actor)
    order = Order.objects.select_related("supplier").filter(pk=order_id).first()
    if order is None:
        raise ServiceError("order.not_found")
    if order.status != OrderStatus.DRAFT:
        raise ServiceError("order.not_draft", number=order.number)
    fund = Fund.objects.filter(pk=fund_id).first() if fund_id not in (None, "") else None
    if fund is None:
        raise ServiceError("line.fund_missing", field="fund")
    branch_of(actor.organisation, branch_id)
    if not data or not data.strip():
        raise ServiceError("title_list.empty", field="file")
    marc_format = _format(data)
    result = TitleListResult()
    problems = []
    if marc_format == "csv":
        rows = _csv_rows(data, default_quantity, default_price_cents, problems)
        for row in rows:
            row.title_id = _title_for(row)
            if row.title_id is None:
                if not row.title:
                    problems.append(ServiceError("row.title_missing", row=row.number))
                    row.number = None
                    continue
                row.record = _csv_record(row, order.supplier.catalogue_source or f"LEV-{order.supplier.code}")
        rows = [row for row in rows if row.number is not None]
        new = [row for row in rows if row.record is not None]
        if new:
            stream = io.BytesIO(b"".join(row.record.as_marc() for row in new))
            result.marc_import = catalogue_services.marc_import_run(
                marc_import=catalogue_services.marc_import_register(actor=actor, file_name=file_name[:200]),
                stream=stream)
            refused, found = _import_outcome(result.marc_import)
            for index, row in enumerate(new, start=1):
                if index in refused:
                    problems.append(ServiceError("row.record_refused", row=row.number, reason=refused[index]))
                    row.number = None
                    continue
                row.title_id = _title_for(row, found.get(index))
            result.titles_new = result.marc_import.created
    else:
        rows = _marc_rows(data, marc_format, default_quantity, default_price_cents, problems)
        result.marc_import = catalogue_services.marc_import_run(
            marc_import=catalogue_services.marc_import_register(actor=actor, file_name=file_name[:200]),
            stream=io.BytesIO(data))
        result.titles_new = result.marc_import.created
        refused, found = _import_outcome(result.marc_import)
        for row in rows:
            if row.number in refused:
                problems.append(ServiceError("row.record_refused", row=row.number, reason=refused[row.number]))
                row.number = None
                continue
            row.title_id = _title_for(row, found.get(row.number))
            if row.title_id is None:
                problems.append(ServiceError("row.record_no_title", row=row.number))
                row.number = None
            elif not row.price_cents or row.price_cents <= 0:
                problems.append(ServiceError("row.price_invalid", row=row.number, value="—"))
                row.number = None
    with transaction.atomic():  # the order list gets every good row or, on a refusal, none
        for row in rows:
            if row.number is None or row.title_id is None:
                continue
            result.lines.append(order_line_add(
                actor=actor, order_id=order.pk, title_id=row.title_id, list_price_cents=row.price_cents,
                fund_id=fund_id, discount=discount, item_type=item_type, collection=collection,
                source=LineSource.SUPPLIER_LIST,
                copies=[{"branch_id": branch_id, "shelf_location": shelf_location, "quantity": row.quantity}]))
    result.problems = sorted(problems, key=lambda error: error.params.get("row", 0))
    if not result.lines and problems:
        result.problems.insert(0, ServiceError("title_list.nothing_imported"))
    return result

"""CSV exports: the one way LSB writes a CSV file for people to open.

Every export (the weeding list, and any later one) writes through `csv_response`
or `csv_rows`, so two rules hold everywhere:

- Formula injection: a spreadsheet runs a cell that starts with `=`, `+`, `-`,
  `@`, a tab or a carriage return as a formula. Values come from MARC titles any
  library can import, from member input and from staff typing, so such a cell is
  written with a leading apostrophe (`'=HYPERLINK(...)`), which spreadsheets show
  as text. Numbers (int, float, Decimal) are written as they are: a negative
  amount stays a number.
- Dutch spreadsheets: `;` as the separator, UTF-8 with a byte order mark so Excel
  reads the accents.

    return csv_response("wieden.csv", header=[...], rows=(... for item in items))
"""

import csv
import io
import re
from decimal import Decimal

from django.http import HttpResponse, StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
DELIMITER = ";"


_PLAIN_NUMBER = re.compile(r"-?[0-9]+([.,][0-9]+)*")


def csv_cell(value):
    """One cell as text, defused: a text starting with a formula character gets a
    leading apostrophe; None is empty; numbers (and text that is only a number,
    such as an amount "-12,50") stay numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


class _Echo:
    def write(self, value):
        return value


def csv_rows(header, rows, *, bom=True):
    """The lines of a CSV file (each a str, the first the byte order mark unless
    `bom` is off: a file for another system rather than a spreadsheet), every cell
    through csv_cell; for streaming."""
    writer = csv.writer(_Echo(), delimiter=DELIMITER)
    if bom:
        yield BOM
    yield writer.writerow([csv_cell(value) for value in header])
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in row])


def csv_text(rows, *, bom=False):
    """A whole CSV file as one text, every cell through csv_cell; rows may differ in
    length (several tables one after another, an empty row between them)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=DELIMITER)
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return (BOM if bom else "") + out.getvalue()


def csv_download(filename, text):
    """A CSV download of a text made by csv_text."""
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def csv_response(filename, *, header, rows, bom=True):
    """A streamed CSV download (text/csv, attachment) of `rows` under `header`."""
    response = StreamingHttpResponse(csv_rows(header, rows, bom=bom), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response

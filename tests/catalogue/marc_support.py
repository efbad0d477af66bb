"""Shared helpers for the MARC tests: the real test files in tests/data/marc (the
ones the tests use, from pymarc's test data) and running an import."""

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from catalogue import services
from catalogue.models import MarcFormat, ProblemLevel
from core.actors import Actor


def marc_dir():
    return Path(__file__).resolve().parents[1] / "data" / "marc"


def marc_file(name):
    path = marc_dir() / name
    if not path.exists():
        pytest.fail(f"MARC test file {path} is missing from tests/data/marc")
    return path


def marc_bytes(name):
    return marc_file(name).read_bytes()


def run_import(data, *, marc_format=MarcFormat.AUTO, file_name="test.mrc", organisation=None, batch_size=None,
               progress=None):
    """Import bytes through the real service, as the command does; returns the import."""
    marc_import = services.marc_import_register(
        actor=Actor.system("import_marc", organisation), file_name=file_name, marc_format=marc_format
    )
    options = {"batch_size": batch_size} if batch_size else {}
    return services.marc_import_run(marc_import=marc_import, stream=io.BytesIO(data), progress=progress, **options)


def upload_import(organisation, user, name, data):
    """Queue an import of uploaded bytes as `user` at the desk of `organisation`
    (the upload screen's service); returns the import."""
    with tenant_context(organisation):
        return services.marc_import_create(actor=Actor.staff(user, organisation),
                                           upload=SimpleUploadedFile(name, data))


def problems_of(marc_import):
    """(record number, byte offset, reason in Dutch) of every record the import refused."""
    return [(problem.record_number, problem.byte_offset, problem.reason)
            for problem in marc_import.problems.filter(level=ProblemLevel.REFUSED).order_by("record_number", "pk")]


def warnings_of(marc_import):
    """(record number, code, reason in Dutch) of every warning about a record the import took."""
    return [(problem.record_number, problem.code, problem.reason)
            for problem in marc_import.problems.filter(level=ProblemLevel.WARNING).order_by("record_number", "pk")]


@pytest.fixture
def media_root(settings, tmp_path):
    """Uploaded files go to a temporary MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT

"""MARC export: a library's catalogue with its holdings in 852 (collection, which
owns the items), or selected titles (catalogue); streamed, and readable again by
pymarc (and by our own import)."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tenants.utils import tenant_context
from pymarc import MARCReader, parse_xml_to_array

from catalogue.marc_export import export_marc
from catalogue.models import MarcFormat, Title
from collection import services as collection_services
from collection.marc_export import export_library_marc
from collection.models import WithdrawalReason
from core.actors import Actor

from .marc_support import marc_bytes, run_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(db):
    """The 20 titles of marc.dat, imported."""
    run_import(marc_bytes("marc.dat"))
    return {title.control_number: title for title in Title.objects.all()}


def add_items(organisation, user, title, branch, barcodes, **fields):
    with tenant_context(organisation):
        collection_services.item_add(actor=Actor.staff(user, organisation), title_id=title.pk,
                                     barcodes=barcodes, branch_id=branch.pk, **fields)


@pytest.fixture
def holdings(catalogue, libraries, staff):
    """Alpha holds two titles (one of their items withdrawn) and a third title whose
    only item is withdrawn."""
    alpha = libraries.alpha
    v1, v2 = alpha.branches.order_by("code")
    add_items(alpha, staff.alpha_collection, catalogue["11778504"], v1, "ALPHA00001",
              shelf_location="Informatica", call_number="005.1 HUN")
    add_items(alpha, staff.alpha_collection, catalogue["11778504"], v2, "ALPHA00002")
    add_items(alpha, staff.alpha_collection, catalogue["1598167"], v2, "ALPHA00003 ALPHA00004",
              call_number="005.1 GAM")
    add_items(alpha, staff.alpha_collection, catalogue["3035409"], v1, "ALPHA00005")
    with tenant_context(alpha):
        collection_services.item_withdraw(actor=Actor.staff(staff.alpha_collection, alpha),
                                          barcodes="ALPHA00004 ALPHA00005", reason=WithdrawalReason.WORN)
    return catalogue


def holdings_of(record):
    return [
        {code: field.get(code) for code in "abchp" if field.get(code) is not None}
        for field in record.get_fields("852")
    ]


def test_library_catalogue_has_its_titles_with_their_holdings_in_852(holdings, libraries):
    alpha = libraries.alpha
    data = b"".join(export_library_marc(marc_format=MarcFormat.ISO2709, organisation=alpha))

    records = list(MARCReader(io.BytesIO(data), to_unicode=True))
    assert all(record is not None for record in records)
    # Titles with items that are not withdrawn, in title order.
    assert [record["001"].data for record in records] == ["11778504", "1598167"]
    pragmatic, patterns = records
    assert holdings_of(pragmatic) == [
        {"a": alpha.isil, "b": "v1", "c": "Informatica", "h": "005.1 HUN", "p": "ALPHA00001"},
        {"a": alpha.isil, "b": "v2", "p": "ALPHA00002"},
    ]
    assert holdings_of(patterns) == [{"a": alpha.isil, "b": "v2", "h": "005.1 GAM", "p": "ALPHA00003"}]
    # The rest of the record is the catalogue's.
    assert pragmatic.title.startswith("The pragmatic programmer")
    assert pragmatic["020"]["a"] == "020161622X"


def test_marcxml_export_reads_back_the_same_records(holdings, libraries):
    data = b"".join(export_library_marc(marc_format=MarcFormat.MARCXML, organisation=libraries.alpha))

    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    records = parse_xml_to_array(io.BytesIO(data), strict=True)  # MARC21 slim namespace
    iso = list(MARCReader(io.BytesIO(b"".join(
        export_library_marc(marc_format=MarcFormat.ISO2709, organisation=libraries.alpha))), to_unicode=True))
    assert [record.as_marc() for record in records] == [record.as_marc() for record in iso]


def test_another_library_exports_only_its_own_holdings(holdings, libraries, staff):
    gamma = libraries.gamma
    add_items(gamma, staff.gamma_library_admin, holdings["11778504"], gamma.branches.order_by("code").first(),
              "GAMMA00001")

    records = list(MARCReader(io.BytesIO(b"".join(
        export_library_marc(marc_format=MarcFormat.ISO2709, organisation=gamma))), to_unicode=True))

    assert [record["001"].data for record in records] == ["11778504"]
    assert holdings_of(records[0]) == [{"a": gamma.isil, "b": "v1", "p": "GAMMA00001"}]


def test_selected_titles_without_a_library_are_the_catalogue_records_themselves(catalogue):
    chosen = [catalogue["3035409"].pk, catalogue["11778504"].pk]
    data = b"".join(export_marc(marc_format=MarcFormat.ISO2709, title_ids=chosen))

    records = list(MARCReader(io.BytesIO(data), to_unicode=True))
    assert [record["001"].data for record in records] == ["11778504", "3035409"]  # in id order
    assert all(not record.get_fields("852") for record in records)
    # Exported and imported again: the same records, nothing changes.
    again = run_import(data)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_selected_titles_with_a_library_carry_its_holdings(holdings, libraries):
    data = b"".join(export_library_marc(marc_format=MarcFormat.ISO2709, organisation=libraries.alpha,
                                        title_ids=[holdings["1598167"].pk, holdings["205256"].pk]))
    records = {record["001"].data: record for record in MARCReader(io.BytesIO(data), to_unicode=True)}
    assert len(holdings_of(records["1598167"])) == 1
    assert holdings_of(records["205256"]) == []  # selected, but alpha holds no copy


def test_export_is_streamed_in_chunks(holdings, libraries):
    pieces = export_library_marc(marc_format=MarcFormat.ISO2709, organisation=libraries.alpha, chunk_size=1)
    first = next(pieces)
    assert MARCReader(io.BytesIO(first)).__next__()["001"].data == "11778504"
    assert len(list(pieces)) == 1


def test_export_command_writes_a_file(holdings, libraries, tmp_path, capsys):
    target = tmp_path / "alpha.xml"
    call_command("export_marc", "--library", "alpha", "--format", "marcxml", "-o", str(target))

    assert "2 records written" in capsys.readouterr().err
    assert len(parse_xml_to_array(str(target))) == 2


def test_export_command_refuses_unknown_titles_and_missing_selection(catalogue):
    with pytest.raises(CommandError, match="Unknown title ids: 999999"):
        call_command("export_marc", "--titles", f"{catalogue['3035409'].pk},999999")
    with pytest.raises(CommandError, match="Give --library, --titles, or both"):
        call_command("export_marc")
    with pytest.raises(CommandError, match="Unknown library"):
        call_command("export_marc", "--library", "bestaatniet")


# --- identifiers, clean text, round trips (issue 11) ------------------------------------------


def parse_every_export(data, marc_format):
    """An export as records, through pymarc, after a strict XML parse for MARCXML."""
    if marc_format == MarcFormat.MARCXML:
        import xml.etree.ElementTree as ElementTree

        ElementTree.fromstring(data)  # well-formed, or this raises
        return parse_xml_to_array(io.BytesIO(data), strict=True)
    records = list(MARCReader(io.BytesIO(data), to_unicode=True, force_utf8=True))
    assert all(record is not None for record in records)
    return records


@pytest.mark.parametrize("marc_format", [MarcFormat.ISO2709, MarcFormat.MARCXML])
def test_every_export_carries_the_lsb_number_and_round_trips_through_pymarc(marc_format):
    """The real records in every script, exported and read back by pymarc: the same
    text, each with LSB's title number in 035."""
    from catalogue.models import Title

    run_import(marc_bytes("loc-scripts.mrc"))
    run_import(marc_bytes("oclc-814388508-greek.xml"))
    titles = list(Title.objects.order_by("pk"))
    data = b"".join(export_marc(marc_format=marc_format, title_ids=[title.pk for title in titles]))

    records = parse_every_export(data, marc_format)
    assert len(records) == len(titles) == 16
    for title, record in zip(titles, records):
        assert f"(LSB){title.pk}" in [field["a"] for field in record.get_fields("035")]
        stored = MARCReader(io.BytesIO(bytes(title.marc)), to_unicode=True, force_utf8=True).__next__()
        assert [str(field) for field in record.fields if field.tag != "035"] == [
            str(field) for field in stored.fields if field.tag != "035"]
        vernacular = [field["a"] for field in record.get_fields("880") if field["6"].startswith("245")]
        if title.vernacular_title:
            assert title.vernacular_title in vernacular[0]


def test_text_with_control_characters_from_before_never_reaches_an_export(catalogue):
    """A title stored before text was cleaned, with ESC, a C1 control and a NUL in its
    record: the export leaves them out and its MARCXML is well-formed."""
    from pymarc import Field, Subfield

    from catalogue.models import Title

    title = catalogue["11778504"]
    record = MARCReader(io.BytesIO(bytes(title.marc)), to_unicode=True, force_utf8=True).__next__()
    record.add_ordered_field(Field(tag="500", indicators=[" ", " "],
                                   subfields=[Subfield("a", "Oud\x1b(B record\x85 met\x00 stuurtekens.")]))
    Title.objects.filter(pk=title.pk).update(marc=record.as_marc())

    for marc_format in (MarcFormat.ISO2709, MarcFormat.MARCXML):
        data = b"".join(export_marc(marc_format=marc_format, title_ids=[title.pk]))
        [exported] = parse_every_export(data, marc_format)
        notes = [field["a"] for field in exported.get_fields("500")]
        assert "Oud(B record met stuurtekens." in notes
        assert not any(char in data.decode("utf-8") for char in "\x1b\x85\x00")


@pytest.mark.parametrize("marc_format", [MarcFormat.ISO2709, MarcFormat.MARCXML])
def test_a_library_importing_its_own_export_finds_its_titles_and_keeps_its_852s_out(holdings, libraries,
                                                                                    marc_format):
    from catalogue.models import LocalRecord, MarcImportRecord, Title, TitleVersion

    before = {title.pk: bytes(title.marc) for title in Title.objects.all()}
    data = b"".join(export_library_marc(marc_format=marc_format, organisation=libraries.alpha))
    assert len(parse_every_export(data, marc_format)) == 2

    again = run_import(data, organisation=libraries.alpha)

    assert (again.created, again.updated, again.attached, again.unchanged, again.skipped) == (0, 0, 0, 2, 0)
    assert set(MarcImportRecord.objects.filter(marc_import=again).values_list("rule", "outcome")) == {
        ("lsb_number", "unchanged")}
    assert {title.pk: bytes(title.marc) for title in Title.objects.all()} == before
    assert not any(b"ALPHA0000" in marc for marc in before.values())
    assert not LocalRecord.objects.exists() and not TitleVersion.objects.exists()

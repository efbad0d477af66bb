"""The MARC screens: upload -> import task -> detail page with counts and problem
log; the library's import list; the export download. Collection role only."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pymarc import MARCReader, parse_xml_to_array

from catalogue.models import MarcImport, MarcImportStatus, Title
from catalogue.tasks import marc_import_process
from staff.models import Role
from tests.conftest import host_client

from .marc_support import marc_bytes, media_root, upload_import  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

IMPORTS = "/collectie/marc/"


@pytest.fixture
def alpha_client(client, staff):
    client.force_login(staff.alpha_collection)
    return host_client(client, "alpha")


def upload(client, name, data, marc_format="auto"):
    return client.post(IMPORTS, {"file": SimpleUploadedFile(name, data), "format": marc_format})


def test_upload_queues_the_import_and_the_detail_page_follows_it(
        alpha_client, staff, libraries, media_root, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = upload(alpha_client, "marc.dat", marc_bytes("marc.dat"))

    marc_import = MarcImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("marc:import", args=[marc_import.pk])
    assert len(callbacks) == 1  # the task is sent once the upload is committed
    assert (marc_import.organisation, marc_import.user) == (libraries.alpha, staff.alpha_collection)
    assert (marc_import.file_name, marc_import.status) == ("marc.dat", MarcImportStatus.QUEUED)

    page = alpha_client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "marc.dat staat in de wachtrij voor import." in html
    assert 'data-testid="status">In de wachtrij<' in html
    assert '<meta http-equiv="refresh" content="2">' in html  # refreshes itself while not finished

    marc_import_process(marc_import.pk)  # the task body, as the worker runs it

    page = alpha_client.get(response["Location"])
    html = page.content.decode()
    assert 'data-testid="status">Klaar<' in html
    assert 'data-testid="created">20<' in html
    assert 'data-testid="skipped">0<' in html
    assert "Geen: alle records zijn verwerkt." in html
    assert "http-equiv" not in html
    assert Title.objects.count() == 20


def test_detail_page_lists_each_skipped_record_with_position_and_reason(
        alpha_client, media_root, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(alpha_client, "bad_records.mrc", marc_bytes("bad_records.mrc"), "iso2709")
    marc_import_process(MarcImport.objects.get().pk)

    html = alpha_client.get(response["Location"]).content.decode()
    assert 'data-testid="created">1<' in html
    assert 'data-testid="unchanged">1<' in html
    assert 'data-testid="skipped">7<' in html
    for offset in (127, 254, 381, 509, 637, 764, 917):
        assert f"byte {offset}" in html
    assert "kapotte leader: basisadres 99937 ligt buiten het record (127 bytes)" in html
    assert "afgebroken record" in html


def test_import_list_shows_this_librarys_imports_only(alpha_client, client, staff, libraries, media_root):
    upload_import(libraries.alpha, staff.alpha_collection, "alpha-feed.mrc", marc_bytes("one.dat"))
    upload_import(libraries.gamma, staff.gamma_library_admin, "gamma-feed.mrc", marc_bytes("one.dat"))

    html = alpha_client.get(IMPORTS).content.decode()
    assert "alpha-feed.mrc" in html
    assert "gamma-feed.mrc" not in html

    gamma_import = MarcImport.objects.get(file_name="gamma-feed.mrc")
    assert alpha_client.get(reverse("marc:import", args=[gamma_import.pk])).status_code == 404


@pytest.mark.parametrize(
    ("data", "marc_format", "message"),
    [
        (None, "auto", "Kies een MARC-bestand."),
        (b"", "auto", "Het bestand is leeg."),
        (b"00000", "dbase", "Selecteer een geldige keuze."),
    ],
)
def test_upload_errors_are_shown_in_dutch_and_start_nothing(alpha_client, media_root, data, marc_format, message):
    fields = {"format": marc_format}
    if data is not None:
        fields["file"] = SimpleUploadedFile("leeg.mrc", data)
    response = alpha_client.post(IMPORTS, fields)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not MarcImport.objects.exists()


def test_the_upload_service_refuses_with_codes_and_stores_nothing(libraries, staff, media_root):
    from django_tenants.utils import tenant_context

    from catalogue import services
    from core.actors import Actor
    from core.errors import error_codes
    from tests.factories import staff_with_role

    alpha = libraries.alpha
    beta_collection = staff_with_role(libraries.beta, Role.COLLECTION)
    refusals = [
        # An actor of another library while the connection is in alpha's schema.
        (Actor.staff(beta_collection, libraries.beta), "auto", b"00000", "actor.other_library"),
        # Staff of alpha without the collection role; a member; the system.
        (Actor.staff(staff.alpha_desk, alpha), "auto", b"00000", "actor.no_role"),
        (Actor.member(1, alpha), "auto", b"00000", "actor.no_role"),
        (Actor.system("nightly", alpha), "auto", b"00000", "actor.no_role"),
        (Actor.staff(staff.alpha_collection, alpha), "dbase", b"00000", "marc_import.format_unknown"),
        (Actor.staff(staff.alpha_collection, alpha), "auto", b"", "marc_import.file_empty"),
    ]
    with tenant_context(alpha):
        for actor, marc_format, data, code in refusals:
            with pytest.raises(ValidationError) as error:
                services.marc_import_create(actor=actor, upload=SimpleUploadedFile("feed.mrc", data),
                                            marc_format=marc_format)
            assert error_codes(error.value) == [code]
    assert not MarcImport.objects.exists()
    assert not services.default_storage.exists("marc_imports")

    marc_import = upload_import(alpha, staff.alpha_collection, "feed.mrc", marc_bytes("one.dat"))
    assert (marc_import.organisation, marc_import.user, marc_import.actor_ref) == (
        alpha, staff.alpha_collection, f"staff:{staff.alpha_collection.pk}")


def test_the_command_logs_its_import_as_the_system(libraries):
    from tests.catalogue.marc_support import run_import

    national = run_import(marc_bytes("one.dat"))
    for_alpha = run_import(marc_bytes("one.dat"), organisation=libraries.alpha)
    assert (national.organisation, national.user, national.actor_ref) == (None, None, "system:import_marc")
    assert (for_alpha.organisation, for_alpha.actor_ref) == (libraries.alpha, "system:import_marc")


def test_a_failed_import_shows_why(alpha_client, libraries, staff, media_root):
    from catalogue import services

    marc_import = upload_import(libraries.alpha, staff.alpha_collection, "weg.mrc", marc_bytes("one.dat"))
    services.default_storage.delete(marc_import.stored_file)
    marc_import_process(marc_import.pk)

    html = alpha_client.get(reverse("marc:import", args=[marc_import.pk])).content.decode()
    assert 'data-testid="status">Mislukt<' in html
    assert "Het geüploade bestand is niet (meer) te lezen." in html


@pytest.mark.parametrize("path", [IMPORTS, "/collectie/marc/export/", "/collectie/marc/export/download/"])
def test_staff_without_the_collection_role_are_refused(client, staff, path):
    client.force_login(staff.alpha_desk)
    response = host_client(client, "alpha").get(path)
    assert response.status_code == 403
    assert f"de rol <strong>{Role.COLLECTION.label}</strong> nodig" in response.content.decode()


def test_staff_of_another_library_are_refused(client, staff):
    client.force_login(staff.alpha_collection)
    assert host_client(client, "beta").get(IMPORTS).status_code == 403


def test_export_page_and_download(alpha_client, libraries, staff):
    from django_tenants.utils import tenant_context

    from collection import services as collection_services
    from core.actors import Actor
    from tests.catalogue.marc_support import run_import

    run_import(marc_bytes("marc.dat"))
    title = Title.objects.get(control_number="12515882")
    alpha = libraries.alpha
    with tenant_context(alpha):
        collection_services.item_add(actor=Actor.staff(staff.alpha_collection, alpha), title_id=title.pk,
                                     barcodes="ALPHA00010", branch_id=alpha.branches.order_by("code").first().pk,
                                     call_number="005.133 LUT")

    page = alpha_client.get("/collectie/marc/export/").content.decode()
    assert 'data-testid="title-count">1<' in page

    response = alpha_client.get("/collectie/marc/export/download/", {"format": "iso2709"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/marc"
    assert response["Content-Disposition"].startswith('attachment; filename="alpha-catalogus-')
    [record] = list(MARCReader(io.BytesIO(b"".join(response.streaming_content)), to_unicode=True))
    assert record["001"].data == "12515882"
    assert record["852"]["p"] == "ALPHA00010" and record["852"]["h"] == "005.133 LUT"

    response = alpha_client.get("/collectie/marc/export/download/", {"format": "marcxml"})
    assert response["Content-Type"] == "application/marcxml+xml"
    # Parsed as MARCXML, as another system would read it: the same record and copy.
    [record] = parse_xml_to_array(io.BytesIO(b"".join(response.streaming_content)))
    assert record["001"].data == "12515882"
    assert record["852"]["p"] == "ALPHA00010" and record["852"]["h"] == "005.133 LUT"

    response = alpha_client.get("/collectie/marc/export/download/", {"format": "pdf"})
    assert response.status_code == 400
    assert "Kies MARC21 (ISO 2709) of MARCXML." in response.content.decode()


# --- issue 11: refusals, the import report, a title's provenance -------------------------------


def test_an_upload_that_is_not_marc_gets_one_dutch_message_and_starts_nothing(alpha_client, media_root):
    response = upload(alpha_client, "omslag.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01")

    assert response.status_code == 400
    html = response.content.decode()
    assert "Dit is geen MARC21-bestand, maar een afbeelding." in html
    assert "kapotte" not in html
    assert not MarcImport.objects.exists()

    response = upload(alpha_client, "iccu.mrc", marc_bytes("testunimarc.dat"))
    assert "Dit is een UNIMARC-bestand, geen MARC21-bestand." in response.content.decode()
    assert not MarcImport.objects.exists()


def test_the_import_report_shows_the_rules_the_warnings_and_each_record(
        alpha_client, media_root, django_capture_on_commit_callbacks):
    from tests.catalogue.marc_support import run_import

    run_import(marc_bytes("one.dat"))  # the national record that alpha's file will meet
    data = marc_bytes("one.dat") + marc_bytes("bad_indicator.dat")
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(alpha_client, "alpha.mrc", data)
    marc_import_process(MarcImport.objects.get(file_name="alpha.mrc").pk)

    html = alpha_client.get(response["Location"]).content.decode()
    assert 'data-testid="created">1<' in html and 'data-testid="unchanged">1<' in html
    assert 'data-testid="warnings">1<' in html
    assert 'data-testid="rule-identity-unchanged"' in html
    assert 'data-testid="rule-none-created"' in html
    assert "zelfde bron en controlenummer (003/001)" in html
    assert "veld met ongeldig label &#x27;0 2&#x27; weggelaten" in html
    title = Title.objects.get(control_number="426705")
    assert reverse("marc:title", args=[title.pk]) in html


def test_a_titles_provenance_page_and_restoring_a_version(client, staff, libraries, media_root):
    from django.contrib.auth.models import Permission

    from catalogue.models import TitleVersion
    from tests.catalogue.marc_support import run_import
    from tests.factories import marc_record

    run_import(marc_record(title="Het gouden ei", author="Krabbé, Tim", isbn="9789046706022",
                           control_number="NBD1", source="NBD").as_marc())
    run_import(marc_record(title="Het gouden ei (herzien)", author="Krabbé, Tim", isbn="9789046706022",
                           control_number="NBD1", source="NBD").as_marc())
    title = Title.objects.get()
    version = TitleVersion.objects.get()
    page_url = reverse("marc:title", args=[title.pk])

    client.force_login(staff.alpha_collection)
    alpha = host_client(client, "alpha")
    html = alpha.get(page_url).content.decode()
    assert 'data-testid="owner">Landelijke bibliografische dienst<' in html
    assert "bijgewerkt door de eigen bron" in html and "system:import_marc" in html
    assert "Deze versie terugzetten" not in html  # collection staff of a library: not a national record's undo
    response = alpha.post(page_url, {"version": version.pk})
    assert response.status_code == 302
    html = alpha.get(page_url).content.decode()
    assert ("Alleen een landelijk catalogiseerder, of de bibliotheek die de titel beschreef, mag een wijziging "
            "van deze titel terugdraaien.") in html
    title.refresh_from_db()
    assert title.title == "Het gouden ei (herzien)"

    staff.alpha_collection.user_permissions.add(Permission.objects.get(codename="catalogue_national"))
    html = alpha.get(page_url).content.decode()
    assert "Deze versie terugzetten" in html
    alpha.post(page_url, {"version": version.pk})
    title.refresh_from_db()
    assert title.title == "Het gouden ei"
    html = alpha.get(page_url).content.decode()
    assert "De vorige versie van deze titel is teruggezet." in html
    assert "teruggezet door een catalogiseerder" in html

"""Issue 11, done means: a national cataloguer imports the national feed in the
browser (the national admin's MARC deliveries), and a library imports its local
file of the same titles, in either order: the national records are the feed's and
owned by the national service, the library's records and holdings are attached,
every refused record has a reason on the delivery's page."""

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from pymarc import Record

from catalogue import services
from catalogue.models import LocalRecord, MarcImport, MarcImportStatus, Title
from catalogue.tasks import marc_import_process
from core.actors import Actor
from staff.models import Role
from tests.factories import StaffUserFactory, staff_with_role
from tests.refusals import refused

from .marc_support import marc_bytes, media_root, run_import  # noqa: F401 (fixture)
from .test_marc_authority import KLEIST, PRODIGE, as_library_record, national, stored_form

pytestmark = pytest.mark.django_db

NATIONAL = "localhost"
ADD = "/admin/catalogue/marcimport/add/"


@pytest.fixture
def national_cataloguer():
    user = StaffUserFactory(username="nbd.catalogiseerder", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="catalogue_national"))
    return type(user).objects.get(pk=user.pk)


def upload(client, name, data):
    return client.post(ADD, {"file": SimpleUploadedFile(name, data), "format": "auto"}, HTTP_HOST=NATIONAL)


def test_a_national_cataloguer_uploads_the_feed_and_reads_each_records_fate(
        client, libraries, national_cataloguer, media_root, django_capture_on_commit_callbacks):
    # The library's own file came first: Kleist is its description, with its holdings.
    local_file = (as_library_record(national(PRODIGE), control_number="ALP-1", title="Prodige (lokaal)").as_marc()
                  + as_library_record(national(KLEIST), control_number="ALP-2", title="Kleist (lokaal)",
                                      barcode="A0002").as_marc())
    run_import(local_file, organisation=libraries.alpha)
    assert Title.objects.get(control_number="ALP-2").owner_id == libraries.alpha.pk

    client.force_login(national_cataloguer)
    assert client.get(ADD, HTTP_HOST=NATIONAL).status_code == 200
    feed = national(PRODIGE).as_marc() + national(KLEIST).as_marc() + b"00026     geen record\x1d"
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = upload(client, "nbd-levering.mrc", feed)
    assert response.status_code == 302, response.content.decode()[:2000]
    delivery = MarcImport.objects.get(file_name="nbd-levering.mrc")
    assert (delivery.organisation_id, delivery.user_id, delivery.status) == (
        None, national_cataloguer.pk, MarcImportStatus.QUEUED)
    assert len(queued) == 1  # the worker is asked once the upload is committed
    marc_import_process(delivery.pk)  # what the worker runs (in the national schema)
    connection.set_schema_to_public()

    delivery.refresh_from_db()
    assert delivery.status == MarcImportStatus.DONE
    for control_number in (PRODIGE, KLEIST):
        title = Title.objects.get(control_number=control_number)
        assert (title.owner_id, title.source, bytes(title.marc)) == (None, "DLC", stored_form(national(control_number)))
    attached = {record.control_number: record for record in LocalRecord.objects.filter(organisation=libraries.alpha)}
    assert set(attached) == {"ALP-1", "ALP-2"}
    assert Record(bytes(attached["ALP-2"].marc))["852"]["p"] == "A0002"

    page = client.get(response["Location"], HTTP_HOST=NATIONAL).content.decode()
    assert "nbd-levering.mrc" in page and "Geweigerde records en waarschuwingen" in page
    [problem] = delivery.problems.filter(level="refused")
    assert problem.record_number == 3 and problem.reason and problem.reason in page
    listing = client.get("/admin/catalogue/marcimport/", HTTP_HOST=NATIONAL).content.decode()
    assert "nbd-levering.mrc" in listing


def test_only_a_national_cataloguer_delivers_the_national_feed(client, libraries, staff, media_root):
    feed = national(PRODIGE).as_marc()
    before = MarcImport.objects.count()
    # The national admin's other staff (a POI administrator) and a library's collection staff: refused.
    client.force_login(staff.bisc_poi)
    assert upload(client, "nbd.mrc", feed).status_code == 403
    collection = staff_with_role(libraries.alpha, Role.COLLECTION)
    with refused("marc_import.national_only"):
        services.marc_import_create(actor=Actor.staff(collection, libraries.alpha),
                                    upload=SimpleUploadedFile("nbd.mrc", feed), national=True)
    assert MarcImport.objects.count() == before
    assert not Title.objects.filter(control_number=PRODIGE).exists()

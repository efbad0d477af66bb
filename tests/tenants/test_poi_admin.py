"""In the national admin a POI administrator sees and edits only the library
organisations and branches of their own POI's provinces."""

from django_tenants.utils import schema_exists

from tenants.models import Branch, LibraryOrganisation, Province


def admin_client(client, user):
    client.force_login(user)
    client.defaults["HTTP_HOST"] = "localhost"
    return client


def test_poi_administrator_lists_only_own_provinces(client, libraries, staff):
    admin_client(client, staff.bisc_poi)  # BiSC: Utrecht
    page = client.get("/admin/tenants/libraryorganisation/").content.decode()
    assert "Testbibliotheek alpha" in page and "Testbibliotheek beta" in page
    assert "Testbibliotheek gamma" not in page and "Testbibliotheek dormant" not in page

    admin_client(client, staff.probiblio_poi)  # Probiblio: Noord- and Zuid-Holland
    page = client.get("/admin/tenants/libraryorganisation/").content.decode()
    assert "Testbibliotheek gamma" in page
    assert "Testbibliotheek alpha" not in page


def test_poi_administrator_cannot_open_or_edit_another_provinces_library(client, libraries, staff):
    admin_client(client, staff.bisc_poi)
    url = f"/admin/tenants/libraryorganisation/{libraries.gamma.pk}/change/"
    assert client.get(url).status_code == 302  # "does not exist" for this user
    client.post(url, {"name": "Gekaapt", "isil": libraries.gamma.isil, "province": libraries.gamma.province_id,
                      "is_active": "on"})
    assert LibraryOrganisation.objects.get(pk=libraries.gamma.pk).name == "Testbibliotheek gamma"


def test_poi_administrator_edits_own_library(client, libraries, staff):
    admin_client(client, staff.bisc_poi)
    url = f"/admin/tenants/libraryorganisation/{libraries.alpha.pk}/change/"
    form = client.get(url)
    assert form.status_code == 200
    response = client.post(url, {
        "name": "Bibliotheek Alpha Stad", "isil": libraries.alpha.isil,
        "province": libraries.alpha.province_id, "is_active": "on",
        "domains-TOTAL_FORMS": "1", "domains-INITIAL_FORMS": "1", "domains-MIN_NUM_FORMS": "0",
        "domains-MAX_NUM_FORMS": "1000",
        "domains-0-id": libraries.alpha.domains.get().pk, "domains-0-tenant": libraries.alpha.pk,
        "domains-0-domain": "alpha.localhost", "domains-0-is_primary": "on",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    assert LibraryOrganisation.objects.get(pk=libraries.alpha.pk).name == "Bibliotheek Alpha Stad"


def test_poi_administrator_cannot_move_a_library_to_a_province_outside_their_poi(client, libraries, staff):
    admin_client(client, staff.bisc_poi)
    url = f"/admin/tenants/libraryorganisation/{libraries.alpha.pk}/change/"
    page = client.get(url).content.decode()
    assert "Utrecht" in page and "Zuid-Holland" not in page
    response = client.post(url, {"name": libraries.alpha.name, "isil": libraries.alpha.isil,
                                 "province": Province.objects.get(code="ZH").pk, "is_active": "on"})
    assert response.status_code == 200  # form error, nothing saved
    assert LibraryOrganisation.objects.get(pk=libraries.alpha.pk).province.code == "UT"


def test_poi_administrator_sees_and_adds_branches_only_in_own_provinces(client, libraries, staff):
    admin_client(client, staff.probiblio_poi)
    page = client.get("/admin/tenants/branch/").content.decode()
    assert "Gamma vestiging 1" in page and "Alpha vestiging 1" not in page
    foreign_branch = libraries.alpha.branches.first()
    assert client.get(f"/admin/tenants/branch/{foreign_branch.pk}/change/").status_code == 302

    add = {"code": "nieuw", "name": "Gamma Noord", "street": "Noordsingel 1", "postcode": "3035ee",
           "city": "Rotterdam", "is_active": "on",
           "opening_periods-TOTAL_FORMS": "0", "opening_periods-INITIAL_FORMS": "0",
           "closed_dates-TOTAL_FORMS": "0", "closed_dates-INITIAL_FORMS": "0"}
    response = client.post("/admin/tenants/branch/add/", {**add, "organisation": libraries.alpha.pk})
    assert response.status_code == 200  # alpha is not a choice for Probiblio
    assert not Branch.objects.filter(code="nieuw").exists()
    response = client.post("/admin/tenants/branch/add/", {**add, "organisation": libraries.gamma.pk})
    assert response.status_code == 302
    assert Branch.objects.get(code="nieuw").postcode == "3035 EE"


def test_poi_administrator_cannot_add_organisations_or_manage_staff_and_provinces(client, libraries, staff):
    admin_client(client, staff.bisc_poi)
    assert client.get("/admin/tenants/libraryorganisation/add/").status_code == 403
    assert client.get("/admin/staff/staffuser/").status_code == 403
    assert client.get("/admin/tenants/province/").status_code == 403
    index = client.get("/admin/").content.decode()
    assert "Bibliotheekorganisaties" in index and "Provincies" not in index


def test_desk_staff_have_no_national_admin(client, libraries, staff):
    admin_client(client, staff.alpha_library_admin)
    response = client.get("/admin/tenants/libraryorganisation/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_national_administrator_sees_all_and_creates_a_library_with_its_schema(client, libraries, staff):
    admin_client(client, staff.national)
    page = client.get("/admin/tenants/libraryorganisation/").content.decode()
    for slug in ("alpha", "beta", "gamma", "dormant"):
        assert f"Testbibliotheek {slug}" in page
    response = client.post("/admin/tenants/libraryorganisation/add/", {
        "name": "Bibliotheek Zeeland Test", "slug": "zeelandtest", "isil": "NL-7755555555",
        "province": Province.objects.get(code="ZE").pk, "is_active": "on",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    created = LibraryOrganisation.objects.get(slug="zeelandtest")
    assert schema_exists(created.schema_name)
    assert created.get_primary_domain().domain == "zeelandtest.localhost"
    assert created.poi.code == "zb-planbureau"


def test_national_admin_add_form_refuses_a_duplicate_isil(client, libraries, staff):
    admin_client(client, staff.national)
    response = client.post("/admin/tenants/libraryorganisation/add/", {
        "name": "Dubbel", "slug": "dubbel", "isil": libraries.alpha.isil,
        "province": Province.objects.get(code="UT").pk, "is_active": "on",
    })
    assert response.status_code == 200
    assert not LibraryOrganisation.objects.filter(slug="dubbel").exists()
    assert not schema_exists("lib_dubbel")

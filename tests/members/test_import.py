"""Bulk import of members from CSV: per-row errors with line numbers, valid rows
imported through the registration service, re-runs create no duplicates, and a
screen and a management command around it."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from core.actors import Actor
from members.models import AuditEntry, Member
from members.services.imports import members_csv_rows, members_import
from tenants.models import CardIndex

HEADER = ("pasnummer;voornaam;tussenvoegsel;achternaam;geboortedatum;straat;huisnummer;postcode;plaats;"
          "email;telefoon;pincode;abonnement;vestiging;toestemming_leenhistorie;toestemming_nieuwsbrief;"
          "toestemming_leestips;notities")

GOOD_AND_BAD = "\n".join([
    HEADER,
    "IMP0000001;Anna;van;Dijk;02-05-1983;Oudegracht;12;3511ab;Utrecht;anna@example.nl;0612345678;4821;"
    ";v1;ja;nee;;Vaste bezoeker",
    "IMP0000002;Bram;;Bakker;1990-01-31;;;;;;;;;;;;;",  # minimal row
    "IMP0000003;Cor;;Smit;01-01-1975;Straat;1;9999;Utrecht;;;1234;;;;;;",  # bad postcode
    "IMP0000004;Dirk;;Vos;31-12-2999;;;;;;;1234;;;;;;",  # born in the future
    "IMP0000005;Eva;;Jong;10-10-1960;;;;;geen-email;;1234;;;;;;",  # bad e-mail
    "IMP0000006;Fien;;Kok;morgen;;;;;;;1234;;;;;;",  # not a date
    "IMP0000001;Anna;;Dubbel;02-05-1983;;;;;;;1234;;;;;;",  # same card twice in the file
    "IMP0000007;;;Leeg;01-01-1980;;;;;;;1234;;;;;;",  # no first name
    "IMP0000008;Gijs;;Wit;01-01-1980;;;;;;;1234;onbekend;;;;;",  # unknown subscription
    "IMP0000009;Hans;;Zwart;01-01-1980;;;;;;;1234;;v9;;;;",  # unknown branch
    "IMP0000010;Ilse;;Groen;01-01-1980;;;;;;;1234;;;misschien;;;",  # consent not yes/no
])


@pytest.fixture
def alpha(in_alpha):
    """Alpha's schema with the default categories (members-core's fixture)."""
    return in_alpha


def test_csv_header_is_checked_before_anything_is_imported():
    with pytest.raises(ValidationError) as missing:
        members_csv_rows("pasnummer,voornaam,geboorte\nX1,Y,Z\n")
    assert missing.value.messages == [
        "Verplichte kolom(men) ontbreken: achternaam, geboortedatum.",
        "Onbekende kolom(men): geboorte.",
    ]
    assert missing.value.codes == ["member_import.columns_missing", "member_import.columns_unknown"]
    with pytest.raises(ValidationError) as empty:
        members_csv_rows(b"")
    assert empty.value.messages == ["Het bestand is leeg."] and empty.value.code == "member_import.empty"
    with pytest.raises(ValidationError) as latin1:
        members_csv_rows("pasnummer;voornaam;achternaam;geboortedatum\n1;Zoë;X;01-01-2000\n".encode("latin-1"))
    assert "UTF-8" in latin1.value.messages[0] and latin1.value.code == "member_import.not_utf8"
    rows = members_csv_rows("\ufeffPasnummer, Voornaam ,Achternaam,Geboortedatum\nA1,B,C,01-01-2000\n\n,,,\n")
    assert rows == [(2, {"pasnummer": "A1", "voornaam": "B", "achternaam": "C", "geboortedatum": "01-01-2000"})]


def test_import_reports_each_bad_row_and_imports_the_good_ones(alpha, staff):
    progress = []
    result = members_import(actor=Actor.staff(staff.alpha_library_admin),
                            rows=members_csv_rows(GOOD_AND_BAD), progress=lambda done, total: progress.append(done),
                            progress_every=4)
    assert result.total == 11
    assert progress == [4, 8, 11]
    errors = {error.row: error.message for error in result.errors}
    assert sorted(errors) == [4, 5, 6, 7, 8, 9, 10, 11, 12]
    assert "postcode" in errors[4]
    assert "toekomst" in errors[5]
    assert "e-mail" in errors[6].lower()
    assert errors[7] == "Geboortedatum 'morgen' is geen datum (dd-mm-jjjj)."
    assert errors[8] == "Pasnummer staat al op regel 2 van dit bestand."
    assert errors[9] == "voornaam is leeg."
    assert errors[10] == "Abonnement 'onbekend' bestaat niet bij Testbibliotheek alpha."
    assert errors[11] == "Vestiging 'v9' hoort niet bij Testbibliotheek alpha."
    assert errors[12] == "Toestemming leenhistorie: 'misschien' is geen ja of nee."
    assert {error.row: error.codes for error in result.errors} == {
        4: ["member.postcode_invalid"], 5: ["member.birth_date_future"], 6: ["member.email_invalid"],
        7: ["member_import.not_a_date"], 8: ["member_import.card_twice_in_file"], 9: ["member_import.column_empty"],
        10: ["member_import.subscription_unknown"], 11: ["member_import.branch_unknown"],
        12: ["member_import.not_yes_no"],
    }
    anna = Member.objects.get(card_number="IMP0000001")
    assert (anna.first_name, anna.name_prefix, anna.last_name, anna.postcode) == ("Anna", "van", "Dijk", "3511 AB")
    assert anna.preferred_branch_id == alpha.branches.get(code="v1").pk
    assert anna.consent_loan_history_at is not None and anna.consent_newsletter_at is None
    assert anna.notes == "Vaste bezoeker"
    assert result.created == [anna.pk, Member.objects.get(card_number="IMP0000002").pk]
    assert set(CardIndex.objects.filter(card_number__startswith="IMP").values_list("card_number", flat=True)) == {
        "IMP0000001", "IMP0000002"
    }
    summary = AuditEntry.objects.get(action="import")
    assert summary.detail == {"rows": 11, "created": 2, "skipped": 0, "errors": 9, "member_ids": result.created}


def test_running_the_same_file_again_creates_no_duplicates(alpha, staff):
    rows = members_csv_rows(GOOD_AND_BAD)
    members_import(actor=Actor.system("test"), rows=rows)
    again = members_import(actor=Actor.system("test"), rows=rows)
    assert again.created == []
    assert again.skipped == [(2, "IMP0000001"), (3, "IMP0000002")]
    assert {error.row: error.message for error in again.errors}[8] == "Pasnummer staat al op regel 2 van dit bestand."
    assert Member.objects.filter(card_number__startswith="IMP").count() == 2


def test_a_card_of_another_library_is_refused(libraries, alpha, staff):
    CardIndex.objects.create(card_number="IMPBETA001", organisation=libraries.beta)
    result = members_import(actor=Actor.system("test"), rows=members_csv_rows(
        HEADER + "\nIMPBETA001;Jan;;Beta;01-01-1980;;;;;;;1234;;;;;;\n"))
    assert result.created == [] and len(result.errors) == 1
    assert result.errors[0].row == 2
    assert not Member.objects.filter(card_number="IMPBETA001").exists()


def test_import_screen_for_library_admin(client, libraries, alpha, staff):
    client.force_login(staff.alpha_library_admin)
    upload = SimpleUploadedFile("leden.csv", GOOD_AND_BAD.encode("utf-8"), content_type="text/csv")
    response = client.post("/leden/privacy/import/", {"file": upload}, HTTP_HOST="alpha.localhost")
    assert response.status_code == 200
    text = response.content.decode()
    assert "2 geïmporteerd" in text and "9 met een fout" in text
    assert "Pasnummer staat al op regel 2 van dit bestand." in text
    bad = SimpleUploadedFile("leden.csv", b"naam;adres\nx;y\n", content_type="text/csv")
    response = client.post("/leden/privacy/import/", {"file": bad}, HTTP_HOST="alpha.localhost")
    assert "Verplichte kolom(men) ontbreken" in response.content.decode()
    client.force_login(staff.alpha_desk)
    assert client.get("/leden/privacy/import/", HTTP_HOST="alpha.localhost").status_code == 403


def test_import_command_shows_progress_and_row_errors(alpha, staff, tmp_path):
    path = tmp_path / "leden.csv"
    path.write_text(GOOD_AND_BAD, encoding="utf-8")
    out = io.StringIO()
    call_command("import_members", str(path), "--library", "alpha", "--staff", "alpha.library_admin",
                 "--progress-every", "5", stdout=out)
    text = out.getvalue()
    assert "11 regels te importeren in Testbibliotheek alpha." in text
    assert "  5/11 regels verwerkt" in text and "  11/11 regels verwerkt" in text
    assert "Regel 8 (IMP0000001): Pasnummer staat al op regel 2 van dit bestand." in text
    assert "Klaar: 2 geïmporteerd, 0 overgeslagen (al lid), 9 met een fout." in text
    with pytest.raises(CommandError, match="Onbekende bibliotheek"):
        call_command("import_members", str(path), "--library", "nergens", stdout=io.StringIO())


def test_pins_are_checked_and_hashed_by_registration_rules(alpha):
    from django.contrib.auth.hashers import check_password

    result = members_import(actor=Actor.system("test"), workers=2, rows=members_csv_rows("\n".join([
        HEADER,
        "IMPPIN0001;Pien;;Pin;01-01-1980;;;;;;;4821;;;;;;",
        "IMPPIN0002;Piet;;Pin;01-01-1980;;;;;;;12;;;;;;",  # too short
        "IMPPIN0003;Puck;;Pin;01-01-1980;;;9999;;;;12ab;;;;;;",  # not digits, and a bad postcode
        "IMPPIN0004;Pim;;Pin;01-01-1980;;;;;;;;;;;;;",  # no PIN
    ])))
    assert len(result.created) == 2
    first, no_pin = Member.objects.get(card_number="IMPPIN0001"), Member.objects.get(card_number="IMPPIN0004")
    assert check_password("4821", first.pin_hash) and no_pin.pin_hash == ""
    errors = {error.row: error.message for error in result.errors}
    assert "minstens" in errors[3] and "4821" not in errors[3]
    assert "cijfers" in errors[4] and "postcode" in errors[4]  # every problem of the row at once
    assert not Member.objects.filter(card_number__in=["IMPPIN0002", "IMPPIN0003"]).exists()


def test_import_screen_refuses_a_file_with_too_many_rows(client, alpha, staff, monkeypatch):
    from members.services import imports

    monkeypatch.setattr(imports, "SCREEN_MAX_ROWS", 3)
    client.force_login(staff.alpha_library_admin)
    upload = SimpleUploadedFile("leden.csv", GOOD_AND_BAD.encode("utf-8"), content_type="text/csv")
    response = client.post("/leden/privacy/import/", {"file": upload}, HTTP_HOST="alpha.localhost")
    assert "Het bestand heeft 11 regels; hier kunnen er hoogstens 3 tegelijk." in response.content.decode()
    assert not Member.objects.filter(card_number__startswith="IMP").exists()


def test_a_member_who_paid_in_the_previous_system_is_not_charged_again(alpha, staff):
    from members.models import LedgerEntry

    rows = members_csv_rows("\n".join([
        HEADER + ";lid_tot_en_met",
        "IMP0000020;Joke;;Meer;01-01-1970;;;;;;;;;;;;;;31-03-2027",  # paid until 31 March 2027
        "IMP0000021;Kees;;Veen;01-01-1970;;;;;;;;;;;;;;",  # no date: a new year, fee charged
        "IMP0000022;Lies;;Dam;01-01-1970;;;;;;;;;;;;;;eind maart",  # not a date
    ]))
    result = members_import(actor=Actor.system("test"), rows=rows)

    assert {error.row: error.message for error in result.errors} == {
        4: "Lid tot en met 'eind maart' is geen datum (dd-mm-jjjj)."
    }
    paid = Member.objects.get(card_number="IMP0000020")
    assert str(paid.expires_on) == "2027-03-31"
    assert not LedgerEntry.objects.filter(member=paid).exists()
    assert LedgerEntry.objects.filter(
        member__card_number="IMP0000021", charge_type=LedgerEntry.ChargeType.SUBSCRIPTION
    ).exists()

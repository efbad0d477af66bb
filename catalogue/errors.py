"""The catalogue's codes: code -> Dutch sentence (core.errors).

Three kinds: refusals of a service (title.*, title_version.*, marc_import.*), why
an import refused one record (marc.*), and what it noticed in a record it still
imported (marc_warning.*). The import log keeps the code and its parameters, so
the sentence is always in the reader's language."""

from django.utils.translation import gettext_lazy as _

ERRORS = {
    "title.unknown": _("Titel %(title_id)s bestaat niet in de catalogus."),
    "title_version.unknown": _("Deze versie van de titel bestaat niet (meer)."),
    "title_version.not_allowed": _(
        "Alleen een landelijk catalogiseerder, of de bibliotheek die de titel beschreef, "
        "mag een wijziging van deze titel terugdraaien."
    ),
    "title_version.identity_taken": _(
        "Deze versie kan niet terug: een andere titel heeft nu controlenummer %(control_number)s van bron %(source)s."
    ),
    "marc_import.format_unknown": _("Onbekend formaat: kies automatisch, MARC21 (ISO 2709) of MARCXML."),
    "marc_import.file_empty": _("Het bestand is leeg."),
    "marc_import.national_only": _("Alleen een landelijk catalogiseerder levert de landelijke catalogus aan."),
    "marc_import.not_marc": _("Dit is geen MARC21-bestand."),
    "marc_import.not_marc_image": _("Dit is geen MARC21-bestand, maar een afbeelding."),
    "marc_import.not_marc_document": _("Dit is geen MARC21-bestand, maar een document (PDF, Word, zip of gzip)."),
    "marc_import.not_marc_html": _("Dit is geen MARC21-bestand, maar een webpagina (HTML)."),
    "marc_import.not_marc_xml": _("Dit is geen MARC21-bestand: het XML-bestand bevat geen MARC-records."),
    "marc_import.not_marc_json": _("Dit is geen MARC21-bestand, maar JSON. Exporteer als MARC21 (ISO 2709) of MARCXML."),
    "marc_import.unimarc": _("Dit is een UNIMARC-bestand, geen MARC21-bestand. LSB leest alleen MARC21."),
    "marc_import.not_marc_stream": _(
        "Dit is geen MARC21-bestand: de eerste %(count)s records zijn alle onleesbaar. De import is gestopt."
    ),
    "marc_import.file_gone": _("Het geüploade bestand is niet (meer) te lezen."),
    "marc_import.file_expired": _("Het geüploade bestand is na %(days)s dagen opgeruimd zonder dat het is ingelezen."),
    "marc_import.internal_error": _(
        "De import is afgebroken door een interne fout. Alle records tot en met record %(records_read)s zijn verwerkt."
    ),
    # --- why a record was refused -------------------------------------------------------
    "marc.truncated_at_end": _("afgebroken record aan het eind van het bestand"),
    "marc.leader_length_not_numeric": _("kapotte leader: recordlengte (leader/00-04) is geen getal (%(value)s)"),
    "marc.leader_length_too_small": _("kapotte leader: recordlengte %(length)s is te klein"),
    "marc.record_ends_early": _(
        "afgebroken of kapot record: de leader noemt %(length)s bytes, maar het record eindigt na %(actual)s bytes"
    ),
    "marc.truncated": _("afgebroken record: de leader noemt %(length)s bytes, het bestand heeft er nog %(actual)s"),
    "marc.length_wrong": _("kapotte leader: recordlengte %(length)s klopt niet (geen recordeinde op die plek)"),
    "marc.leader_not_ascii": _("kapotte leader: bevat tekens die geen ASCII zijn"),
    "marc.base_address_not_numeric": _("kapotte leader: basisadres (leader/12-16) is geen getal (%(value)s)"),
    "marc.base_address_outside": _("kapotte leader: basisadres %(base)s ligt buiten het record (%(length)s bytes)"),
    "marc.encoding_unknown": _(
        "onbekende tekencodering in leader/09 (%(value)s): alleen MARC-8 (spatie) of UTF-8 (a)"
    ),
    "marc.directory_no_field_end": _("kapotte directory: geen veldeinde vóór het basisadres"),
    "marc.directory_empty": _("geen velden: de directory is leeg"),
    "marc.directory_length": _("kapotte directory: lengte %(length)s is geen veelvoud van 12"),
    "marc.directory_entry": _("kapotte directory: ongeldige ingang %(entry)s (nummer %(number)s)"),
    "marc.field_outside": _("kapotte directory: veld %(tag)s valt buiten het record"),
    "marc.field_boundaries": _("kapotte directory: veld %(tag)s begint of eindigt niet waar de directory zegt"),
    "marc.encoding_utf8": _("ongeldige tekencodering (UTF-8) in veld %(field)s"),
    "marc.encoding_marc8": _("ongeldige tekencodering (MARC-8) in veld %(field)s"),
    "marc.subfield_code": _("ongeldige subveldcode in veld %(tag)s"),
    "marc.no_subfields": _("veld %(tag)s heeft geen subvelden"),
    "marc.too_large": _("record te groot voor MARC21 (meer dan 99.999 bytes, of een veld van meer dan 9.999 bytes)"),
    "marc.unreadable": _("onleesbaar record"),
    "marc.title_missing": _("titel ontbreekt (245 $a)"),
    "marc.unimarc_record": _("dit is een UNIMARC-record (titel in veld 200), geen MARC21"),
    "marc.control_number_too_long": _("controlenummer of bron langer dan %(max)s tekens"),
    "marc.xml_invalid": _("ongeldige XML op regel %(line)s, kolom %(column)s; de rest van het bestand is niet gelezen"),
    "marc.xml_leader_length": _("kapotte leader: %(length)s tekens in plaats van 24 (%(value)s)"),
    "marc.xml_leader_missing": _("kapotte leader: het record heeft geen leader"),
    "marc.xml_empty_record": _("leeg record"),
    "marc.record_conflict": _("botst met een bestaande titel (bron %(source)s, controlenummer %(control_number)s)"),
    # --- what an imported record had (imported anyway) ----------------------------------
    "marc_warning.indicators": _("veld %(tag)s: indicatoren %(value)s ongeldig, gelezen als %(read)s"),
    "marc_warning.bad_tag": _("veld met ongeldig label %(tag)s weggelaten"),
    "marc_warning.subfield_code": _("veld %(tag)s: subveld met ongeldige code weggelaten"),
    "marc_warning.empty_subfield": _("veld %(tag)s: leeg subveld weggelaten"),
    "marc_warning.no_subfields": _("veld %(tag)s zonder subvelden weggelaten"),
    "marc_warning.encoding_utf8": _(
        "veld %(field)s: ongeldige tekencodering (UTF-8), onleesbare tekens vervangen door \ufffd"
    ),
    "marc_warning.encoding_marc8": _(
        "veld %(field)s: ongeldige tekencodering (MARC-8), onleesbare tekens vervangen door een spatie"
    ),
    "marc_warning.control_characters": _("veld %(tag)s: stuurtekens verwijderd"),
    "marc_warning.utf8_labelled_marc8": _("de leader noemt MARC-8 (leader/09), maar de tekst is UTF-8: als UTF-8 gelezen"),
}


def render(code, params=None):
    """The sentence of a code with its parameters, in the active language."""
    from core.errors import message_for

    message = message_for(code)
    return str(message % params) if params else str(message)

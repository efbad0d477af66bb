"""The catalogue services' refusals: code -> Dutch sentence (core.errors)."""

from django.utils.translation import gettext_lazy as _

ERRORS = {
    "title.unknown": _("Titel %(title_id)s bestaat niet in de catalogus."),
    "marc_import.format_unknown": _("Onbekend formaat: kies automatisch, MARC21 (ISO 2709) of MARCXML."),
    "marc_import.file_empty": _("Het bestand is leeg."),
}

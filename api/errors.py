"""The REST API's own codes (core.errors): keys, request shape, throttling. A
service's refusal keeps the service's code (members.*, loan.*, checkout.*, ...)."""

from django.utils.translation import gettext_lazy as _

ERRORS = {
    "api.key_missing": _("Stuur een API-sleutel mee: Authorization: Bearer <sleutel>."),
    "api.key_invalid": _("Deze API-sleutel is onbekend of ingetrokken."),
    "api.key_other_library": _("Deze API-sleutel hoort bij een andere bibliotheek dan dit adres."),
    "api.machine_key_required": _("Dit kan alleen met de API-sleutel van een automaat."),
    "api.staff_key_required": _("Dit kan alleen met de API-sleutel van een medewerker."),
    "api.throttled": _("Te veel verzoeken met deze sleutel; probeer het over %(wait)s seconden opnieuw."),
    "api.not_found": _("Dit adres bestaat niet in de API."),
    "api.method_not_allowed": _("De methode %(method)s kan hier niet."),
    "api.malformed": _("Het verzoek is geen geldige JSON."),
    "api.unsupported_media_type": _("Stuur de gegevens als JSON (Content-Type: application/json)."),
    "api.not_acceptable": _("Dit antwoord is er alleen als JSON."),
    "api.field_invalid": _("Ongeldige invoer: %(detail)s"),
    "api.refused": _("Geweigerd: %(detail)s"),
    "api.loan_not_of_card": _("Exemplaar %(barcode)s is niet aan deze pas uitgeleend."),
    "api.card_unknown": _("Pas %(card)s is onbekend bij deze bibliotheek."),
    # A machine that requires the patron's PIN (MachineAccount.patron_pin_required), as in SIP2.
    "api.pin_required": _("Voer uw pincode in."),
}

"""The self-service refusals: code -> Dutch sentence (core.errors).

machine.*: managing machine accounts (the library administrator's screen).
sip2.*: what a self-service machine shows (field AF) when the SIP2 server itself,
not a service, refuses a message.
"""

from django.utils.translation import gettext_lazy as _

ERRORS = {
    "machine.name_missing": _("Geef de automaat een omschrijving."),
    "machine.name_too_long": _("De omschrijving van de automaat is te lang (hoogstens %(max_length)s tekens)."),
    "machine.login_invalid": _(
        "Een inlognaam heeft 3 tot 40 tekens: kleine letters, cijfers, punt, streepje of liggend streepje."
    ),
    "machine.login_taken": _("De inlognaam %(login)s is al in gebruik (inlognamen zijn landelijk uniek)."),
    "machine.branch_unknown": _("Kies een actieve vestiging van deze bibliotheek."),
    "machine.kind_unknown": _("Kies wat de automaat gebruikt: SIP2, de REST-API of allebei."),
    "machine.not_found": _("Deze automaat bestaat niet (meer) bij deze bibliotheek."),
    "machine.revoked": _("Deze automaat is ingetrokken."),
    "machine.not_sip2": _("Deze automaat gebruikt geen SIP2 en heeft dus geen wachtwoord."),
    "machine.not_api": _("Deze automaat gebruikt de REST-API niet en heeft dus geen API-sleutel."),
    "sip2.not_logged_in": _("De automaat is niet aangemeld; meld eerst aan."),
    "sip2.machine_revoked": _("Deze automaat is ingetrokken of uitgeschakeld; neem contact op met de bibliotheek."),
    "sip2.patron_missing": _("Scan eerst uw pas."),
    "sip2.pin_required": _("Voer uw pincode in."),
    "sip2.guest_pin_at_home": _(
        "Met een pas van %(home)s kunt u hier niet met uw pincode aanmelden; vraag het aan de balie."
    ),
    "sip2.guest_pays_at_home": _("Kosten van een pas van %(home)s betaalt u bij %(home)s."),
    "sip2.item_missing": _("Scan het exemplaar."),
    "sip2.renewal_not_allowed_here": _("U heeft dit exemplaar al; verlengen kan met 'verlengen'."),
    "sip2.fee_unknown": _("Het bedrag is geen geldig bedrag in euro's."),
    "sip2.currency_not_euro": _("Alleen betalingen in euro's (EUR) worden aangenomen."),
    "sip2.payment_type_unknown": _("Deze betaalwijze wordt niet aangenomen."),
    "sip2.hold_mode_unknown": _("Onbekende reserveringsopdracht."),
    "sip2.pickup_unknown": _("De ophaalvestiging %(code)s bestaat niet bij deze bibliotheek."),
    "sip2.loan_not_found": _("U heeft dit exemplaar niet geleend."),
    "sip2.server_error": _("Er ging iets mis. Probeer het opnieuw of vraag het aan de balie."),
}

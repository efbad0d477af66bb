"""The staff services' refusals: code -> Dutch sentence (core.errors)."""

from django.utils.translation import gettext_lazy as _

ERRORS = {
    "staff.role_unknown": _("Onbekende rol: %(role)s"),
    "staff.last_library_admin": _("Een bibliotheek houdt minstens één beheerder; deze rol kan niet weg."),
    "staff.role_not_held": _("%(user)s heeft de rol %(role)s hier niet."),
    # One answer for an unknown username and an account of someone else (issue 14): nothing tells which exist.
    "staff.account_not_here": _("'%(username)s' is geen medewerkersaccount van %(library)s. Een nieuw account en "
                                "de eerste rol ervan geeft de landelijk beheerder."),
    "staff.api_token_name_missing": _("Geef de API-sleutel een omschrijving."),
    "staff.api_token_name_too_long": _("De omschrijving is te lang (hoogstens %(max_length)s tekens)."),
    "staff.api_token_user_not_here": _("%(user)s werkt niet bij deze bibliotheek."),
    "staff.api_token_not_found": _("Deze API-sleutel bestaat niet (meer)."),
    "staff.api_token_revoked": _("Deze API-sleutel is al ingetrokken."),
    "staff.api_token_secret_invalid": _("Een vaste API-sleutel moet de vorm lsbs_<10 tekens>_<minstens 20 tekens> hebben."),
}

"""The staff services' refusals: code -> Dutch sentence (core.errors)."""

from django.utils.translation import gettext_lazy as _

ERRORS = {
    "staff.role_unknown": _("Onbekende rol: %(role)s"),
    "staff.last_library_admin": _("Een bibliotheek houdt minstens één beheerder; deze rol kan niet weg."),
    "staff.role_not_held": _("%(user)s heeft de rol %(role)s hier niet."),
    # One answer for an unknown username and an account of someone else (issue 14): nothing tells which exist.
    "staff.account_not_here": _("'%(username)s' is geen medewerkersaccount van %(library)s. Een nieuw account en "
                                "de eerste rol ervan geeft de landelijk beheerder."),
}

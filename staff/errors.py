"""The staff services' refusals: code -> Dutch sentence (core.errors)."""

from django.utils.translation import gettext_lazy as _

ERRORS = {
    "staff.role_unknown": _("Onbekende rol: %(role)s"),
    "staff.last_library_admin": _("Een bibliotheek houdt minstens één beheerder; deze rol kan niet weg."),
    "staff.role_not_held": _("%(user)s heeft de rol %(role)s hier niet."),
}

"""The national registry's refusals: code -> Dutch sentence (core.errors)."""

from django.utils.translation import gettext_lazy as _

ERRORS = {
    # Staff trying an outbox message again (tenants.outbox.outbox_retry).
    "outbox.unknown": _("Dit uitgaande bericht bestaat niet (meer) of hoort niet bij deze bibliotheek."),
    "outbox.not_retryable": _("Dit bericht kan niet opnieuw worden geprobeerd: alleen mislukte of "
                              "vastgelopen berichten."),
}

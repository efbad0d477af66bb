"""The national registry's refusals: code -> Dutch sentence (core.errors)."""

from django.utils.translation import gettext_lazy as _

ERRORS = {
    # Staff trying an outbox message again (tenants.outbox.outbox_retry).
    "outbox.unknown": _("Dit uitgaande bericht bestaat niet (meer) of hoort niet bij deze bibliotheek."),
    "outbox.not_retryable": _("Dit bericht kan niet opnieuw worden geprobeerd: alleen mislukte of "
                              "vastgelopen berichten."),
    # Provisioning a library organisation (tenants.services, national work).
    "library.create_outside_public": _("Bibliotheekorganisaties worden aangemaakt vanuit het landelijke schema."),
    "library.host_taken": _("Het adres %(host)s is al in gebruik."),
    "library.schema_exists": _("Het schema %(schema)s bestaat al."),
    "branch.opening_time_reversed": _("Openingstijd %(opens)s-%(closes)s: sluiten moet na openen."),
    "branch.not_of_library": _("Deze vestiging hoort niet bij deze bibliotheek."),
    # A branch's opening hours and closed days (library administrators).
    "branch_hours.period_malformed": _("Een openingstijd bestaat uit een dag, een openingstijd en een "
                                       "sluitingstijd."),
    "branch_hours.day_unknown": _("Onbekende dag: %(day)s (verwacht 0 = maandag t/m 6 = zondag)."),
    "branch_hours.time_invalid": _("%(day)s: vul een geldige tijd in (uu:mm)."),
    "branch_hours.too_many_periods": _("%(day)s: hoogstens %(max)s openingstijden per dag."),
    "branch_hours.closes_before_opens": _("%(day)s %(opens)s–%(closes)s: de sluitingstijd moet na de "
                                          "openingstijd liggen."),
    "branch_hours.overlap": _("%(day)s: %(first)s en %(second)s overlappen."),
    "branch_hours.empty_week": _("Vul ten minste één openingstijd in. Een vestiging zonder openingstijden telt "
                                 "voor de uitlening als elke dag open; sluit een vestiging tijdelijk met "
                                 "sluitingsdagen."),
    "closed_date.reason_missing": _("Vul een reden in voor de sluitingsdag."),
    "closed_date.reason_too_long": _("De reden is te lang (hoogstens %(max_length)s tekens)."),
    "closed_date.date_invalid": _("Vul een geldige datum in."),
    "closed_date.already_closed": _("%(branch)s is op %(date)s al gesloten (%(reason)s)."),
    "closed_date.end_before_start": _("De einddatum ligt vóór de begindatum."),
    "closed_date.range_too_long": _("Een periode van sluitingsdagen is hoogstens %(max)s dagen (%(days)s "
                                    "gekozen)."),
    "closed_date.unknown": _("Deze sluitingsdag bestaat niet (meer) voor deze vestiging."),
}

"""The notices services' refusals: code -> Dutch sentence (core.errors)."""

from django.utils.translation import gettext_lazy as _

ERRORS = {
    # Sending again.
    "notice.not_found": _("Dit bericht bestaat niet (meer)."),
    "notice.resend_email_only": _("Alleen e-mailberichten kunnen opnieuw worden verstuurd."),
    "notice.member_erased": _("Dit lid is gewist; het bericht wordt niet meer verstuurd."),
    "notice.resend_not_allowed": _("Dit bericht kan niet opnieuw worden verstuurd: alleen mislukte of onzeker "
                                   "verzonden berichten."),
    # The library's texts (notices.rendering.text_errors). `part` is "Onderwerp" or "Tekst".
    "notice_text.kind_unknown": _("Onbekende soort bericht."),
    "notice_text.subject_missing": _("Vul een onderwerp in."),
    "notice_text.subject_too_long": _("Het onderwerp mag hoogstens 200 tekens lang zijn."),
    "notice_text.body_missing": _("Vul een tekst in."),
    "notice_text.tag_not_allowed": _("%(part)s: De opdracht {%% %(tag)s %%} is niet toegestaan. Gebruik alleen: "
                                     "if, for, with, comment, firstof."),
    "notice_text.syntax": _("%(part)s: De tekst bevat een fout in de opmaak: %(error)s"),
    "notice_text.unknown_field": _("%(part)s: Onbekend veld '%(name)s' in {{ %(variable)s }}. Bekende velden: "
                                   "%(fields)s."),
    "notice_text.unknown_placeholder": _("%(part)s: Onbekende plaatshouder {{ %(variable)s }}. Toegestaan bij dit "
                                         "bericht: %(allowed)s."),
    "notice_text.render_failed": _("%(part)s: De tekst kan niet worden opgemaakt: %(error)s"),
    "notice_text.filter_not_allowed": _("%(part)s: Het filter |%(filter)s is niet toegestaan. Gebruik alleen: "
                                        "%(allowed)s."),
    "notice_text.filter_argument_too_large": _("%(part)s: Het getal bij |%(filter)s is te groot (hoogstens "
                                               "%(max)s)."),
    "notice_text.loop_nested": _("%(part)s: Een {%% for %%} binnen een andere {%% for %%} is niet toegestaan."),
    "notice_text.rendered_too_long": _("%(part)s: Met %(titles)s titels wordt het bericht langer dan %(max)s tekens; "
                                       "maak de tekst korter."),
    "notice_text.body_too_long": _("De tekst mag hoogstens %(max)s tekens lang zijn."),
    # When reminders go out.
    "notice_settings.days_out_of_range": _("%(label)s: geef een aantal dagen van 0 tot en met 365."),
    "notice_settings.due_soon_too_late": _("De herinnering gaat minstens 1 dag vóór de inleverdatum uit."),
    "notice_settings.overdue_1_too_early": _("De eerste aanmaning gaat minstens 1 dag na de inleverdatum uit."),
    "notice_settings.overdue_order": _("De aanmaningen moeten elkaar opvolgen: eerste vóór tweede vóór derde "
                                       "(aantal dagen na de inleverdatum oplopend)."),
    "notice_settings.from_email_invalid": _("Het afzenderadres is geen geldig e-mailadres."),
}

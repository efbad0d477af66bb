"""The staff search form: words or a scanned ISBN/EAN, and the filters."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Audience, MaterialType

# MARC language codes offered as a filter (008/35-37, 041).
LANGUAGES = [
    ("dut", _("Nederlands")),
    ("eng", _("Engels")),
    ("ger", _("Duits")),
    ("fre", _("Frans")),
    ("spa", _("Spaans")),
    ("ita", _("Italiaans")),
    ("fry", _("Fries")),
    ("tur", _("Turks")),
    ("ara", _("Arabisch")),
    ("pol", _("Pools")),
    ("ukr", _("Oekraïens")),
]
YEAR_MIN, YEAR_MAX = 1000, 2999


def _year_field(label):
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=YEAR_MIN,
        max_value=YEAR_MAX,
        error_messages={
            "invalid": _("Vul bij %(label)s een jaartal in, bijvoorbeeld 2015.") % {"label": label},
            "min_value": _("Vul bij %(label)s een jaartal van vier cijfers in.") % {"label": label},
            "max_value": _("Vul bij %(label)s een jaartal van vier cijfers in.") % {"label": label},
        },
    )


class TitleSearchForm(forms.Form):
    q = forms.CharField(label=_("Zoeken"), required=False, max_length=200, strip=True)
    material_type = forms.ChoiceField(
        label=_("Materiaalsoort"), required=False, choices=[("", _("Alle"))] + MaterialType.choices,
        error_messages={"invalid_choice": _("Kies een materiaalsoort uit de lijst.")},
    )
    language = forms.ChoiceField(
        label=_("Taal"), required=False, choices=[("", _("Alle"))] + LANGUAGES,
        error_messages={"invalid_choice": _("Kies een taal uit de lijst.")},
    )
    year_from = _year_field(_("jaar vanaf"))
    year_to = _year_field(_("jaar tot en met"))
    audience = forms.ChoiceField(
        label=_("Doelgroep"), required=False,
        choices=[("", _("Alle"))] + [(value, label) for value, label in Audience.choices if value != Audience.UNKNOWN],
        error_messages={"invalid_choice": _("Kies een doelgroep uit de lijst.")},
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=500,
                              error_messages={"invalid": _("Ongeldig paginanummer."),
                                              "min_value": _("Ongeldig paginanummer."),
                                              "max_value": _("Zo ver kunt u niet bladeren; verfijn uw zoekvraag.")})

    def clean(self):
        cleaned = super().clean()
        year_from, year_to = cleaned.get("year_from"), cleaned.get("year_to")
        if year_from is not None and year_to is not None and year_from > year_to:
            raise forms.ValidationError(
                _("Het jaar vanaf (%(year_from)s) ligt na het jaar tot en met (%(year_to)s).")
                % {"year_from": year_from, "year_to": year_to}
            )
        return cleaned

    def has_search(self):
        """Whether there is anything to search for (words or a filter)."""
        return any(self.cleaned_data.get(name) not in (None, "") for name in
                   ("q", "material_type", "language", "year_from", "year_to", "audience"))

    def search_arguments(self):
        data = self.cleaned_data
        return {
            "query": data["q"],
            "material_type": data["material_type"] or None,
            "language": data["language"] or None,
            "year_from": data["year_from"],
            "year_to": data["year_to"],
            "audience": data["audience"] or None,
        }

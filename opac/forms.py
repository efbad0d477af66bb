"""Input parsing for the OPAC: turn what a visitor typed or clicked into typed
values for the selectors and services (the rules live there)."""

import datetime
import re

from django import forms
from django.utils.translation import gettext_lazy as _

from catalogue.models import Audience, MaterialType

QUERY_MAX_LENGTH = 200
PAGE_SIZE = 20
SORT_CHOICES = [
    ("relevance", _("Beste resultaat")),
    ("newest", _("Nieuwste eerst")),
    ("oldest", _("Oudste eerst")),
    ("title", _("Titel (A-Z)")),
]
_LANGUAGE_RE = re.compile(r"^[a-z]{3}$")


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Zoeken naar"), required=False, max_length=QUERY_MAX_LENGTH,
                        error_messages={"max_length": _("Uw zoekvraag is te lang: gebruik hoogstens %(limit_value)d "
                                                        "tekens.")})
    soort = forms.ChoiceField(label=_("Soort"), required=False, choices=[("", "")] + list(MaterialType.choices))
    taal = forms.CharField(label=_("Taal"), required=False, max_length=3)
    doelgroep = forms.ChoiceField(label=_("Doelgroep"), required=False,
                                  choices=[("", "")] + list(Audience.choices))
    decennium = forms.IntegerField(label=_("Periode"), required=False, min_value=1000, max_value=2100)
    hier = forms.BooleanField(label=_("Alleen in deze bibliotheek"), required=False)
    vestiging = forms.IntegerField(label=_("Nu aanwezig in vestiging"), required=False, min_value=1)
    sorteer = forms.ChoiceField(label=_("Sorteren"), required=False, choices=SORT_CHOICES)
    pagina = forms.IntegerField(label=_("Pagina"), required=False, min_value=1)

    def clean_taal(self):
        value = (self.cleaned_data.get("taal") or "").strip().lower()
        if value and not _LANGUAGE_RE.match(value):
            raise forms.ValidationError(_("Onbekende taalcode."))
        return value

    def clean_decennium(self):
        value = self.cleaned_data.get("decennium")
        if value is not None and value % 10:
            raise forms.ValidationError(_("Kies een periode uit de lijst."))
        return value


class SignInForm(forms.Form):
    card_number = forms.CharField(label=_("Pasnummer"), max_length=40,
                                  widget=forms.TextInput(attrs={"autocomplete": "username", "inputmode": "numeric"}))
    pin = forms.CharField(label=_("Pincode"), max_length=40,
                          widget=forms.PasswordInput(attrs={"autocomplete": "current-password",
                                                            "inputmode": "numeric"}))


class PinChangeForm(forms.Form):
    current_pin = forms.CharField(label=_("Huidige pincode"), max_length=40,
                                  widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    pin = forms.CharField(label=_("Nieuwe pincode (4 tot 12 cijfers)"), max_length=40,
                          widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "inputmode": "numeric"}))
    pin_repeat = forms.CharField(label=_("Nieuwe pincode nog een keer"), max_length=40,
                                 widget=forms.PasswordInput(attrs={"autocomplete": "new-password",
                                                                   "inputmode": "numeric"}))


class PinResetRequestForm(forms.Form):
    card_number = forms.CharField(label=_("Pasnummer"), max_length=40)
    email = forms.EmailField(label=_("E-mailadres"), max_length=254)


class PinResetForm(forms.Form):
    pin = forms.CharField(label=_("Nieuwe pincode (4 tot 12 cijfers)"), max_length=40,
                          widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "inputmode": "numeric"}))
    pin_repeat = forms.CharField(label=_("Nieuwe pincode nog een keer"), max_length=40,
                                 widget=forms.PasswordInput(attrs={"autocomplete": "new-password",
                                                                   "inputmode": "numeric"}))


class ContactForm(forms.Form):
    street = forms.CharField(label=_("Straat"), max_length=200, required=False)
    house_number = forms.CharField(label=_("Huisnummer"), max_length=20, required=False)
    postcode = forms.CharField(label=_("Postcode"), max_length=20, required=False)
    city = forms.CharField(label=_("Plaats"), max_length=200, required=False)
    email = forms.CharField(label=_("E-mailadres"), max_length=300, required=False,
                            help_text=_("Met een e-mailadres krijgt u berichten per e-mail, anders per brief."))
    phone = forms.CharField(label=_("Telefoon"), max_length=40, required=False)
    preferred_branch_id = forms.TypedChoiceField(label=_("Vaste vestiging"), required=False, coerce=int,
                                                 empty_value=None)

    def __init__(self, *args, branches=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["preferred_branch_id"].choices = [("", _("(geen)"))] + [(b.pk, b.name) for b in branches]


class ConsentForm(forms.Form):
    loan_history = forms.BooleanField(label=_("Bewaar mijn leenhistorie, zodat ik kan zien wat ik gelezen heb"),
                                      required=False)
    newsletter = forms.BooleanField(label=_("Stuur mij de nieuwsbrief van de bibliotheek"), required=False)
    suggestions = forms.BooleanField(label=_("Geef mij leestips op basis van wat ik leen"), required=False)


class SuspendForm(forms.Form):
    until = forms.DateField(label=_("Opschorten tot en met"), input_formats=["%Y-%m-%d", "%d-%m-%Y"],
                            widget=forms.DateInput(attrs={"type": "date"}))


class RegistrationForm(forms.Form):
    first_name = forms.CharField(label=_("Voornaam"), max_length=80)
    name_prefix = forms.CharField(label=_("Tussenvoegsel"), max_length=20, required=False)
    last_name = forms.CharField(label=_("Achternaam"), max_length=120)
    date_of_birth = forms.DateField(label=_("Geboortedatum"), input_formats=["%Y-%m-%d", "%d-%m-%Y"],
                                    widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}),
                                    error_messages={"invalid": _("Vul een geldige datum in (dd-mm-jjjj).")})
    postcode = forms.CharField(label=_("Postcode"), max_length=20,
                               widget=forms.TextInput(attrs={"autocomplete": "postal-code"}))
    house_number = forms.CharField(label=_("Huisnummer"), max_length=20)
    street = forms.CharField(label=_("Straat"), max_length=200,
                             widget=forms.TextInput(attrs={"autocomplete": "address-line1"}))
    city = forms.CharField(label=_("Plaats"), max_length=200,
                           widget=forms.TextInput(attrs={"autocomplete": "address-level2"}))
    email = forms.CharField(label=_("E-mailadres"), max_length=300,
                            widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    phone = forms.CharField(label=_("Telefoon (niet verplicht)"), max_length=40, required=False,
                            widget=forms.TextInput(attrs={"autocomplete": "tel"}))
    subscription = forms.TypedChoiceField(label=_("Abonnement (18 jaar en ouder)"), required=False, coerce=int,
                                          empty_value=None, widget=forms.RadioSelect)
    guardian_email = forms.CharField(label=_("E-mailadres van een ouder of verzorger (jonger dan 18, niet "
                                             "verplicht)"), max_length=300, required=False)
    preferred_branch_id = forms.TypedChoiceField(label=_("Vaste vestiging"), required=False, coerce=int,
                                                 empty_value=None)
    pin = forms.CharField(label=_("Kies een pincode (4 tot 12 cijfers)"), max_length=40,
                          widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "inputmode": "numeric"}))
    pin_repeat = forms.CharField(label=_("Pincode nog een keer"), max_length=40,
                                 widget=forms.PasswordInput(attrs={"autocomplete": "new-password",
                                                                   "inputmode": "numeric"}))
    newsletter = forms.BooleanField(label=_("Stuur mij de nieuwsbrief van de bibliotheek"), required=False)
    loan_history = forms.BooleanField(label=_("Bewaar mijn leenhistorie"), required=False)

    def __init__(self, *args, subscriptions=(), branches=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subscription"].choices = [(s.pk, s.label) for s in subscriptions]
        self.fields["preferred_branch_id"].choices = [("", _("(geen)"))] + [(b.pk, b.name) for b in branches]

    def clean_date_of_birth(self):
        value = self.cleaned_data["date_of_birth"]
        if value and value.year < 1900 or value and value > datetime.date.today():
            raise forms.ValidationError(_("Vul een geldige geboortedatum in."))
        return value

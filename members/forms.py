"""Input parsing for the member screens (search, register, edit, card, merge,
categories). The rules live in members.services.registration; these forms only
turn posted text into typed values."""

from django import forms

from core.money import euro

from .forms_accounts import EuroField

DATE_FORMATS = ["%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"]


def _date_field(label, required=True):
    return forms.DateField(
        label=label, required=required, input_formats=DATE_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Vul een geldige datum in (dd-mm-jjjj).", "required": "Vul de geboortedatum in."},
    )


class SearchForm(forms.Form):
    q = forms.CharField(label="Pasnummer, naam, e-mail, geboortedatum of postcode + huisnummer", required=False,
                        max_length=120, widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}))
    card_number = forms.CharField(label="Pasnummer", required=False, max_length=20)
    name = forms.CharField(label="Naam", required=False, max_length=120)
    date_of_birth = _date_field("Geboortedatum", required=False)
    postcode = forms.CharField(label="Postcode", required=False, max_length=7)
    house_number = forms.CharField(label="Huisnummer", required=False, max_length=10)
    email = forms.CharField(label="E-mail", required=False, max_length=254)

    def has_criteria(self):
        return self.is_bound and self.is_valid() and any(self.cleaned_data.values())


class MemberForm(forms.Form):
    """Register (with card number and PIN) or edit (with version) a member."""

    card_number = forms.CharField(label="Pasnummer (scan de nieuwe pas)", max_length=40,
                                  widget=forms.TextInput(attrs={"autocomplete": "off"}))
    first_name = forms.CharField(label="Voornaam", max_length=80)
    name_prefix = forms.CharField(label="Tussenvoegsel", max_length=20, required=False)
    last_name = forms.CharField(label="Achternaam", max_length=120)
    date_of_birth = _date_field("Geboortedatum")
    street = forms.CharField(label="Straat", max_length=120, required=False)
    house_number = forms.CharField(label="Huisnummer", max_length=10, required=False)
    postcode = forms.CharField(label="Postcode", max_length=20, required=False,
                               widget=forms.TextInput(attrs={"placeholder": "1234 AB"}))
    city = forms.CharField(label="Plaats", max_length=80, required=False)
    email = forms.CharField(label="E-mail", max_length=254, required=False)
    phone = forms.CharField(label="Telefoon", max_length=20, required=False)
    preferred_branch = forms.ChoiceField(label="Voorkeursvestiging", required=False)
    subscription = forms.ChoiceField(label="Abonnement", required=False)
    guardian_card = forms.CharField(label="Pasnummer ouder/verzorger (bij minderjarigen)", max_length=40,
                                    required=False)
    pin = forms.CharField(label="Pincode (minstens 4 cijfers)", required=False, max_length=40,
                          widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "inputmode": "numeric"}))
    consent_loan_history = forms.BooleanField(label="Leenhistorie bewaren", required=False)
    consent_newsletter = forms.BooleanField(label="Nieuwsbrief ontvangen", required=False)
    consent_suggestions = forms.BooleanField(label="Leestips ontvangen", required=False)
    notes = forms.CharField(label="Notities", required=False, max_length=5000,
                            widget=forms.Textarea(attrs={"rows": 3}))
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, branches=(), subscriptions=(), editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["preferred_branch"].choices = [("", "Geen voorkeur")] + [(b.pk, b.name) for b in branches]
        self.fields["subscription"].choices = [("", "Standaard voor de leeftijd")] + [
            (s.pk, f"{s.name} ({'gratis' if not s.annual_fee_cents else euro(s.annual_fee_cents)} per jaar"
                   f"{', jeugd' if s.for_youth else ''})")
            for s in subscriptions
        ]
        if editing:
            del self.fields["card_number"]
            self.fields["pin"].label = "Nieuwe pincode (leeg laten: ongewijzigd)"
            self.fields["version"].required = True

    def consents(self):
        return {
            "loan_history": self.cleaned_data["consent_loan_history"],
            "newsletter": self.cleaned_data["consent_newsletter"],
            "suggestions": self.cleaned_data["consent_suggestions"],
        }


class ReplaceCardForm(forms.Form):
    new_card_number = forms.CharField(label="Nieuw pasnummer (scan de nieuwe pas)", max_length=40,
                                      widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}))
    reason = forms.ChoiceField(label="Reden", choices=[
        ("Verloren", "Verloren"), ("Gestolen", "Gestolen"), ("Kapot", "Kapot"), ("Anders", "Anders"),
    ])
    reason_other = forms.CharField(label="Toelichting", max_length=100, required=False)
    fee = EuroField(label="Kosten nieuwe pas (€, leeg: geen)", required=False, allow_zero=True)
    version = forms.IntegerField(widget=forms.HiddenInput)

    def reason_text(self):
        reason = self.cleaned_data["reason"]
        other = self.cleaned_data.get("reason_other", "").strip()
        return f"{reason}: {other}" if other else reason


class MergeFindForm(forms.Form):
    other = forms.CharField(label="Pasnummer of lidnummer van de dubbele inschrijving", max_length=40,
                            widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}))


class SubscriptionTypeForm(forms.Form):
    code = forms.CharField(label="Code", max_length=30)
    name = forms.CharField(label="Naam", max_length=100)
    annual_fee = EuroField(label="Jaarbijdrage (€)", allow_zero=True)
    max_loans = forms.IntegerField(label="Maximaal aantal leningen", min_value=1, max_value=999, initial=20)
    includes = forms.CharField(label="Wat is inbegrepen", required=False, max_length=2000,
                               widget=forms.Textarea(attrs={"rows": 2}))
    for_youth = forms.BooleanField(label="Jeugdabonnement (onder 18, gratis)", required=False)
    is_active = forms.BooleanField(label="Wordt aangeboden", required=False, initial=True)


class MemberCategoryForm(forms.Form):
    code = forms.CharField(label="Code", max_length=30)
    name = forms.CharField(label="Naam", max_length=100)
    min_age = forms.IntegerField(label="Vanaf leeftijd", min_value=0, max_value=150)
    max_age = forms.IntegerField(label="Tot en met leeftijd (leeg: geen grens)", min_value=0, max_value=150,
                                 required=False)
    default_subscription = forms.ChoiceField(label="Standaardabonnement")

    def __init__(self, *args, subscriptions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["default_subscription"].choices = [("", "Kies…")] + [
            (s.pk, f"{s.name}{' (jeugd)' if s.for_youth else ''}") for s in subscriptions
        ]

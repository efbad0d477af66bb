"""Input parsing for the account, block and rules screens. The rules themselves
live in members.services.ledger; these forms only turn posted text into typed values."""

from django import forms
from django.core.exceptions import ValidationError

from core.money import MAX_AMOUNT_CENTS, euro, euro_parse

from .models import LedgerEntry, MemberRules


class EuroField(forms.CharField):
    """An amount in euros ('12,50', '12.50', '€ 12') as integer cents."""

    def __init__(self, *args, allow_zero=False, **kwargs):
        self.allow_zero = allow_zero
        # No max_length: its validator would run on the cents; the length is checked in to_python.
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off",
                                                           "maxlength": "20"}))
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        cents = euro_parse(value) if len(value) <= 20 else None
        if cents is None:
            raise ValidationError("Geef een bedrag in euro's, bijvoorbeeld 12,50.")
        if cents == 0 and not self.allow_zero:
            raise ValidationError("Het bedrag moet groter zijn dan € 0,00.")
        if cents > MAX_AMOUNT_CENTS:
            raise ValidationError(f"Het bedrag mag niet hoger zijn dan {euro(MAX_AMOUNT_CENTS)}.")
        return cents


class PaymentForm(forms.Form):
    amount = EuroField(label="Bedrag (€)")
    method = forms.ChoiceField(label="Betaald met", choices=LedgerEntry.PaymentMethod.choices,
                               widget=forms.RadioSelect, initial=LedgerEntry.PaymentMethod.PIN)
    description = forms.CharField(label="Omschrijving", max_length=200, required=False)


class ChargeForm(forms.Form):
    charge_type = forms.ChoiceField(label="Soort kosten", choices=LedgerEntry.ChargeType.choices)
    amount = EuroField(label="Bedrag (€)")
    description = forms.CharField(label="Omschrijving", max_length=200, required=False)


class WaiveForm(forms.Form):
    amount = EuroField(label="Kwijt te schelden bedrag (€)")
    reason = forms.CharField(label="Reden", max_length=200)


class BlockForm(forms.Form):
    reason = forms.CharField(label="Reden van de blokkade", max_length=500,
                             widget=forms.Textarea(attrs={"rows": 3}))


class RulesForm(forms.Form):
    balance_block = EuroField(label="Blokkeren vanaf openstaand saldo (€)", allow_zero=True)
    block_when_expired = forms.BooleanField(label="Blokkeren als het lidmaatschap verlopen is", required=False)
    loan_history_retention_days = forms.IntegerField(
        label="Leenhistorie bewaren zonder toestemming (dagen)", min_value=0, max_value=3650,
        error_messages={"min_value": "Geef 0 of meer dagen.", "max_value": "Hoogstens 3650 dagen.",
                        "invalid": "Geef een aantal dagen."},
    )
    guest_charge_max = EuroField(
        label="Maximaal per kostenpost van een andere bibliotheek (€)", allow_zero=True, required=False,
        help_text="Leengeld, boetes en vergoedingen voor verloren exemplaren die een andere bibliotheek voor een "
                  "gastlening van uw lid in rekening brengt, worden tot dit bedrag geboekt (0: niet). U ziet ze "
                  "onder Leden, Kosten van andere bibliotheken.",
    )
    online_confirmation = forms.ChoiceField(
        label="Online inschrijving actief na", choices=MemberRules.OnlineConfirmation.choices,
        help_text="Leden die zich via de catalogus inschrijven, mogen lenen en reserveren zodra hun e-mailadres "
                  "bevestigd is, of pas na een eerste bezoek aan de balie met legitimatie.",
    )

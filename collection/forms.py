"""Input parsing for the collection screens. The rules themselves live in
collection.services; these forms only turn posted text into typed values."""

import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError

from .models import CollectionKind, ItemStatus, ItemType, WithdrawalReason
# Status changes staff make by hand on the item page (the service's list; loans,
# holds and transit are set by circulation and IBL).
from .services import MANUAL_STATUSES

SCAN_WIDGET = forms.Textarea(attrs={
    "rows": 5, "autocomplete": "off", "spellcheck": "false",
    "placeholder": "Scan de barcodes; de scanner geeft na elke barcode een Enter",
})


class PriceField(forms.CharField):
    """A price in euros ('12,50', '12.50', '€ 12') as integer cents."""

    def to_python(self, value):
        value = (super().to_python(value) or "").replace("€", "").strip()
        if not value:
            return None
        if not re.fullmatch(r"[0-9]{1,6}([.,][0-9]{1,2})?", value):  # [0-9]: only these digits are euros
            raise ValidationError("Geef de prijs in euro's, bijvoorbeeld 19,95.")
        try:
            return int(Decimal(value.replace(",", ".")) * 100)
        except InvalidOperation:
            raise ValidationError("Geef de prijs in euro's, bijvoorbeeld 19,95.")


def branch_choices(branches):
    return [(branch.pk, branch.name) for branch in branches]


class BranchForm(forms.Form):
    def __init__(self, *args, branches=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].choices = branch_choices(branches)


class ItemAddForm(BranchForm):
    barcodes = forms.CharField(label="Barcodes", widget=SCAN_WIDGET)
    branch = forms.TypedChoiceField(label="Vestiging", coerce=int)
    shelf_location = forms.CharField(label="Plaats", max_length=80, required=False)
    call_number = forms.CharField(label="Signatuur", max_length=80, required=False)
    item_type = forms.ChoiceField(label="Soort", choices=ItemType.choices)
    collection = forms.ChoiceField(label="Collectie", choices=CollectionKind.choices)
    price = PriceField(label="Prijs (€)", required=False)
    acquired_on = forms.DateField(label="Aanschafdatum", required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}))
    not_for_loan = forms.BooleanField(label="Niet uitleenbaar", required=False)


class ItemEditForm(forms.Form):
    shelf_location = forms.CharField(label="Plaats", max_length=80, required=False)
    call_number = forms.CharField(label="Signatuur", max_length=80, required=False)
    item_type = forms.ChoiceField(label="Soort", choices=ItemType.choices)
    collection = forms.ChoiceField(label="Collectie", choices=CollectionKind.choices)
    price = PriceField(label="Prijs (€)", required=False)
    acquired_on = forms.DateField(label="Aanschafdatum", required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}))
    not_for_loan = forms.BooleanField(label="Niet uitleenbaar", required=False)
    notes = forms.CharField(label="Opmerkingen", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    @classmethod
    def for_item(cls, item):
        return cls(initial={
            "shelf_location": item.shelf_location, "call_number": item.call_number, "item_type": item.item_type,
            "collection": item.collection,
            "price": f"{item.price_cents // 100},{item.price_cents % 100:02d}" if item.price_cents is not None else "",
            "acquired_on": item.acquired_on, "not_for_loan": item.not_for_loan, "notes": item.notes,
        })

    def changes(self):
        data = dict(self.cleaned_data)
        data["price_cents"] = data.pop("price")
        return data


class MoveForm(BranchForm):
    barcodes = forms.CharField(label="Barcodes", widget=SCAN_WIDGET)
    branch = forms.TypedChoiceField(label="Naar vestiging", coerce=int)
    shelf_location = forms.CharField(label="Naar plaats", max_length=80, required=False)


class WithdrawForm(forms.Form):
    barcodes = forms.CharField(label="Barcodes", widget=SCAN_WIDGET)
    reason = forms.ChoiceField(label="Reden", choices=[("", "— kies een reden —"), *WithdrawalReason.choices])
    detail = forms.CharField(label="Toelichting", max_length=200, required=False)




class StatusForm(forms.Form):
    status = forms.ChoiceField(label="Nieuwe status", choices=[(s.value, s.label) for s in MANUAL_STATUSES])
    detail = forms.CharField(label="Toelichting", max_length=200, required=False)


class WeedingForm(BranchForm):
    months = forms.IntegerField(label="Niet uitgeleend in (maanden)", min_value=1, max_value=240, initial=24)
    branch = forms.TypedChoiceField(label="Vestiging", coerce=int, required=False, empty_value=None)

    def __init__(self, *args, branches=(), **kwargs):
        super().__init__(*args, branches=branches, **kwargs)
        self.fields["branch"].choices = [("", "Alle vestigingen"), *branch_choices(branches)]


class StocktakeStartForm(BranchForm):
    branch = forms.TypedChoiceField(label="Vestiging", coerce=int)
    shelf_location = forms.CharField(label="Plaats (kast/plank)", max_length=80)

"""Input parsing for the loan-rule matrix and circulation settings screens
(library administrators). The rules themselves (ranges, unique cells, fine
maximum) live in circulation.services.rules; these forms only turn posted text
into typed values. Amounts are entered in euros and parsed by members' EuroField."""

from django import forms

from collection.models import ItemType
from members.forms_accounts import EuroField

from .models import GuestAgeGroup

GUESTS = "gast"
GUESTS_BY_AGE = {"gast-jeugd": GuestAgeGroup.YOUTH, "gast-volwassen": GuestAgeGroup.ADULT}
LIBRARIES = "bibliotheek"

INTEGER_ERRORS = {"invalid": "Geef een geheel getal.", "required": "Vul dit veld in."}


def _who_choices(categories, *, everyone):
    choices = [("", "Iedereen (alle eigen leden)")] if everyone else [("", "— kies —")]
    choices += [(str(category.pk), f"Leden: {category.name}") for category in categories]
    choices.append((GUESTS, "Gastleners (pas van een andere bibliotheek)"))
    choices += [(value, f"Gastleners: {group.label}") for value, group in GUESTS_BY_AGE.items()]
    choices.append((LIBRARIES, "Bibliotheken (IBL: uitlenen aan een andere bibliotheek)"))
    return choices


def _branch_choices(branches, *, everywhere):
    choices = [("", "Alle vestigingen")] if everywhere else [("", "— kies —")]
    return choices + [
        (str(branch.pk), branch.name + ("" if branch.is_active else " (niet actief)")) for branch in branches
    ]


def who_value(rule):
    """The form value of a rule's 'for whom' dimension."""
    if rule.for_guests:
        return next((value for value, group in GUESTS_BY_AGE.items() if group == rule.guest_age_group), GUESTS)
    if rule.for_libraries:
        return LIBRARIES
    return str(rule.member_category_id) if rule.member_category_id else ""


def who_dimensions(value):
    """'gast' / 'gast-jeugd' / 'gast-volwassen' / 'bibliotheek' / a category id / '' ->
    the matrix's 'who' dimensions (for_guests, guest_age_group, for_libraries,
    member_category_id) as keyword arguments."""
    if value == GUESTS:
        return {"for_guests": True, "for_libraries": False, "member_category_id": None}
    if value in GUESTS_BY_AGE:
        return {"for_guests": True, "guest_age_group": GUESTS_BY_AGE[value], "for_libraries": False,
                "member_category_id": None}
    if value == LIBRARIES:
        return {"for_guests": False, "for_libraries": True, "member_category_id": None}
    return {"for_guests": False, "for_libraries": False, "member_category_id": int(value) if value else None}


class LoanRuleForm(forms.Form):
    who = forms.ChoiceField(label="Voor wie", required=False)
    item_type = forms.ChoiceField(label="Soort materiaal", required=False,
                                  choices=[("", "Alle soorten")] + list(ItemType.choices))
    branch = forms.ChoiceField(label="Vestiging", required=False)
    loan_days = forms.IntegerField(label="Uitleentermijn (dagen)", error_messages=INTEGER_ERRORS)
    max_renewals = forms.IntegerField(label="Maximaal aantal verlengingen", error_messages=INTEGER_ERRORS)
    max_loans_total = forms.IntegerField(label="Maximaal aantal leningen in totaal", required=False,
                                         error_messages=INTEGER_ERRORS,
                                         help_text="Leeg: het maximum van het abonnement")
    max_loans_of_type = forms.IntegerField(label="Maximaal aantal van deze soort", required=False,
                                           error_messages=INTEGER_ERRORS, help_text="Leeg: geen apart maximum")
    loan_fee = EuroField(label="Leengeld (€)", allow_zero=True, required=False)
    fine_per_day = EuroField(label="Boete per opendag (€)", allow_zero=True, required=False)
    fine_max = EuroField(label="Maximale boete per exemplaar (€)", allow_zero=True, required=False)
    holdable = forms.BooleanField(label="Reserveerbaar", required=False)
    hold_fee = EuroField(label="Reserveringskosten (€)", allow_zero=True, required=False)
    hold_shelf_days = forms.IntegerField(label="Dagen op de reserveringsplank", error_messages=INTEGER_ERRORS)
    max_holds = forms.IntegerField(label="Maximaal aantal reserveringen", required=False, error_messages=INTEGER_ERRORS,
                                   help_text="Lopende reserveringen van een lid tegelijk; leeg: geen maximum")
    no_show_fee = EuroField(label="Kosten niet opgehaald (€)", allow_zero=True, required=False)
    auto_renew = forms.BooleanField(label="Automatisch verlengen", required=False)

    def __init__(self, *args, categories, branches, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["who"].choices = _who_choices(categories, everyone=True)
        self.fields["branch"].choices = _branch_choices(branches, everywhere=True)
        for name in ("who", "item_type", "branch"):
            self.fields[name].error_messages["invalid_choice"] = "Kies een van de mogelijkheden."

    def service_arguments(self):
        """The keyword arguments of circulation.services.rules.loan_rule_save."""
        data = self.cleaned_data
        return {
            **who_dimensions(data["who"]),
            "item_type": data["item_type"],
            "branch_id": int(data["branch"]) if data["branch"] else None,
            "loan_days": data["loan_days"],
            "max_renewals": data["max_renewals"],
            "max_loans_total": data["max_loans_total"],
            "max_loans_of_type": data["max_loans_of_type"],
            "loan_fee_cents": data["loan_fee"] or 0,
            "fine_per_day_cents": data["fine_per_day"] or 0,
            "fine_max_cents": data["fine_max"] or 0,
            "holdable": data["holdable"],
            "hold_fee_cents": data["hold_fee"] or 0,
            "hold_shelf_days": data["hold_shelf_days"],
            "max_holds": data["max_holds"],
            "no_show_fee_cents": data["no_show_fee"] or 0,
            "auto_renew": data["auto_renew"],
        }


def _euros(cents):
    """Cents as the text an administrator would type: 25 -> '0,25'."""
    whole, rest = divmod(int(cents or 0), 100)
    return f"{whole},{rest:02d}"


def rule_initial(rule):
    """A LoanRule (saved, or the unsaved LSB default) as form initial values."""
    return {
        "who": who_value(rule),
        "item_type": rule.item_type,
        "branch": str(rule.branch_id) if rule.branch_id else "",
        "loan_days": rule.loan_days,
        "max_renewals": rule.max_renewals,
        "max_loans_total": rule.max_loans_total,
        "max_loans_of_type": rule.max_loans_of_type,
        "loan_fee": _euros(rule.loan_fee_cents),
        "fine_per_day": _euros(rule.fine_per_day_cents),
        "fine_max": _euros(rule.fine_max_cents),
        "holdable": rule.holdable,
        "hold_fee": _euros(rule.hold_fee_cents),
        "hold_shelf_days": rule.hold_shelf_days,
        "max_holds": rule.max_holds,
        "no_show_fee": _euros(rule.no_show_fee_cents),
        "auto_renew": rule.auto_renew,
    }


class WhichRuleForm(forms.Form):
    """'Welke regel geldt?': a borrower, an item type and a branch."""

    who = forms.ChoiceField(label="Lener", error_messages={"required": "Kies een ledencategorie of gastleners."})
    item_type = forms.ChoiceField(label="Soort materiaal", choices=[("", "— kies —")] + list(ItemType.choices),
                                  error_messages={"required": "Kies een soort materiaal."})
    branch = forms.ChoiceField(label="Vestiging", error_messages={"required": "Kies een vestiging."})

    def __init__(self, *args, categories, branches, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["who"].choices = _who_choices(categories, everyone=False)
        self.fields["branch"].choices = _branch_choices(branches, everywhere=False)
        for field in self.fields.values():
            field.error_messages["invalid_choice"] = "Kies een van de mogelijkheden."

    def chooser_arguments(self):
        data = self.cleaned_data
        return {**who_dimensions(data["who"]), "item_type": data["item_type"], "branch_id": int(data["branch"])}


class CirculationSettingsForm(forms.Form):
    floating_item_types = forms.MultipleChoiceField(
        label="Zwevende collectie", required=False, choices=ItemType.choices, widget=forms.CheckboxSelectMultiple,
        help_text="Exemplaren van deze soorten blijven na inname in de vestiging waar ze zijn ingeleverd, "
                  "in plaats van terug te gaan naar hun eigen vestiging.",
        error_messages={"invalid_choice": "Kies bestaande soorten materiaal."},
    )
    transfer_days = forms.IntegerField(
        label="Dagen transport tussen vestigingen", error_messages=INTEGER_ERRORS,
        help_text="Gebruikt voor de verwachte datum van een reservering tot er genoeg gemeten transporten zijn.",
    )
    lost_found_fee_cents = EuroField(
        label="Verwerkingskosten bij een teruggevonden verloren exemplaar", required=False, allow_zero=True,
        help_text="Komt een verloren gemeld exemplaar terug, dan wordt de vervangingsprijs teruggeboekt op de "
                  "rekening van het lid, op dit bedrag na.",
    )

    def clean_lost_found_fee_cents(self):
        return self.cleaned_data.get("lost_found_fee_cents") or 0

"""Forms for the library administrators' branch screens: opening hours per weekday
and closed days. They only parse input; the rules are in tenants.services."""

from django import forms

from tenants.models import OpeningPeriod
from tenants.services import MAX_PERIODS_PER_DAY

SHOWN_PERIODS_PER_DAY = 2
TIME_FORMATS = ["%H:%M", "%H.%M", "%H:%M:%S"]


def _slot(weekday, index, part):
    return f"d{weekday}_{index}_{part}"


class OpeningHoursForm(forms.Form):
    """Per weekday up to MAX_PERIODS_PER_DAY periods (the screen shows at least two);
    a weekday left empty is closed."""

    def __init__(self, *args, branch_periods=None, **kwargs):
        initial = kwargs.pop("initial", None) or {}
        for weekday, _label, periods in branch_periods or ():
            for index, period in enumerate(periods):
                initial[_slot(weekday, index, "opens")] = period.opens.strftime("%H:%M")
                initial[_slot(weekday, index, "closes")] = period.closes.strftime("%H:%M")
        super().__init__(*args, initial=initial, **kwargs)
        for weekday in OpeningPeriod.Weekday.values:
            for index in range(MAX_PERIODS_PER_DAY):
                for part, label in (("opens", "open"), ("closes", "dicht")):
                    self.fields[_slot(weekday, index, part)] = forms.TimeField(
                        label=f"{OpeningPeriod.Weekday(weekday).label} {label}",
                        required=False,
                        input_formats=TIME_FORMATS,
                        widget=forms.TimeInput(format="%H:%M", attrs={"type": "time"}),
                        error_messages={"invalid": "Vul een tijd in als uu:mm."},
                    )

    def clean(self):
        cleaned = super().clean()
        periods = []
        for weekday in OpeningPeriod.Weekday.values:
            label = OpeningPeriod.Weekday(weekday).label
            for index in range(MAX_PERIODS_PER_DAY):
                opens_key, closes_key = _slot(weekday, index, "opens"), _slot(weekday, index, "closes")
                if opens_key in self.errors or closes_key in self.errors:
                    continue
                opens, closes = cleaned.get(opens_key), cleaned.get(closes_key)
                if opens is None and closes is None:
                    continue
                if opens is None or closes is None:
                    self.add_error(None, f"{label.capitalize()}: vul zowel de openingstijd als de sluitingstijd in.")
                    continue
                periods.append((weekday, opens, closes))
        cleaned["periods"] = periods
        return cleaned

    def days(self):
        """[(weekday, label, [(opens BoundField, closes BoundField)], error messages)] for the template:
        at least SHOWN_PERIODS_PER_DAY rows per day, more when more are filled in."""
        rows = []
        for weekday in OpeningPeriod.Weekday.values:
            slots = [
                (self[_slot(weekday, index, "opens")], self[_slot(weekday, index, "closes")])
                for index in range(MAX_PERIODS_PER_DAY)
            ]
            filled = [i for i, (o, c) in enumerate(slots) if o.value() not in (None, "") or c.value() not in (None, "")]
            shown = max(SHOWN_PERIODS_PER_DAY, (filled[-1] + 1) if filled else 0)
            errors = [e for o, c in slots for e in (*o.errors, *c.errors)]
            rows.append((weekday, OpeningPeriod.Weekday(weekday).label, slots[:shown], errors))
        return rows


class ClosedDateForm(forms.Form):
    """One closed date, or a range when 'tot en met' is filled in."""

    date = forms.DateField(
        label="Datum (van)", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d-%m-%Y"], error_messages={"required": "Vul een datum in.",
                                                                "invalid": "Vul een geldige datum in."},
    )
    until = forms.DateField(
        label="Tot en met (optioneel)", required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d-%m-%Y"], error_messages={"invalid": "Vul een geldige einddatum in."},
    )
    reason = forms.CharField(
        label="Reden", max_length=120, error_messages={"required": "Vul een reden in voor de sluitingsdag."},
    )

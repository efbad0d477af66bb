from django import forms

from .models import Notice, NoticeKind

STATUS_FILTER = [("", "Alle statussen"), ("uncertain", "Onzeker verzonden")] + list(Notice.Status.choices)
KIND_FILTER = [("", "Alle soorten")] + list(NoticeKind.choices)


class OverviewFilterForm(forms.Form):
    status = forms.ChoiceField(label="Status", choices=STATUS_FILTER, required=False)
    kind = forms.ChoiceField(label="Soort", choices=KIND_FILTER, required=False)


class TemplateForm(forms.Form):
    subject = forms.CharField(label="Onderwerp", max_length=200)
    body = forms.CharField(label="Tekst", widget=forms.Textarea(attrs={"rows": 18, "cols": 80}))


class SettingsForm(forms.Form):
    due_soon_days_before = forms.IntegerField(label="Herinnering: dagen vóór de inleverdatum", min_value=1,
                                              max_value=365)
    overdue_1_days = forms.IntegerField(label="Eerste aanmaning: dagen na de inleverdatum", min_value=1,
                                        max_value=365)
    overdue_2_days = forms.IntegerField(label="Tweede aanmaning: dagen na de inleverdatum", min_value=1,
                                        max_value=365)
    overdue_3_days = forms.IntegerField(label="Derde aanmaning: dagen na de inleverdatum", min_value=1,
                                        max_value=365)
    from_email = forms.EmailField(label="Afzenderadres (leeg: het standaardadres van LSB)", required=False)

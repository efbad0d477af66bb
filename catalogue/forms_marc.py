from django import forms

from .models import MarcFormat


class MarcUploadForm(forms.Form):
    file = forms.FileField(
        label="MARC-bestand",
        error_messages={"required": "Kies een MARC-bestand.", "empty": "Het bestand is leeg."},
    )
    format = forms.ChoiceField(label="Formaat", choices=MarcFormat.choices, initial=MarcFormat.AUTO)


class MarcExportForm(forms.Form):
    format = forms.ChoiceField(
        label="Formaat",
        choices=[(MarcFormat.ISO2709.value, MarcFormat.ISO2709.label), (MarcFormat.MARCXML.value, MarcFormat.MARCXML.label)],
        initial=MarcFormat.ISO2709,
        error_messages={"invalid_choice": "Kies MARC21 (ISO 2709) of MARCXML."},
    )


class TitleVersionRestoreForm(forms.Form):
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)

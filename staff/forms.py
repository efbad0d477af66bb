from django import forms
from django.contrib.auth.forms import AuthenticationForm

from .models import Role, StaffUser
from .selectors import works_at


class LibrarySignInForm(AuthenticationForm):
    """Sign-in at a library's address: the account must have a role at that library."""

    error_messages = {
        "invalid_login": "Onbekende gebruikersnaam of verkeerd wachtwoord.",
        "inactive": "Dit account is uitgeschakeld.",
        "not_here": "Dit account heeft geen toegang tot %(library)s.",
    }

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        library = getattr(self.request, "library", None)
        if not works_at(user, library):
            raise forms.ValidationError(
                self.error_messages["not_here"], code="not_here", params={"library": library}
            )


class RoleGrantForm(forms.Form):
    username = forms.CharField(label="Gebruikersnaam", max_length=150)
    role = forms.ChoiceField(label="Rol", choices=Role.choices)

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        try:
            self.cleaned_data["user"] = StaffUser.objects.get(username=username, is_active=True)
        except StaffUser.DoesNotExist:
            raise forms.ValidationError(f"Er is geen actief medewerkersaccount '{username}'.")
        return username

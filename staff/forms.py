from django import forms
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.forms import AuthenticationForm

from .models import Role, StaffUser
from .selectors import works_at


class LibrarySignInForm(AuthenticationForm):
    """Sign-in at a library's address: the account must have a role at that library.

    An account without a role here gets the same answer as a wrong password, and
    counts as a failed sign-in (the lock-out, staff.sign_in, counts it): whether a
    password is right is told only where the account may work."""

    error_messages = {
        "invalid_login": "Onbekende gebruikersnaam of verkeerd wachtwoord.",
        "inactive": "Onbekende gebruikersnaam of verkeerd wachtwoord.",
    }

    def confirm_login_allowed(self, user):
        library = getattr(self.request, "library", None)
        if not user.is_active or not works_at(user, library):
            user_login_failed.send(
                sender=__name__, credentials={"username": self.cleaned_data.get("username")}, request=self.request
            )
            raise self.get_invalid_login_error()


class RoleGrantForm(forms.Form):
    username = forms.CharField(label="Gebruikersnaam", max_length=150)
    role = forms.ChoiceField(label="Rol", choices=Role.choices)

    def clean_username(self):
        """The account named (None when there is no active one): the service gives one
        answer for both, staff.account_not_here."""
        username = self.cleaned_data["username"].strip()
        self.cleaned_data["user"] = StaffUser.objects.filter(username=username, is_active=True).first()
        return username

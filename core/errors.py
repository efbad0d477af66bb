"""Errors with codes: every refusal and validation error a service raises.

A service raises `ServiceError("member.blocked", reason=...)`; it never writes a
sentence. Each app declares its codes with their Dutch sentence in its own
`errors.py` (`ERRORS = {code: gettext_lazy(sentence)}`), found by autodiscovery;
the sentence is made from the code and its parameters only when an edge shows it,
in the active language (Dutch by default, English in locale/en). The API and the
SIP2 server map the code; the desk shows the sentence. `manage.py error_codes`
lists every code from these declarations (docs/error-codes.md is generated).

ServiceError is a django ValidationError, so forms and views that already show
ValidationErrors show it unchanged; `.code` and `.params` are Django's own
attributes of a ValidationError.
"""

from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

_REGISTRY = {}
_DISCOVERED = False

# The contract's own codes (the actor guards in core.actors).
ERRORS = {
    "actor.other_library": _("Deze handeling hoort bij een andere bibliotheekorganisatie."),
    "actor.not_allowed": _("U mag deze handeling niet uitvoeren."),
    "actor.not_owner": _("Dit hoort niet bij uw account."),
    "actor.no_role": _("U heeft hiervoor geen rechten bij deze bibliotheek."),
    # Plausible values (core.plausible): typing errors never reach the database.
    "input.date_invalid": _("%(label)s is geen geldige datum."),
    "input.date_out_of_range": _("%(label)s %(date)s kan niet kloppen: kies een datum van %(earliest)s tot en met "
                                 "%(latest)s."),
    "input.amount_invalid": _("%(label)s is geen geldig bedrag."),
    "input.amount_out_of_range": _("%(label)s moet tussen %(minimum)s en %(maximum)s liggen."),
    # A NUL character in a request (core.middleware.InputCleanMiddleware): refused before any view.
    "input.null_character": _("Null-tekens zijn niet toegestaan."),
}


def register(errors, *, origin):
    for code, message in errors.items():
        if not isinstance(message, (str, Promise)):
            raise TypeError(f"{origin}: the message of {code} is not text")
        known = _REGISTRY.get(code)
        if known is not None and known[1] != origin:
            raise ValueError(f"error code {code} declared twice: in {known[1]} and {origin}")
        _REGISTRY[code] = (message, origin)


def _discover():
    global _DISCOVERED
    if _DISCOVERED:
        return
    from django.apps import apps
    from django.utils.module_loading import module_has_submodule
    import importlib

    register(ERRORS, origin=__name__)
    for config in apps.get_app_configs():
        if config.name != "core" and module_has_submodule(config.module, "errors"):
            module = importlib.import_module(f"{config.name}.errors")
            register(getattr(module, "ERRORS", {}), origin=module.__name__)
    _DISCOVERED = True


def message_for(code):
    _discover()
    try:
        return _REGISTRY[code][0]
    except KeyError:
        raise LookupError(f"error code {code!r} is not declared in any app's errors.py") from None


def all_codes():
    """[(code, lazy message, declaring module)] sorted by code."""
    _discover()
    return sorted((code, message, origin) for code, (message, origin) in _REGISTRY.items())


class ServiceError(ValidationError):
    """One refusal: a stable code, its parameters, and (for forms) the field it is about."""

    def __init__(self, code, field=None, **params):
        message = message_for(code)
        if field is None:
            super().__init__(message, code=code, params=params)
        else:
            super().__init__({field: [ValidationError(message, code=code, params=params)]})
            self.message, self.code, self.params = message, code, params
        self.field = field

    def as_dict(self):
        return error_as_dict(self)

    def __str__(self):
        return "; ".join(self.messages)

    def __repr__(self):
        return f"ServiceError({self.code!r}, {self.params!r})"


class ServiceErrors(ValidationError):
    """Several refusals at once (e.g. every reason a checkout is refused)."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__(self.errors)

    @property
    def codes(self):
        return [error.code for error in self.errors]

    def __str__(self):
        return "; ".join(self.messages)


def error_codes(error):
    """Every code in a ValidationError (ServiceError, ServiceErrors or a plain one)."""
    if isinstance(error, ServiceErrors):
        return error.codes
    if getattr(error, "code", None) and hasattr(error, "field"):
        return [error.code]
    if hasattr(error, "error_dict"):
        return [e.code for errors in error.error_dict.values() for e in errors]
    return [e.code for e in error.error_list]


def error_as_dict(error):
    """{code, params, message, field} for the API: the message in the active language."""
    params = getattr(error, "params", None) or {}
    message = error.message % params if params else error.message
    return {
        "code": error.code,
        "field": getattr(error, "field", None),
        "params": {key: _plain(value) for key, value in params.items()},
        "message": str(message),
    }


def _plain(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)

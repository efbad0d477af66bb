"""One error format for the whole API: {"errors": [{code, field, params, message}]}.

Every refusal carries a code declared in some app's errors.py (core.errors): the
service's own code when a service refused (checkout.limit_total,
member.balance_too_high, loan.max_renewals, ...), an api.* code for what the API
itself refuses (keys, request shape, throttling). `message` is the sentence in the
request's language (Dutch by default; `Accept-Language: en` for English).

Status codes:
- 400 the request is malformed or a field does not fit the schema (api.field_invalid,
  the field named, params.reason the validator's code, e.g. "required")
- 401 no key or an unknown/revoked one; 403 a key of another library, the wrong kind
  of key, or a service's actor.* refusal (no role, not allowed) or a patron's sign-in
  refused (auth.*)
- 404 what the request names does not exist in this library (*.not_found, unknown
  item or card); 409 a service refused in the present state (checkout refusals,
  renewal refusals, holds, ...); 422 a service refused a value the request gave
  (a refusal about a field, e.g. ledger.amount_too_high)
- 429 too many requests with this key (Retry-After says when to try again)
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from core.errors import ServiceErrors, error_as_dict, message_for

FORBIDDEN_PREFIXES = ("actor.", "auth.", "api.key_", "api.machine_", "api.staff_")
NOT_FOUND_CODES = frozenset({
    "scan.item_unknown", "borrower.card_unknown", "api.card_unknown", "api.not_found", "title.unknown",
})


class ApiRefusal(exceptions.APIException):
    """A refusal of the API itself with one of its codes (api/errors.py)."""

    def __init__(self, code, *, status_code=status.HTTP_403_FORBIDDEN, field=None, headers=None, **params):
        self.code = code
        self.status_code = status_code
        self.field = field
        self.params = params
        self.headers = headers or {}
        super().__init__(detail=code, code=code)


def error_entry(code, *, field=None, params=None, message=None):
    params = params or {}
    if message is None:
        sentence = message_for(code)
        message = str(sentence % params) if params else str(sentence)
    return {"code": code, "field": field, "params": params, "message": str(message)}


def _service_entries(error):
    """The refusals in a Django ValidationError (ServiceError, ServiceErrors or a
    plain one), each as {code, field, params, message}."""
    if isinstance(error, ServiceErrors):
        entries = []
        for inner in error.errors:
            entries.extend(_service_entries(inner))
        return entries
    if getattr(error, "code", None) and hasattr(error, "field"):  # a ServiceError
        return [error_as_dict(error)]
    if hasattr(error, "error_dict"):
        return [_plain_entry(inner, field) for field, errors in error.error_dict.items() for inner in errors]
    return [_plain_entry(inner, None) for inner in error.error_list]


def _plain_entry(error, field):
    if getattr(error, "code", None) and hasattr(error, "field"):
        entry = error_as_dict(error)
        entry["field"] = entry["field"] or (field if field != "__all__" else None)
        return entry
    message = error.message % error.params if error.params else error.message
    code = error.code if error.code and "." in str(error.code) else "api.refused"
    try:
        message_for(code)
    except LookupError:
        code = "api.refused"
    if code == "api.refused":
        return error_entry(code, field=None if field == "__all__" else field, params={"detail": str(message)})
    return {"code": code, "field": None if field == "__all__" else field,
            "params": {key: str(value) for key, value in (error.params or {}).items()}, "message": str(message)}


def status_for(entries):
    """The HTTP status of a service's refusal (see the module docstring)."""
    codes = [entry["code"] for entry in entries]
    if any(code.startswith(FORBIDDEN_PREFIXES) for code in codes):
        return status.HTTP_403_FORBIDDEN
    if any(code.endswith(".not_found") or code in NOT_FOUND_CODES for code in codes):
        return status.HTTP_404_NOT_FOUND
    if all(entry["field"] and not entry["code"].startswith("borrower.") for entry in entries):
        return status.HTTP_422_UNPROCESSABLE_ENTITY
    return status.HTTP_409_CONFLICT


def _validation_entries(detail, path=""):
    """DRF's validation errors (nested dicts and lists of ErrorDetail) as entries."""
    entries = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = path if key == "non_field_errors" else (f"{path}.{key}" if path else str(key))
            entries.extend(_validation_entries(value, name))
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, (dict, list)):
                entries.extend(_validation_entries(value, f"{path}.{index}" if path else str(index)))
            else:
                entries.extend(_validation_entries(value, path))
    else:
        entries.append(error_entry("api.field_invalid", field=path or None,
                                   params={"reason": getattr(detail, "code", "invalid"), "detail": str(detail)}))
    return entries


def _response(entries, status_code, headers=None):
    response = Response({"errors": entries}, status=status_code)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def api_exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every error the API answers, in the one format."""
    if isinstance(exc, ApiRefusal):
        return _response([error_entry(exc.code, field=exc.field, params=exc.params)], exc.status_code, exc.headers)
    if isinstance(exc, DjangoValidationError):
        entries = _service_entries(exc)
        return _response(entries, status_for(entries))
    if isinstance(exc, Http404):
        return _response([error_entry("api.not_found")], status.HTTP_404_NOT_FOUND)
    if isinstance(exc, exceptions.ValidationError):
        return _response(_validation_entries(exc.detail), status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, exceptions.ParseError):
        return _response([error_entry("api.malformed")], status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, exceptions.NotAuthenticated):
        return _response([error_entry("api.key_missing")], status.HTTP_401_UNAUTHORIZED,
                         {"WWW-Authenticate": 'Bearer realm="api"'})
    if isinstance(exc, exceptions.AuthenticationFailed):
        return _response([error_entry("api.key_invalid")], status.HTTP_401_UNAUTHORIZED,
                         {"WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'})
    if isinstance(exc, exceptions.PermissionDenied):
        return _response([error_entry("actor.not_allowed", params={"kind": "api"})], status.HTTP_403_FORBIDDEN)
    if isinstance(exc, exceptions.NotFound):
        return _response([error_entry("api.not_found")], status.HTTP_404_NOT_FOUND)
    if isinstance(exc, exceptions.MethodNotAllowed):
        method = context["request"].method if context.get("request") is not None else ""
        return _response([error_entry("api.method_not_allowed", params={"method": method})],
                         status.HTTP_405_METHOD_NOT_ALLOWED)
    if isinstance(exc, exceptions.NotAcceptable):
        return _response([error_entry("api.not_acceptable")], status.HTTP_406_NOT_ACCEPTABLE)
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return _response([error_entry("api.unsupported_media_type")], status.HTTP_415_UNSUPPORTED_MEDIA_TYPE)
    if isinstance(exc, exceptions.Throttled):
        wait = int(exc.wait or 1) if exc.wait is not None else 1
        return _response([error_entry("api.throttled", params={"wait": wait})], status.HTTP_429_TOO_MANY_REQUESTS,
                         {"Retry-After": str(wait)})
    return None

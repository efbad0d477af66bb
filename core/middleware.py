"""Request hygiene for every screen, API and download: in one place.

InputCleanMiddleware refuses a request with a NUL character anywhere in what a
view could read as text (the path, a query parameter, a posted form field or its
name, a JSON body), with the sentence Django's forms give (ProhibitNullCharacters-
Validator: "Null-tekens zijn niet toegestaan."), status 400, before any view runs.
PostgreSQL cannot store NUL in text, so a value with one that slipped past a view
(a scanned barcode, a card number in ?pas=, a reason typed in a form that is not
a Django form) used to end in a server error. Uploaded files are not text fields
and are not looked at (a MARC file is binary).

Answer: the API (paths under /api/ or a request that accepts JSON and not HTML)
gets the API's error format {"errors": [{"code": "input.null_character", "field":
null, "params": {}, "message": ...}]}; screens get a small Dutch page.
"""

import json

from django.core.validators import ProhibitNullCharactersValidator
from django.http import JsonResponse
from django.shortcuts import render

NULL_CODE = "input.null_character"


def _has_null(values):
    return any("\x00" in value for value in values)


def _query_has_null(query):
    return _has_null(query.keys()) or _has_null(value for values in query.lists() for value in values[1])


def _json_has_null(request):
    content_type = request.META.get("CONTENT_TYPE", "")
    if "json" not in content_type:
        return False
    body = request.body
    if b"\x00" in body:
        return True
    # Only decode when the escape is there at all (cheap on every other body).
    if b"\\u0000" not in body.lower():
        return False
    try:
        return _value_has_null(json.loads(body))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False  # not JSON: the parser refuses it with its own answer


def _value_has_null(value):
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_value_has_null(key) or _value_has_null(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_value_has_null(item) for item in value)
    return False


def request_has_null(request):
    if "\x00" in request.path_info or "%00" in request.META.get("QUERY_STRING", ""):
        return True
    if _query_has_null(request.GET):
        return True
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if _json_has_null(request):
            return True
        content_type = request.META.get("CONTENT_TYPE", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            if _query_has_null(request.POST):
                return True
    return False


def wants_json(request):
    accept = request.META.get("HTTP_ACCEPT", "")
    return request.path_info.startswith("/api/") or ("json" in accept and "html" not in accept)


class InputCleanMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request_has_null(request):
            message = str(ProhibitNullCharactersValidator.message)
            if wants_json(request):
                # The REST API's one error format (api/exceptions.py).
                return JsonResponse({"errors": [{"code": NULL_CODE, "field": None, "params": {}, "message": message}]},
                                    status=400)
            return render(request, "400_input.html", {"message": message}, status=400)
        return self.get_response(request)


class NoStoreMiddleware:
    """Every answer to a signed-in session (a staff member, a member in the OPAC)
    may hold personal data: `Cache-Control: no-store, private`, so neither the
    browser (the back button on a shared desk PC) nor a proxy keeps a copy. An
    answer that set its own Cache-Control keeps it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        signed_in = getattr(getattr(request, "user", None), "is_authenticated", False)
        if (signed_in or (session is not None and not session.is_empty())) and "Cache-Control" not in response:
            response["Cache-Control"] = "no-store, private"
        return response

"""What every API view shares: the key's actor, path ids, pages, documented errors."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.exceptions import ErrorDetail, UnsupportedMediaType, ValidationError
from rest_framework.views import APIView

from .exceptions import ApiRefusal
from .fields import MAX_ID
from .serializers import ErrorResponseSerializer

ERROR_DESCRIPTIONS = {
    400: "The request does not fit the schema (api.field_invalid, api.malformed)",
    401: "No key, or an unknown or revoked key (api.key_missing, api.key_invalid)",
    403: "A key of another library, the wrong kind of key, no role for this (actor.no_role), "
         "or a patron's sign-in refused (auth.*)",
    404: "Not found in this library",
    409: "A service refused in the present state (its codes, e.g. checkout.limit_total)",
    415: "Not JSON",
    422: "A service refused a value of the request (its codes, with the field)",
    429: "Too many requests with this key (api.throttled; Retry-After)",
}


def errors(*statuses):
    """Documented error responses: always 401, 403 and 429, plus `statuses`."""
    return {status: OpenApiResponse(ErrorResponseSerializer, description=ERROR_DESCRIPTIONS[status])
            for status in sorted({401, 403, 429, *statuses})}


BODY_ERRORS = (400, 415)


def path_id(name, description):
    return OpenApiParameter(name, {"type": "integer", "minimum": 1, "maximum": MAX_ID}, OpenApiParameter.PATH,
                            description=description)


def parse_id(value, code, **params):
    """A path id as an int, or 404 with `code` (ids are never below 1 or above a bigint)."""
    text = str(value)
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_ID:
        raise ApiRefusal(code, status_code=404, **params)
    return int(text)


# A view of the API: `self.actor` is the key's actor (core.actors.Actor). (No docstring:
# drf-spectacular would show it as every operation's description.)
class ApiView(APIView):

    # The query parameters the view documents (a serializer: api/serializers.py); any
    # other is refused (400), so what is accepted is what the schema says.
    query_serializer = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # key, permissions, throttle first
        known = set(self.query_serializer().fields) if self.query_serializer is not None else set()
        unknown = sorted(set(request.query_params) - known)
        if unknown:
            raise ValidationError({name: [ErrorDetail("Onbekende parameter.", code="unknown")] for name in unknown})
        if request.method in ("POST", "PUT", "PATCH") and hasattr(self, request.method.lower()):
            media_type = (request.content_type or "").split(";")[0].strip().lower()
            try:
                has_body = int(request.META.get("CONTENT_LENGTH") or 0) > 0
            except ValueError:
                has_body = True
            # A body must be JSON; no body at all is fine where every field is optional (a hold's cancel).
            if (has_body or media_type) and media_type != "application/json":
                raise UnsupportedMediaType(media_type or "(none)")

    @property
    def actor(self):
        return self.request.auth.actor

    @property
    def library(self):
        return self.request.library

    def query(self):
        serializer_class = self.query_serializer
        serializer = serializer_class(data=self.request.query_params)
        # An empty ?name= is not "not given" here: it is refused unless the field allows blank text.
        blank = {name: [ErrorDetail("Dit veld mag niet leeg zijn.", code="blank")]
                 for name, field in serializer.fields.items()
                 if self.request.query_params.get(name) == "" and not getattr(field, "allow_blank", False)}
        if blank:
            raise ValidationError(blank)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def page(self, results, *, limit, offset, has_more):
        next_url = None
        if has_more:
            params = self.request.query_params.copy()
            params["offset"] = str(offset + limit)
            params["limit"] = str(limit)
            next_url = self.request.build_absolute_uri(f"{self.request.path}?{params.urlencode()}")
        return {"limit": limit, "offset": offset, "has_more": has_more, "next": next_url, "results": results}

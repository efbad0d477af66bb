"""Every URL pattern of a URL conf, as concrete paths to probe.

The security tests walk the URL confs instead of a hand-made list, so a screen or
API endpoint added later is probed too. A pattern's parameters are filled from
`values` by name (member_id, loan_id, ...); a parameter without a value gets a
generic one of its converter's kind (int 1, str "x", ...) and the pattern is
reported as generically filled, so the tests list what they could not aim well.
"""

import re
from dataclasses import dataclass, field

from django.urls import get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern, URLPattern, URLResolver

_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>")
_GENERIC = {"int": "1", "str": "x", "slug": "x", "path": "x", "uuid": "00000000-0000-0000-0000-000000000000",
            None: "x"}


@dataclass
class Route:
    route: str  # the pattern, e.g. "leden/<int:member_id>/"
    name: str
    view: str
    params: dict = field(default_factory=dict)  # name -> converter

    def path(self, values, *, generic=True):
        """The path with its parameters filled (None when a value is missing and not generic)."""
        text = self.route

        def fill(match):
            name, converter = match.group("name"), match.group("converter")
            if name in values:
                return str(values[name])
            if not generic:
                raise KeyError(name)
            return _GENERIC.get(converter, "x")

        try:
            return "/" + _PARAM.sub(fill, text)
        except KeyError:
            return None

    def unfilled(self, values):
        return [name for name in self.params if name not in values]


def _regex_to_route(regex):
    """A regex pattern (admin, DRF formats) as a route: named groups become <str:name>."""
    text = regex.lstrip("^").rstrip("$").replace("\\Z", "").replace("\\.", ".").replace("\\/", "/")
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: f"<str:{m.group(1)}>", text)
    if re.search(r"[()\[\]*+?|\\]", text):
        return None  # not a plain path: skipped (listed by routes() callers as unwalkable)
    return text


def routes(urlconf, *, prefix="", namespace=""):
    """Every URLPattern of `urlconf` (a module path) as a Route."""
    resolver = get_resolver(urlconf) if isinstance(urlconf, str) else urlconf
    found = []
    for entry in resolver.url_patterns:
        pattern = entry.pattern
        if isinstance(pattern, RoutePattern):
            text = str(pattern)
        elif isinstance(pattern, RegexPattern):
            text = _regex_to_route(pattern._regex)
            if text is None:
                continue
        else:
            text = str(pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found.extend(routes(entry, prefix=prefix + text, namespace=inner))
        elif isinstance(entry, URLPattern):
            route = prefix + text
            params = {match.group("name"): match.group("converter") for match in _PARAM.finditer(route)}
            callback = entry.callback
            view = f"{getattr(callback, '__module__', '?')}.{getattr(callback, '__name__', '?')}"
            found.append(Route(route=route, name=f"{namespace}{entry.name or ''}", view=view, params=params))
    return found


def library_routes():
    return routes("lsb.urls_tenants")


def national_routes():
    return routes("lsb.urls_public")

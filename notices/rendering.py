"""Notice texts: the placeholders each kind offers, the built-in Dutch default texts,
checking a library's own text and rendering it.

Texts are Django templates rendered from a string with autoescaping off (plain-text
e-mail and letters). Only a small set of tags is allowed (if, for, with, comment,
firstof) and only the placeholders of the notice's kind, so a library admin cannot
reach anything but what the notice is given."""

import datetime
import re
from dataclasses import dataclass, field

from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import FilterExpression, Lexer, Parser, TokenType, Variable
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from core.errors import ServiceError

from .models import NoticeKind

# No loaders: {% include %} and {% extends %} find nothing (and are refused anyway).
ENGINE = Engine(dirs=[], app_dirs=False, autoescape=False, string_if_invalid="", debug=False)

ALLOWED_TAGS = {
    "if", "elif", "else", "endif", "for", "empty", "endfor", "with", "endwith", "comment", "endcomment", "firstof",
}
_IF_OPERATORS = {"and", "or", "not", "in", "is", "==", "!=", "<", ">", "<=", ">="}

# Filters a text may use, and the largest number each may be given: a filter that
# pads or formats to a width of its argument ({{ naam|ljust:"500000000" }}) builds a
# string of that size, so those are not offered at all.
ALLOWED_FILTERS = {
    "date": None, "time": None, "default": None, "default_if_none": None, "upper": None, "lower": None,
    "capfirst": None, "title": None, "length": None, "first": None, "last": None, "join": None, "yesno": None,
    "pluralize": None, "cut": None, "slice": None, "add": None, "wordcount": None,
    "truncatechars": 1000, "truncatewords": 200, "floatformat": 6,
}
SOURCE_MAX = 10_000  # characters of a text as the library types it
RENDERED_MAX = 50_000  # characters of a notice as sent or printed
EXAMPLE_TITLES = 50  # the checking render lists this many titles (a large notice)


@dataclass(frozen=True)
class Placeholder:
    name: str
    description: str
    # For a list placeholder: the fields of each item ({% for t in titels %}{{ t.titel }}).
    item_fields: dict = field(default_factory=dict)


COMMON = [
    Placeholder("naam", "volledige naam van het lid"),
    Placeholder("voornaam", "voornaam van het lid"),
    Placeholder("pasnummer", "pasnummer van het lid"),
    Placeholder("bibliotheek", "naam van de bibliotheek"),
    Placeholder("vestiging", "de vestiging waar het bericht over gaat (bij een reservering: de ophaalvestiging)"),
    Placeholder("datum", "datum van het bericht"),
]

_TITLE = {"titel": "titel", "auteur": "auteur (kan leeg zijn)", "barcode": "barcode van het exemplaar"}

PER_KIND = {
    NoticeKind.HOLD_READY: [
        Placeholder("titels", "de klaargelegde titels", {
            **_TITLE, "uiterste_ophaaldatum": "ophalen tot en met deze datum"}),
        Placeholder("uiterste_ophaaldatum", "de vroegste uiterste ophaaldatum van de titels"),
    ],
    NoticeKind.HOLD_EXPIRED: [
        Placeholder("titels", "de titels die niet zijn opgehaald", {
            **_TITLE, "uiterste_ophaaldatum": "de laatste dag om op te halen"}),
        Placeholder("uiterste_ophaaldatum", "de laatste dag om op te halen"),
    ],
    NoticeKind.HOLD_CANCELLED: [
        Placeholder("titels", "de geannuleerde gereserveerde titels", _TITLE),
        Placeholder("reden", "waarom de bibliotheek de reservering annuleerde"),
    ],
    NoticeKind.DUE_SOON: [
        Placeholder("titels", "de titels die binnenkort terug moeten", {**_TITLE, "inleverdatum": "inleverdatum"}),
        Placeholder("inleverdatum", "de vroegste inleverdatum van de titels"),
    ],
    NoticeKind.AUTO_RENEWAL: [
        Placeholder("titels", "de titels die verlengd zijn of niet verlengd konden worden", {
            **_TITLE, "inleverdatum": "(nieuwe) inleverdatum", "verlengd": "ja/nee: is het verlengd",
            "reden": "waarom het niet verlengd kon worden"}),
    ],
}
PER_KIND[NoticeKind.IBL_UNFILLED] = [
    Placeholder("titel", "de aangevraagde titel"),
    Placeholder("auteur", "de auteur (kan leeg zijn)"),
]
for _kind in (NoticeKind.OVERDUE_1, NoticeKind.OVERDUE_2, NoticeKind.OVERDUE_3):
    PER_KIND[_kind] = [
        Placeholder("titels", "de titels die te laat zijn", {
            **_TITLE, "inleverdatum": "inleverdatum", "dagen_te_laat": "aantal dagen te laat"}),
        Placeholder("inleverdatum", "de vroegste inleverdatum van de titels"),
        Placeholder("boete", "de te-laat-boete tot nu toe, als tekst (bijv. € 1,50; kan leeg zijn)"),
    ]


def placeholders(kind):
    """The placeholders a text of this kind may use, in display order."""
    return COMMON + PER_KIND[NoticeKind(kind)]


# --- default texts ---------------------------------------------------------------------

_GREETING = "\nMet vriendelijke groet,\n\n{{ bibliotheek }}\n"
_TITLE_LINE = "- {{ t.titel }}{% if t.auteur %} ({{ t.auteur }}){% endif %}"

_OVERDUE_LIST = (
    "{% for t in titels %}" + _TITLE_LINE
    + ", inleverdatum {{ t.inleverdatum }} ({{ t.dagen_te_laat }} dagen te laat)\n{% endfor %}"
)

DEFAULTS = {
    NoticeKind.HOLD_READY: (
        "Uw reservering ligt klaar bij {{ bibliotheek }}",
        "Beste {{ voornaam }},\n\n"
        "{% if titels|length == 1 %}De titel die u heeft gereserveerd ligt{% else %}"
        "De titels die u heeft gereserveerd liggen{% endif %} voor u klaar in vestiging {{ vestiging }}:\n\n"
        "{% for t in titels %}" + _TITLE_LINE + ", op te halen tot en met {{ t.uiterste_ophaaldatum }}\n"
        "{% endfor %}\n"
        "Neem bij het ophalen uw bibliotheekpas mee (pasnummer {{ pasnummer }}). Haalt u een reservering "
        "niet op tijd op, dan gaat die naar de volgende lener.\n" + _GREETING,
    ),
    NoticeKind.HOLD_EXPIRED: (
        "Uw reservering is niet opgehaald",
        "Beste {{ voornaam }},\n\n"
        "U heeft het volgende niet opgehaald in vestiging {{ vestiging }}:\n\n"
        "{% for t in titels %}" + _TITLE_LINE + ", op te halen tot en met {{ t.uiterste_ophaaldatum }}\n"
        "{% endfor %}\n"
        "De reservering is vervallen en gaat naar de volgende lener. Wilt u het toch lezen, dan kunt u het "
        "opnieuw reserveren.\n" + _GREETING,
    ),
    NoticeKind.HOLD_CANCELLED: (
        "Uw reservering is geannuleerd",
        "Beste {{ voornaam }},\n\n"
        "De bibliotheek heeft uw reservering geannuleerd:\n\n"
        "{% for t in titels %}" + _TITLE_LINE + "\n{% endfor %}\n"
        "{% if reden %}Reden: {{ reden }}\n\n{% endif %}"
        "Heeft u vragen, neem dan contact op met {{ bibliotheek }} (pasnummer {{ pasnummer }}).\n" + _GREETING,
    ),
    NoticeKind.DUE_SOON: (
        "Herinnering: inleverdatum {{ inleverdatum }}",
        "Beste {{ voornaam }},\n\n"
        "Binnenkort moet u het volgende terugbrengen naar {{ bibliotheek }}:\n\n"
        "{% for t in titels %}" + _TITLE_LINE + ", inleverdatum {{ t.inleverdatum }}\n{% endfor %}\n"
        "Bent u nog niet klaar? Misschien kunt u verlengen, bij de balie of met uw pasnummer {{ pasnummer }}. "
        "Na de inleverdatum betaalt u een te-laat-boete.\n" + _GREETING,
    ),
    NoticeKind.AUTO_RENEWAL: (
        "Uw leningen bij {{ bibliotheek }} zijn verlengd",
        "Beste {{ voornaam }},\n\n"
        "Wij hebben uw leningen automatisch verlengd waar dat kon.\n\n"
        "{% for t in titels %}" + _TITLE_LINE + ": {% if t.verlengd %}verlengd tot en met {{ t.inleverdatum }}"
        "{% else %}niet verlengd{% if t.reden %} ({{ t.reden }}){% endif %}, inleverdatum blijft "
        "{{ t.inleverdatum }}{% endif %}\n{% endfor %}\n"
        "Wat niet verlengd kon worden, brengt u uiterlijk op de inleverdatum terug.\n" + _GREETING,
    ),
    NoticeKind.OVERDUE_1: (
        "Eerste aanmaning: u heeft nog materialen van {{ bibliotheek }}",
        "Beste {{ voornaam }},\n\n"
        "De inleverdatum van het volgende is verstreken:\n\n" + _OVERDUE_LIST + "\n"
        "Wilt u dit zo snel mogelijk terugbrengen? Zolang u dat niet doet, loopt de te-laat-boete op."
        "{% if boete %} Tot nu toe is dat {{ boete }}.{% endif %}\n\n"
        "Heeft u het al teruggebracht? Dan kunt u dit bericht als niet verzonden beschouwen.\n" + _GREETING,
    ),
    NoticeKind.OVERDUE_2: (
        "Tweede aanmaning: breng uw materialen terug naar {{ bibliotheek }}",
        "Beste {{ voornaam }},\n\n"
        "U heeft eerder een aanmaning gekregen, maar het volgende is nog niet terug:\n\n" + _OVERDUE_LIST + "\n"
        "Breng het zo snel mogelijk terug. De te-laat-boete loopt nog steeds op."
        "{% if boete %} Tot nu toe is dat {{ boete }}.{% endif %} "
        "Zolang dit openstaat, kunt u misschien niets nieuws lenen of reserveren.\n" + _GREETING,
    ),
    NoticeKind.IBL_UNFILLED: (
        "Uw IBL-aanvraag bij {{ bibliotheek }} kan niet worden geleverd",
        "Beste {{ voornaam }},\n\n"
        "U heeft via {{ bibliotheek }} gevraagd om {{ titel }}{% if auteur %} ({{ auteur }}){% endif %} bij een "
        "andere bibliotheek te lenen (interbibliothecair leenverkeer). Helaas kon geen enkele bibliotheek het "
        "exemplaar leveren. Er zijn geen kosten voor u.\n\n"
        "Aan de balie denken we graag met u mee over een andere titel.\n" + _GREETING,
    ),
    NoticeKind.OVERDUE_3: (
        "Laatste aanmaning van {{ bibliotheek }}",
        "Beste {{ voornaam }},\n\n"
        "Dit is de laatste aanmaning. Ondanks eerdere aanmaningen heeft u het volgende nog niet "
        "teruggebracht:\n\n" + _OVERDUE_LIST + "\n"
        "{% if boete %}De te-laat-boete is inmiddels {{ boete }}. {% endif %}"
        "Brengt u het niet terug, dan brengen wij de vervangingskosten bij u in rekening en kan de "
        "bibliotheek verdere stappen nemen. Neem bij vragen contact op met {{ bibliotheek }}, vestiging "
        "{{ vestiging }} (pasnummer {{ pasnummer }}).\n" + _GREETING,
    ),
}


# --- an example for the preview -----------------------------------------------------------

def example_context(kind, *, library_name="Bibliotheek Voorbeeld", branch_name="Centrale bibliotheek", titles=None):
    """The placeholders with example values (the preview); with `titles`, that many
    titles in every list (to check the size of a large notice)."""
    context = _example_context(kind, library_name=library_name, branch_name=branch_name)
    if titles and context.get("titels"):
        context["titels"] = [dict(context["titels"][number % len(context["titels"])]) for number in range(titles)]
    return context


def _example_context(kind, *, library_name, branch_name):
    today = datetime.date.today()
    later = today + datetime.timedelta(days=7)
    earlier = today - datetime.timedelta(days=10)
    context = {
        "naam": "Anna de Vries", "voornaam": "Anna", "pasnummer": "2100123456789", "bibliotheek": library_name,
        "vestiging": branch_name, "datum": today,
    }
    books = [
        {"titel": "De avonden", "auteur": "Gerard Reve", "barcode": "3000000012345"},
        {"titel": "Max Havelaar", "auteur": "Multatuli", "barcode": "3000000067890"},
    ]
    kind = NoticeKind(kind)
    if kind == NoticeKind.HOLD_READY:
        context["titels"] = [{**books[0], "uiterste_ophaaldatum": later}]
        context["uiterste_ophaaldatum"] = later
    elif kind == NoticeKind.HOLD_EXPIRED:
        context["titels"] = [{**books[0], "uiterste_ophaaldatum": earlier}]
        context["uiterste_ophaaldatum"] = earlier
    elif kind == NoticeKind.HOLD_CANCELLED:
        context["titels"] = [books[0]]
        context["reden"] = "Het exemplaar is beschadigd en wordt niet vervangen."
    elif kind == NoticeKind.DUE_SOON:
        context["titels"] = [{**book, "inleverdatum": later} for book in books]
        context["inleverdatum"] = later
    elif kind == NoticeKind.IBL_UNFILLED:
        context["titel"] = books[0]["titel"]
        context["auteur"] = books[0]["auteur"]
    elif kind == NoticeKind.AUTO_RENEWAL:
        context["titels"] = [
            {**books[0], "inleverdatum": today + datetime.timedelta(days=21), "verlengd": True, "reden": ""},
            {**books[1], "inleverdatum": today, "verlengd": False, "reden": "er is een reservering op"},
        ]
    else:
        context["titels"] = [{**book, "inleverdatum": earlier, "dagen_te_laat": 10} for book in books]
        context["inleverdatum"] = earlier
        context["boete"] = "€ 2,00"
    return context


# --- checking a library's text ----------------------------------------------------------------

def _check(source, kind):
    """The problems with a text of this kind as (code, params) (empty when it is fine)."""
    refused = []
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            tag = (token.contents.split() or [""])[0]
            if tag not in ALLOWED_TAGS:
                refused.append(("notice_text.tag_not_allowed", {"tag": tag}))
    if refused:
        return _distinct(refused)
    try:
        ENGINE.from_string(source)
    except TemplateSyntaxError as error:
        return [("notice_text.syntax", {"error": str(error)})]
    known = {placeholder.name: placeholder for placeholder in placeholders(kind)}
    parser = Parser([], builtins=ENGINE.template_builtins)
    problems = []
    scopes = []  # local names of {% for %} and {% with %}: name -> item fields (dict) or None (anything)

    def check_variable(variable):
        if not isinstance(variable, Variable) or variable.lookups is None:
            return None  # a literal
        name, rest = variable.lookups[0], list(variable.lookups[1:])
        for scope in reversed(scopes):
            if name in scope:
                fields = scope[name]
                if fields is not None and rest and rest[0] not in fields:
                    problems.append(("notice_text.unknown_field",
                                     {"name": rest[0], "variable": variable.var, "fields": ", ".join(fields)}))
                return None
        if name not in known:
            problems.append(("notice_text.unknown_placeholder",
                             {"variable": variable.var, "allowed": ", ".join(known)}))
            return None
        fields = known[name].item_fields
        if fields:
            if rest and rest[0].isdigit():
                rest = rest[1:]
            if rest and rest[0] not in fields:
                problems.append(("notice_text.unknown_field",
                                 {"name": rest[0], "variable": variable.var, "fields": ", ".join(fields)}))
            return fields
        return None

    def check_expression(text):
        try:
            expression = FilterExpression(text, parser)
        except TemplateSyntaxError as error:
            problems.append(("notice_text.syntax", {"error": str(error)}))
            return None
        fields = check_variable(expression.var)
        for function, arguments in expression.filters:
            name = getattr(function, "_filter_name", None) or getattr(function, "__name__", "")
            if name not in ALLOWED_FILTERS:
                problems.append(("notice_text.filter_not_allowed",
                                 {"filter": name, "allowed": ", ".join(sorted(ALLOWED_FILTERS))}))
                continue
            for is_lookup, argument in arguments:
                if is_lookup:
                    check_variable(argument)
                elif ALLOWED_FILTERS[name] is not None and _number_over(argument, ALLOWED_FILTERS[name]):
                    problems.append(("notice_text.filter_argument_too_large",
                                     {"filter": name, "max": ALLOWED_FILTERS[name]}))
        return fields if not expression.filters else None

    in_comment = False
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.VAR and not in_comment:
            check_expression(token.contents)
        elif token.token_type == TokenType.BLOCK:
            bits = token.split_contents()
            tag = bits[0]
            if in_comment:
                in_comment = tag != "endcomment"
                continue
            if tag == "comment":
                in_comment = True
            elif tag in ("if", "elif"):
                for bit in bits[1:]:
                    if bit not in _IF_OPERATORS:
                        check_expression(bit)
            elif tag == "for":
                if any("forloop" in scope for scope in scopes):
                    problems.append(("notice_text.loop_nested", {}))
                reversed_ = bits[-1] == "reversed"
                sequence = bits[-2] if reversed_ else bits[-1]
                loop_vars = [name.strip() for name in " ".join(bits[1:-3 if reversed_ else -2]).split(",")]
                fields = check_expression(sequence)
                scope = {name: None for name in loop_vars}
                if len(loop_vars) == 1:
                    scope[loop_vars[0]] = fields or None
                scope["forloop"] = None
                scopes.append(scope)
            elif tag == "endfor":
                if scopes:
                    scopes.pop()
            elif tag == "with":
                scope = {}
                arguments = bits[1:]
                if len(arguments) == 3 and arguments[1] == "as":  # legacy {% with value as name %}
                    scope[arguments[2]] = check_expression(arguments[0])
                else:
                    for argument in arguments:
                        name, _equals, value = argument.partition("=")
                        scope[name] = check_expression(value)
                scopes.append(scope)
            elif tag == "endwith":
                if scopes:
                    scopes.pop()
            elif tag == "firstof":
                values = bits[1:]
                if len(values) > 2 and values[-2] == "as":
                    values = values[:-2]
                for value in values:
                    check_expression(value)
    if problems:
        return _distinct(problems)
    try:
        text = _render(source, example_context(kind, titles=EXAMPLE_TITLES))
    except Exception as error:  # a filter that fails on real values
        return [("notice_text.render_failed", {"error": str(error)})]
    if len(text) > RENDERED_MAX:
        return [("notice_text.rendered_too_long", {"max": RENDERED_MAX, "titles": EXAMPLE_TITLES})]
    return []


def _number_over(argument, maximum):
    """Is a literal filter argument a number (or a slice/format with numbers) above maximum?"""
    value = argument.resolve({}) if hasattr(argument, "resolve") else argument
    numbers = [int(part) for part in re.findall(r"[0-9]+", str(value))]
    return any(number > maximum for number in numbers)


def _distinct(problems):
    return list({(code, tuple(sorted(params.items()))): (code, params) for code, params in problems}.values())


def text_errors(*, kind, subject, body):
    """Every problem with a subject and body for this kind of notice, as ServiceErrors
    (codes in notices/errors.py; field "subject" or "body")."""
    errors = []
    if not subject.strip():
        errors.append(ServiceError("notice_text.subject_missing", field="subject"))
    elif len(subject) > 200:
        errors.append(ServiceError("notice_text.subject_too_long", field="subject"))
    else:
        errors.extend(ServiceError(code, field="subject", part=_("Onderwerp"), **params)
                      for code, params in _check(subject, kind))
    if not body.strip():
        errors.append(ServiceError("notice_text.body_missing", field="body"))
    elif len(body) > SOURCE_MAX:
        errors.append(ServiceError("notice_text.body_too_long", field="body", max=SOURCE_MAX))
    else:
        errors.extend(ServiceError(code, field="body", part=_("Tekst"), **params)
                      for code, params in _check(body, kind))
    return errors


def text_problems(*, kind, subject, body):
    """The same problems as Dutch sentences (the preview on the texts screen)."""
    return [message for error in text_errors(kind=kind, subject=subject, body=body) for message in error.messages]


# --- rendering ------------------------------------------------------------------------------------

def _render(source, context):
    with translation.override("nl"):
        return ENGINE.from_string(source).render(Context(context, autoescape=False))


def render(source, context):
    """The text with its placeholders filled in (plain text, Dutch dates), at most
    RENDERED_MAX characters (a longer one is cut off there, with a note)."""
    text = _render(source, context)
    if len(text) > RENDERED_MAX:
        text = text[:RENDERED_MAX] + "\n[...] (ingekort)"
    return text


def render_subject(source, context):
    """A one-line subject, at most 200 characters."""
    return " ".join(render(source, context).split())[:200]

"""Error codes: declared once per app, sentences made at the edge in the active language."""

import ast
from pathlib import Path

import pytest
from django import forms
from django.utils import translation

from core import errors
from core.errors import ServiceError, ServiceErrors, error_as_dict, error_codes
from core.management.commands.error_codes import error_codes_markdown

REPO = Path(__file__).resolve().parents[2]


def test_a_service_error_carries_code_params_and_the_dutch_sentence():
    error = ServiceError("actor.no_role", role="Balie")
    assert error.code == "actor.no_role"
    assert error.params == {"role": "Balie"}
    assert error.messages == ["U heeft hiervoor geen rechten bij deze bibliotheek."]
    assert error_codes(error) == ["actor.no_role"]


def test_the_sentence_follows_the_active_language():
    error = ServiceError("actor.not_owner")
    with translation.override("en"):
        assert error.messages == ["This does not belong to your account."]
    with translation.override("nl"):
        assert error.messages == ["Dit hoort niet bij uw account."]


def test_an_undeclared_code_fails_at_once():
    with pytest.raises(LookupError, match="not.declared"):
        ServiceError("not.declared")


def test_a_code_declared_by_two_modules_is_refused():
    errors.register({"actor.not_owner": errors.ERRORS["actor.not_owner"]}, origin=errors.__name__)  # again: fine
    with pytest.raises(ValueError, match="declared twice"):
        errors.register({"actor.not_owner": "x"}, origin="someapp.errors")


def test_several_refusals_keep_every_code_and_sentence():
    error = ServiceErrors([ServiceError("actor.not_owner"), ServiceError("actor.other_library")])
    assert error.codes == ["actor.not_owner", "actor.other_library"]
    assert len(error.messages) == 2


def test_a_field_error_lands_on_the_form_field():
    class CardForm(forms.Form):
        card_number = forms.CharField()

    form = CardForm(data={"card_number": "1"})
    assert form.is_valid()
    form.add_error(None, ServiceError("actor.not_owner", field="card_number"))
    assert form.errors["card_number"] == ["Dit hoort niet bij uw account."]


def test_the_api_form_of_an_error():
    with translation.override("en"):
        as_dict = error_as_dict(ServiceError("actor.no_role", role="Desk"))
    assert as_dict == {"code": "actor.no_role", "field": None, "params": {"role": "Desk"},
                       "message": "You do not have the rights for this at this library."}


def _raised_codes():
    """Every literal code passed to ServiceError(...) in the project's source."""
    found = {}
    for path in REPO.glob("*/**/*.py"):
        if any(part in {".venv", "var", "tests", "node_modules"} for part in path.relative_to(REPO).parts):
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "ServiceError"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                found.setdefault(node.args[0].value, f"{path.relative_to(REPO)}:{node.lineno}")
    return found


def test_every_code_a_service_raises_is_declared():
    declared = {code for code, _message, _origin in errors.all_codes()}
    undeclared = {code: where for code, where in _raised_codes().items() if code not in declared}
    assert undeclared == {}


def test_every_declared_sentence_has_an_english_translation():
    untranslated = []
    for code, message, _origin in errors.all_codes():
        with translation.override("en"):
            english = str(message)
        with translation.override("nl"):
            dutch = str(message)
        if english == dutch:
            untranslated.append(code)
    assert untranslated == []


def test_the_documented_list_of_codes_is_current():
    documented = (REPO / "docs" / "error-codes.md").read_text()
    assert documented == error_codes_markdown(), (
        "docs/error-codes.md is out of date: python manage.py error_codes --markdown > docs/error-codes.md"
    )

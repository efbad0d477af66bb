"""No app uses another app's private (_underscore) names: what one app offers
another is public and named. The floors and private modules are import-linter's
contracts (.importlinter, run by ./lsbctl test); it sees modules, not names, so
this test reads the imports itself."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
APPS = ("core", "tenants", "staff", "catalogue", "members", "collection", "notices", "circulation", "demo", "lsb")


def _private(name):
    return name.startswith("_") and not name.startswith("__")


def _is_module(dotted):
    path = REPO.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _target(module, is_package, node):
    """The absolute module an ImportFrom node imports from."""
    if not node.level:
        return node.module
    parts = module.split(".") if is_package else module.split(".")[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


def _dotted(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def private_uses(source, module, *, is_package=False):
    """[(line, what)] where the source of `module` uses a private name (or module)
    of another app: imported by name, or read from an imported module."""
    app = module.split(".")[0]
    tree = ast.parse(source)
    problems = []
    other_modules = set()  # local names bound to another app's modules
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = _target(module, is_package, node) or ""
            if target.split(".")[0] not in APPS or target.split(".")[0] == app:
                continue
            for alias in node.names:
                if _private(alias.name) or any(_private(part) for part in target.split(".")):
                    problems.append((node.lineno, f"{target}.{alias.name}"))
                elif _is_module(f"{target}.{alias.name}"):
                    other_modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                if top not in APPS or top == app:
                    continue
                if any(_private(part) for part in alias.name.split(".")):
                    problems.append((node.lineno, alias.name))
                other_modules.add(alias.asname or top)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            base = _dotted(node.value)
            if base and base.split(".")[0] in other_modules:
                problems.append((node.lineno, f"{base}.{node.attr}"))
    return sorted(problems)


def _app_modules():
    for app in APPS:
        for path in sorted((REPO / app).rglob("*.py")):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            yield path, ".".join(parts), is_package


def test_no_app_uses_another_app_s_private_names():
    found = [
        f"{path.relative_to(REPO)}:{line}: {what}"
        for path, module, is_package in _app_modules()
        for line, what in private_uses(path.read_text(), module, is_package=is_package)
    ]
    assert found == [], "make these public with a proper name in their app:\n" + "\n".join(found)


def test_the_check_sees_private_names_imported_or_read_from_a_module():
    source = "\n".join([
        "from collection.services import _branch_of, item_lock",  # 1: private name
        "from collection import services",
        "from . import rules",
        "from .models import _own_helper",  # own app: fine
        "import tenants.calendar",
        "from members import selectors as member_selectors",
        "from members._private import thing",  # 7: private module
        "",
        "def f():",
        "    services._barcode_error('x')",  # 10
        "    tenants.calendar._dutch_holidays(2030)",  # 11
        "    member_selectors.registration._hidden",  # 12
        "    rules._matches(1)",  # own app: fine
        "    services.item_lock()",  # public: fine
    ])
    assert private_uses(source, "circulation.services.loans") == [
        (1, "collection.services._branch_of"),
        (7, "members._private.thing"),
        (10, "services._barcode_error"),
        (11, "tenants.calendar._dutch_holidays"),
        (12, "member_selectors.registration._hidden"),
    ]

"""Fixtures for the member tests. Everything is created inside each test's
rolled-back transaction, in the library schemas of alpha and beta."""

from types import SimpleNamespace

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from .factories import default_categories


@pytest.fixture
def member_defaults(libraries):
    """Default subscriptions and categories in alpha and beta: namespace with
    .alpha and .beta (dicts from factories.default_categories)."""
    result = {}
    for slug in ("alpha", "beta"):
        with tenant_context(getattr(libraries, slug)):
            result[slug] = default_categories()
    connection.set_schema_to_public()
    return SimpleNamespace(**result)


@pytest.fixture
def in_alpha(libraries, member_defaults):
    """Run the test body in alpha's schema (with the default categories)."""
    with tenant_context(libraries.alpha):
        yield libraries.alpha


@pytest.fixture
def in_beta(libraries, member_defaults):
    with tenant_context(libraries.beta):
        yield libraries.beta

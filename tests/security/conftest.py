"""Fixtures for the security tests: the shared ones of the member and
circulation tests (desk in alpha, member defaults)."""

import pytest

from tests.circulation.conftest import desk  # noqa: F401
from tests.members.conftest import in_alpha, in_beta, member_defaults  # noqa: F401


@pytest.fixture
def alpha_branches(libraries):
    return list(libraries.alpha.branches.order_by("code"))

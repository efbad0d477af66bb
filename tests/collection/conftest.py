import pytest
from django_tenants.utils import tenant_context

from catalogue.models import Holding
from collection import services
from core.actors import Actor


@pytest.fixture
def alpha(libraries):
    """Run the test body inside library alpha's schema."""
    with tenant_context(libraries.alpha):
        yield libraries.alpha


@pytest.fixture
def alpha_branches(libraries):
    return list(libraries.alpha.branches.order_by("code"))


@pytest.fixture
def title(db):
    from tests.factories import TitleFactory

    return TitleFactory(title="De avonden")


def holding_counts(organisation, title, branch):
    """(total, available) in the national holdings index, or None when there is no row."""
    row = Holding.objects.filter(organisation=organisation, title=title, branch=branch).first()
    return (row.total, row.available) if row else None


def add_items(organisation, user, title, branch, barcodes, **fields):
    with tenant_context(organisation):
        return services.item_add(actor=Actor.staff(user, organisation), title_id=title.pk,
                                 barcodes=barcodes, branch_id=branch.pk, **fields)

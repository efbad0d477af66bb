"""Fixtures for the REST API: alpha's desk (tests.circulation.conftest), a machine
key of alpha (at its main branch) and one of beta, staff keys of alpha (desk,
collection) and beta, and a JSON client for a library's host."""

import json
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.db import connection
from django_tenants.utils import tenant_context

from core.actors import Actor
from selfservice.models import MachineAccount, MachineKind
from staff.services import staff_api_token_create
from tests.circulation.conftest import desk  # noqa: F401 (shared fixture)
from tests.members.conftest import in_alpha, in_beta, member_defaults  # noqa: F401 (shared fixtures)

ALPHA = "alpha.localhost"
BETA = "beta.localhost"


def machine_key(library, branch, login, kind=MachineKind.API, pin_required=False):
    """A machine account and its API key; by default one that may act for a card
    without its PIN (a machine that only scans cards), so a PIN is checked when sent."""
    account = MachineAccount.objects.create(organisation=library, branch=branch, name=f"Automaat {login}",
                                            login=login, kind=kind, patron_pin_required=pin_required)
    return account, account.token_rotate()


def staff_key(library, user, name="koppeling"):
    with tenant_context(library):
        return staff_api_token_create(actor=Actor.system("test", library), user=user, name=name)


@pytest.fixture(autouse=True)
def fresh_rate_windows():
    """Throttle counters live in Redis (outside the rolled-back transaction): start each test with none."""
    client = cache._cache.get_client(write=True)
    for key in client.scan_iter("*api-rate:*"):
        client.delete(key)
    yield


@pytest.fixture
def api(desk, libraries, staff):
    alpha, beta = libraries.alpha, libraries.beta
    beta_branch = beta.branches.order_by("name").first()
    machine, machine_secret = machine_key(alpha, desk.main, "alpha-kiosk-1")
    beta_machine, beta_machine_secret = machine_key(beta, beta_branch, "beta-kiosk-1")
    desk_token, desk_secret = staff_key(alpha, staff.alpha_desk)
    collection_token, collection_secret = staff_key(alpha, staff.alpha_collection)
    beta_token, beta_secret = staff_key(beta, staff.beta_desk)
    connection.set_tenant(alpha)
    return SimpleNamespace(
        desk=desk, alpha=alpha, beta=beta, beta_branch=beta_branch,
        machine=machine, machine_key=machine_secret, beta_machine=beta_machine, beta_machine_key=beta_machine_secret,
        desk_token=desk_token, desk_key=desk_secret, collection_key=collection_secret,
        beta_token=beta_token, beta_key=beta_secret,
    )


class ApiClient:
    """Django's test client speaking JSON to a library's host with a key."""

    def __init__(self, client):
        self.client = client

    def call(self, method, path, key=None, body=None, host=ALPHA, **extra):
        headers = {"HTTP_HOST": host, **extra}
        if key is not None:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {key}"
        if body is not None:
            response = getattr(self.client, method)(path, data=json.dumps(body), content_type="application/json",
                                                   **headers)
        else:
            response = getattr(self.client, method)(path, **headers)
        response.body = response.json() if response["Content-Type"].startswith("application/json") else None
        return response

    def get(self, path, key=None, **extra):
        return self.call("get", path, key, **extra)

    def post(self, path, key=None, body=None, **extra):
        return self.call("post", path, key, body if body is not None else {}, **extra)


@pytest.fixture
def http(client):
    return ApiClient(client)


def codes(response):
    return [error["code"] for error in response.body["errors"]]

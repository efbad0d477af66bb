"""API keys: who may call what, on which library's host; a revoked key is refused
at once; one error format; throttling per key."""

import pytest
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from core.actors import Actor
from selfservice.models import MachineAccount, MachineKind
from staff.models import LibraryRole, StaffApiToken
from staff.services import staff_api_token_revoke

from .conftest import BETA, codes, machine_key

pytestmark = pytest.mark.django_db

ITEM = "/api/v1/items/{}/"


def test_no_key_or_an_unknown_key_is_401_in_the_error_format(api, http):
    missing = http.get("/api/v1/members/?q=Jansen")
    assert missing.status_code == 401
    assert codes(missing) == ["api.key_missing"]
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert set(missing.body["errors"][0]) == {"code", "field", "params", "message"}
    for key in ("nonsense", "lsbs_0123456789_not-the-secret-at-all", api.machine_key[:-2] + "xx",
                api.desk_key + "x"):
        response = http.get("/api/v1/members/?q=Jansen", key)
        assert response.status_code == 401, key
        assert codes(response) == ["api.key_invalid"]
    basic = http.get("/api/v1/members/?q=Jansen", HTTP_AUTHORIZATION="Basic dXNlcjpwdw==")
    assert basic.status_code == 401


def test_token_keyword_works_as_well_as_bearer(api, http):
    item = api.desk.items()[0]
    response = http.get(ITEM.format(item.barcode), HTTP_AUTHORIZATION=f"Token {api.machine_key}")
    assert response.status_code == 200
    assert response.body["barcode"] == item.barcode


def test_a_key_of_another_library_is_refused_before_anything_is_read(api, http):
    item = api.desk.items()[0]
    for key in (api.beta_machine_key, api.beta_key):
        response = http.get(ITEM.format(item.barcode), key)
        assert response.status_code == 403
        assert codes(response) == ["api.key_other_library"]
    # ... and alpha's keys on beta's host.
    for key in (api.machine_key, api.desk_key):
        response = http.get("/api/v1/titles/?q=test", key, host=BETA)
        assert response.status_code == 403
        assert codes(response) == ["api.key_other_library"]


def test_self_service_needs_a_machine_key_and_integrations_a_staff_key(api, http):
    card = api.desk.member.card_number
    staff_on_machine = http.post("/api/v1/selfservice/patron/", api.desk_key, {"card_number": card, "pin": "1234"})
    assert staff_on_machine.status_code == 403
    assert codes(staff_on_machine) == ["api.machine_key_required"]
    machine_on_members = http.get("/api/v1/members/?q=Jansen", api.machine_key)
    assert machine_on_members.status_code == 403
    assert codes(machine_on_members) == ["api.staff_key_required"]


def test_staff_keys_have_their_owners_roles_at_this_library(api, http, staff):
    # The collection role does not read members (the member screens ask the desk role) ...
    response = http.get("/api/v1/members/?q=Jansen", api.collection_key)
    assert response.status_code == 403
    assert codes(response) == ["actor.no_role"]
    assert http.get("/api/v1/members/?q=Jansen", api.desk_key).status_code == 200
    # ... and a role taken away is gone for the key at once; no role here at all: refused.
    LibraryRole.objects.filter(user=staff.alpha_desk, organisation=api.alpha).delete()
    refused = http.get("/api/v1/members/?q=Jansen", api.desk_key)
    assert refused.status_code == 403
    assert codes(refused) == ["actor.no_role"]


def test_a_revoked_staff_key_is_refused_at_once_and_last_use_is_kept(api, http):
    assert http.get("/api/v1/titles/?q=x", api.desk_key).status_code == 200
    api.desk_token.refresh_from_db()
    assert api.desk_token.last_used_at is not None
    with tenant_context(api.alpha):
        staff_api_token_revoke(actor=Actor.staff(api.desk_token.user, api.alpha), token_id=api.desk_token.pk)
    response = http.get("/api/v1/titles/?q=x", api.desk_key)
    assert response.status_code == 401
    assert codes(response) == ["api.key_invalid"]


def test_a_revoked_or_sip2_only_machine_is_refused_at_once(api, http):
    item = api.desk.items()[0]
    assert http.get(ITEM.format(item.barcode), api.machine_key).status_code == 200
    MachineAccount.objects.filter(pk=api.machine.pk).update(revoked_at=timezone.now())
    assert http.get(ITEM.format(item.barcode), api.machine_key).status_code == 401
    _, sip2_key = machine_key(api.alpha, api.desk.main, "alpha-sip2-only", kind=MachineKind.SIP2)
    assert http.get(ITEM.format(item.barcode), sip2_key).status_code == 401


def test_machine_last_seen_is_noted(api, http):
    item = api.desk.items()[0]
    http.get(ITEM.format(item.barcode), api.machine_key)
    api.machine.refresh_from_db()
    assert api.machine.last_seen_at is not None


@override_settings(LSB_API_RATE="3/min")
def test_throttled_per_key_with_retry_after(api, http):
    for _ in range(3):
        assert http.get("/api/v1/titles/?q=x", api.desk_key).status_code == 200
    throttled = http.get("/api/v1/titles/?q=x", api.desk_key)
    assert throttled.status_code == 429
    assert codes(throttled) == ["api.throttled"]
    assert 1 <= int(throttled["Retry-After"]) <= 60
    # Another key has its own bucket.
    assert http.get("/api/v1/titles/?q=x", api.machine_key).status_code == 200


def test_unknown_api_addresses_and_methods_answer_in_the_error_format(api, http):
    unknown_parameter = http.get("/api/v1/titles/?q=x&sort=year", api.desk_key)
    assert unknown_parameter.status_code == 400
    assert [(e["field"], e["params"]["reason"]) for e in unknown_parameter.body["errors"]] == [("sort", "unknown")]
    assert http.get(ITEM.format("X1") + "?extra=1", api.machine_key).status_code == 400
    missing = http.get("/api/v1/nothing-here/", api.desk_key)
    assert missing.status_code == 404
    assert codes(missing) == ["api.not_found"]
    wrong_method = http.get("/api/v1/selfservice/checkout/", api.machine_key)
    assert wrong_method.status_code == 405
    assert codes(wrong_method) == ["api.method_not_allowed"]
    malformed = http.client.post("/api/v1/selfservice/checkin/", data="{not json", content_type="application/json",
                                 HTTP_HOST="alpha.localhost", HTTP_AUTHORIZATION=f"Bearer {api.machine_key}")
    assert malformed.status_code == 400
    assert malformed.json()["errors"][0]["code"] == "api.malformed"
    form = http.client.post("/api/v1/selfservice/checkin/", data={"barcode": "x"},
                            HTTP_HOST="alpha.localhost", HTTP_AUTHORIZATION=f"Bearer {api.machine_key}")
    assert form.status_code == 415, form.content
    assert form.json()["errors"][0]["code"] == "api.unsupported_media_type"


def test_messages_follow_the_requests_language(api, http):
    dutch = http.post("/api/v1/selfservice/checkin/", api.machine_key, {"barcode": "ONBEKEND1"})
    english = http.post("/api/v1/selfservice/checkin/", api.machine_key, {"barcode": "ONBEKEND1"},
                        HTTP_ACCEPT_LANGUAGE="en")
    assert codes(dutch) == codes(english) == ["scan.item_unknown"]
    assert "onbekend" in dutch.body["errors"][0]["message"]
    assert dutch.body["errors"][0]["message"] != english.body["errors"][0]["message"]


def test_staff_key_screen_rules(api, staff):
    """Staff manage their own keys; a library admin everyone's here; nobody another library's."""
    from core.errors import error_codes
    from staff.services import staff_api_token_create

    with tenant_context(api.alpha):
        desk_actor = Actor.staff(staff.alpha_desk, api.alpha)
        with pytest.raises(Exception) as raised:
            staff_api_token_create(actor=desk_actor, user=staff.alpha_collection, name="x")
        assert error_codes(raised.value) == ["actor.no_role"]
        with pytest.raises(Exception) as raised:
            staff_api_token_revoke(actor=desk_actor, token_id=StaffApiToken.objects.get(
                user=staff.alpha_collection).pk)
        assert error_codes(raised.value) == ["staff.api_token_not_found"]
        admin = Actor.staff(staff.alpha_library_admin, api.alpha)
        token, key = staff_api_token_create(actor=admin, user=staff.alpha_collection, name="  voor collectie ")
        assert token.name == "voor collectie" and key.startswith("lsbs_") and token.token_hash not in key
        staff_api_token_revoke(actor=admin, token_id=token.pk)
        with pytest.raises(Exception) as raised:
            staff_api_token_revoke(actor=admin, token_id=token.pk)
        assert error_codes(raised.value) == ["staff.api_token_revoked"]
        with pytest.raises(Exception) as raised:
            staff_api_token_create(actor=admin, user=staff.beta_desk, name="x")
        assert error_codes(raised.value) == ["staff.api_token_user_not_here"]
        with pytest.raises(Exception) as raised:
            staff_api_token_revoke(actor=admin, token_id=api.beta_token.pk)
        assert error_codes(raised.value) == ["staff.api_token_not_found"]

"""Writes about machine accounts: a library administrator (or the system: demo
data, benchmarks) creates, renews and revokes the accounts of the library's
self-service machines and integrations.

Decisions:
- The actor works in the library's schema (core.actors); the account belongs to
  that library (actor.organisation) and stands at one of its active branches.
- Secrets are generated here and returned once (MachineSecrets); only their
  hashes are stored. A new password or API token replaces the old one at once.
- Revoking takes effect at once: the SIP2 server checks the account before a
  connection's messages (at most once a second per connection), the API at
  every request.
- Every change is recorded as a MachineAccountEvent with the actor's ref; what
  the machine itself does is recorded by the services it calls, under
  ``machine:<id>@<branch>``.
"""

import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import ServiceError
from staff.models import Role
from staff.permissions import require_role
from tenants.models import Branch

from .models import MachineAccount, MachineAccountEvent, MachineKind

LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,39}$")
NAME_MAX = MachineAccount._meta.get_field("name").max_length


@dataclass
class MachineSecrets:
    """What the administrator sees once: the SIP2 password and/or the API token."""

    account: MachineAccount
    password: str = ""
    token: str = ""


def _require_admin(actor):
    organisation = actor.require_current_library()
    if not actor.is_system:
        require_role(actor, Role.LIBRARY_ADMIN)
    return organisation


def _branch(organisation, branch_id):
    try:
        branch_id = int(branch_id)
    except (TypeError, ValueError):
        raise ServiceError("machine.branch_unknown", field="branch") from None
    branch = Branch.objects.filter(pk=branch_id, organisation=organisation, is_active=True).first()
    if branch is None:
        raise ServiceError("machine.branch_unknown", field="branch")
    return branch


def _account(organisation, account_id, *, lock=False):
    accounts = MachineAccount.objects.select_related("organisation", "branch")
    if lock:
        accounts = accounts.select_for_update(of=("self",))
    try:
        account = accounts.filter(pk=int(account_id), organisation=organisation).first()
    except (TypeError, ValueError):
        account = None
    if account is None:
        raise ServiceError("machine.not_found")
    return account


def machine_account_create(*, actor, name, login, branch_id, kind=MachineKind.SIP2, patron_pin_required=True,
                           password=None, token=None):
    """Create a machine account of this library at one of its branches. Returns
    MachineSecrets with the password (SIP2) and/or the API token, shown once.
    `password` / `token`: a known password or API token instead of a generated one,
    for the system only (the demo data's machines, benchmarks); people get a
    generated one."""
    organisation = _require_admin(actor)
    if (password is not None or token is not None) and not actor.is_system:
        raise ServiceError("actor.not_allowed", kind=actor.kind)
    name = (name or "").strip()
    if not name:
        raise ServiceError("machine.name_missing", field="name")
    if len(name) > NAME_MAX:
        raise ServiceError("machine.name_too_long", field="name", max_length=NAME_MAX)
    login = (login or "").strip().lower()
    if not LOGIN_RE.match(login):
        raise ServiceError("machine.login_invalid", field="login")
    if kind not in MachineKind.values:
        raise ServiceError("machine.kind_unknown", field="kind")
    branch = _branch(organisation, branch_id)
    account = MachineAccount(organisation=organisation, branch=branch, name=name, login=login, kind=kind,
                             patron_pin_required=bool(patron_pin_required), created_by_ref=actor.ref)
    secrets = MachineSecrets(account=account)
    if account.speaks_sip2:
        secrets.password = password or MachineAccount.new_password()
        account.set_password(secrets.password)
    if account.speaks_api:
        secrets.token = account.token_rotate(save=False, token=token)
    try:
        with transaction.atomic():
            account.save()
            MachineAccountEvent.objects.create(account=account, action=MachineAccountEvent.Action.CREATE,
                                               actor_ref=actor.ref)
    except IntegrityError:
        if MachineAccount.objects.filter(login=login).exists():
            raise ServiceError("machine.login_taken", field="login", login=login) from None
        raise
    return secrets


def machine_account_password_rotate(*, actor, account_id):
    """Give a SIP2 machine a new password (shown once); the old one stops working
    at once (a machine connected with the old one is refused within a second)."""
    organisation = _require_admin(actor)
    with transaction.atomic():
        account = _account(organisation, account_id, lock=True)
        if account.revoked_at is not None:
            raise ServiceError("machine.revoked")
        if not account.speaks_sip2:
            raise ServiceError("machine.not_sip2")
        password = MachineAccount.new_password()
        account.set_password(password)
        account.save(update_fields=["password"])
        MachineAccountEvent.objects.create(account=account, action=MachineAccountEvent.Action.PASSWORD,
                                           actor_ref=actor.ref)
    return MachineSecrets(account=account, password=password)


def machine_account_token_rotate(*, actor, account_id):
    """Give an API machine a new token (shown once); the old one stops working at once."""
    organisation = _require_admin(actor)
    with transaction.atomic():
        account = _account(organisation, account_id, lock=True)
        if account.revoked_at is not None:
            raise ServiceError("machine.revoked")
        if not account.speaks_api:
            raise ServiceError("machine.not_api")
        token = account.token_rotate()
        MachineAccountEvent.objects.create(account=account, action=MachineAccountEvent.Action.TOKEN,
                                           actor_ref=actor.ref)
    return MachineSecrets(account=account, token=token)


def machine_account_revoke(*, actor, account_id):
    """Revoke a machine account at once: its password and token stop working, a
    connected SIP2 machine is refused at its next message. Not undone: create a
    new account instead."""
    organisation = _require_admin(actor)
    with transaction.atomic():
        account = _account(organisation, account_id, lock=True)
        if account.revoked_at is not None:
            raise ServiceError("machine.revoked")
        account.revoked_at = timezone.now()
        account.revoked_by_ref = actor.ref
        account.is_active = False
        account.password = ""
        account.token_hash = ""
        account.save(update_fields=["revoked_at", "revoked_by_ref", "is_active", "password", "token_hash"])
        MachineAccountEvent.objects.create(account=account, action=MachineAccountEvent.Action.REVOKE,
                                           actor_ref=actor.ref)
    return account


def machine_account_seen(account, *, at=None):
    """Record that a machine was heard from (at most one write a minute)."""
    account.seen(at=at)

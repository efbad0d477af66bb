"""Machine accounts (public schema): self-service machines and integrations.

A machine account is a lending, return or payment kiosk, a sorting machine or a
system that talks to LSB over SIP2 or the REST API. It holds no personal data. It
belongs to one library organisation and stands at one of its branches; whatever it
does is done as `core.actors.Actor.machine(account.pk, account.branch_id,
organisation)` in that library's schema, so events, ledger and audit rows name it
as ``machine:<id>@<branch>``.

Its login name is unique nationally (the SIP2 login, field CN of message 93). The
password (SIP2) and the API token are secrets LSB generates and shows once; only
their hashes are stored. Revoking takes effect at once: a revoked or inactive
account is refused at the next message or request.
"""

import hashlib
import hmac
import re
import secrets

from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# An API token reads "lsbm_<prefix>_<secret>": the prefix finds the row, the
# secret is checked against its hash.
TOKEN_LABEL = "lsbm"
TOKEN_PREFIX_LENGTH = 10


class MachineSecretHasher(PBKDF2PasswordHasher):
    """The hasher for machine passwords. LSB generates these passwords (24 random
    bytes, never chosen by a person), so key stretching adds nothing against
    guessing; fewer iterations keep hundreds of machines logging in at once cheap.
    Used directly by the model (it needs no entry in PASSWORD_HASHERS)."""

    algorithm = "machine_pbkdf2_sha256"
    iterations = 10_000


class MachineKind(models.TextChoices):
    SIP2 = "sip2", _("SIP2-automaat")
    API = "api", _("REST-koppeling")
    BOTH = "both", _("SIP2 en REST")


class MachineAccountQuerySet(models.QuerySet):
    def usable(self):
        """Accounts that may act: active, not revoked, of an active library."""
        return self.filter(is_active=True, revoked_at__isnull=True, organisation__is_active=True)


class MachineAccount(models.Model):
    organisation = models.ForeignKey(
        "tenants.LibraryOrganisation", on_delete=models.CASCADE, related_name="machine_accounts",
        verbose_name=_("bibliotheekorganisatie"),
    )
    branch = models.ForeignKey(
        "tenants.Branch", on_delete=models.PROTECT, related_name="machine_accounts", verbose_name=_("vestiging"),
    )
    name = models.CharField(_("omschrijving"), max_length=120, help_text=_("Bijv. 'Uitleenautomaat hal'"))
    # SIP2 93 CN; unique nationally, so the login alone finds the library.
    login = models.CharField(_("inlognaam"), max_length=40, unique=True)
    kind = models.CharField(_("soort"), max_length=4, choices=MachineKind.choices, default=MachineKind.SIP2)
    password = models.CharField(max_length=128, blank=True, default="")  # MachineSecretHasher; "" for API only
    token_prefix = models.CharField(max_length=TOKEN_PREFIX_LENGTH, unique=True, null=True, blank=True)
    token_hash = models.CharField(max_length=64, blank=True, default="")  # sha256 hex of the token's secret
    token_created_at = models.DateTimeField(null=True, blank=True)
    # SIP2: may this machine act for a patron without their PIN (a machine that
    # only scans cards)? When required, patron data and every patron action need
    # the right PIN (field AD).
    patron_pin_required = models.BooleanField(_("pincode van het lid vereist"), default=True)
    is_active = models.BooleanField(_("actief"), default=True)
    revoked_at = models.DateTimeField(_("ingetrokken op"), null=True, blank=True)
    revoked_by_ref = models.CharField(max_length=40, blank=True, default="")
    last_seen_at = models.DateTimeField(_("laatst gezien"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by_ref = models.CharField(max_length=40, blank=True, default="")  # Actor.ref of who created it

    objects = MachineAccountQuerySet.as_manager()

    class Meta:
        ordering = ["organisation_id", "name", "pk"]
        indexes = [models.Index(fields=["organisation", "branch"], name="machine_org_branch")]
        verbose_name = _("automaat")
        verbose_name_plural = _("automaten")

    def __str__(self):
        return f"{self.name} ({self.login})"

    # --- what it may do --------------------------------------------------------------

    @property
    def is_usable(self):
        return self.is_active and self.revoked_at is None

    @property
    def speaks_sip2(self):
        return self.kind in (MachineKind.SIP2, MachineKind.BOTH)

    @property
    def speaks_api(self):
        return self.kind in (MachineKind.API, MachineKind.BOTH)

    @property
    def actor_ref(self):
        return f"machine:{self.pk}@{self.branch_id}"

    def actor(self):
        """The actor this machine acts as; use it inside its library's schema."""
        from core.actors import Actor

        return Actor.machine(self.pk, self.branch_id, self.organisation)

    # --- password (SIP2) ---------------------------------------------------------------

    def set_password(self, raw):
        hasher = MachineSecretHasher()
        self.password = hasher.encode(raw, hasher.salt())

    def check_password(self, raw):
        """Whether `raw` is this account's password (constant time; False when unset)."""
        if not self.password or not raw:
            return False
        try:
            return MachineSecretHasher().verify(raw, self.password)
        except ValueError:
            return False

    @staticmethod
    def new_password():
        return secrets.token_urlsafe(18)  # 24 characters of [A-Za-z0-9_-]: SIP2-safe (no '|')

    # --- API token --------------------------------------------------------------------

    def token_rotate(self, *, save=True, token=None):
        """Give the account a new API token and return it; it is shown once. The old
        token stops working at once. Only the prefix and a hash are stored.
        `token`: a known token "lsbm_<10 letters or digits>_<at least 20 characters>"
        instead of a generated one, for the demo data only (a documented key)."""
        if token is not None:
            match = re.fullmatch(rf"{TOKEN_LABEL}_([0-9A-Za-z]{{{TOKEN_PREFIX_LENGTH}}})_([0-9A-Za-z_-]{{20,}})", token)
            if match is None:
                raise ValueError("a known machine token reads lsbm_<10 letters or digits>_<at least 20 characters>")
            prefix, secret = match.groups()
        else:
            prefix = secrets.token_hex(TOKEN_PREFIX_LENGTH // 2)
            secret = secrets.token_urlsafe(32)
        self.token_prefix = prefix
        self.token_hash = _token_digest(secret)
        self.token_created_at = timezone.now()
        if save:
            self.save(update_fields=["token_prefix", "token_hash", "token_created_at"])
        return f"{TOKEN_LABEL}_{prefix}_{secret}"

    token_create = token_rotate

    @classmethod
    def from_token(cls, token):
        """The usable account whose API token this is (None otherwise: unknown,
        wrong secret, revoked, inactive, or not an API machine)."""
        if not isinstance(token, str):
            return None
        parts = token.strip().split("_", 2)
        if len(parts) != 3 or parts[0] != TOKEN_LABEL or len(parts[1]) != TOKEN_PREFIX_LENGTH:
            return None
        account = (
            cls.objects.usable().select_related("organisation", "branch").filter(token_prefix=parts[1]).first()
        )
        if account is None or not account.token_hash:
            return None
        if not hmac.compare_digest(account.token_hash, _token_digest(parts[2])):
            return None
        if not account.speaks_api:
            return None
        return account

    def seen(self, *, at=None, min_interval_seconds=60):
        """Record that the machine was seen (at most one write a minute)."""
        at = at or timezone.now()
        if self.last_seen_at and (at - self.last_seen_at).total_seconds() < min_interval_seconds:
            return
        MachineAccount.objects.filter(pk=self.pk).update(last_seen_at=at)
        self.last_seen_at = at


def _token_digest(secret):
    # The secret has 256 random bits, so one SHA-256 is as strong as any stretching.
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class MachineAccountEvent(models.Model):
    """What a library admin did with a machine account (created, password or token
    renewed, revoked). What the machine itself did is in the library's own logs
    (loans, item events, ledger, member audit) under its actor_ref."""

    class Action(models.TextChoices):
        CREATE = "create", _("Aangemaakt")
        PASSWORD = "password", _("Nieuw wachtwoord")
        TOKEN = "token", _("Nieuwe API-sleutel")
        REVOKE = "revoke", _("Ingetrokken")

    account = models.ForeignKey(MachineAccount, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=8, choices=Action.choices)
    actor_ref = models.CharField(max_length=40, blank=True, default="")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("beheerhandeling automaat")
        verbose_name_plural = _("beheerhandelingen automaten")

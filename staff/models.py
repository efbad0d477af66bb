"""Staff accounts (public schema) and what they may do where.

A staff member works for one or more library organisations, with one or more
roles in each. POI administrators look after the organisations of their POI's
provinces in the national admin. The national administrator is a superuser.
Members of the public are not staff accounts: they live in their library's schema.
"""

import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class StaffUser(AbstractUser):
    class Meta:
        verbose_name = _("medewerker")
        verbose_name_plural = _("medewerkers")

    def __str__(self):
        return self.get_full_name() or self.username


class Role(models.TextChoices):
    DESK = "desk", _("Balie")
    # May allow a checkout the rules refuse (blocked member, limit reached, not for
    # loan), with a logged reason.
    DESK_SUPERVISOR = "desk_supervisor", _("Baliecoördinator")
    COLLECTION = "collection", _("Collectie")
    ACQUISITIONS = "acquisitions", _("Inkoop")
    LIBRARY_ADMIN = "library_admin", _("Bibliotheekbeheer")


class LibraryRole(models.Model):
    user = models.ForeignKey(StaffUser, on_delete=models.CASCADE, related_name="library_roles")
    organisation = models.ForeignKey(
        "tenants.LibraryOrganisation", on_delete=models.CASCADE, related_name="staff_roles"
    )
    role = models.CharField(_("rol"), max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation", "role"], name="library_role_unique"),
        ]
        indexes = [models.Index(fields=["organisation", "user"])]
        verbose_name = _("rol bij bibliotheek")
        verbose_name_plural = _("rollen bij bibliotheken")

    def __str__(self):
        return f"{self.user} — {self.get_role_display()} ({self.organisation})"


class PoiAdministrator(models.Model):
    user = models.ForeignKey(StaffUser, on_delete=models.CASCADE, related_name="poi_administrations")
    poi = models.ForeignKey("tenants.Poi", on_delete=models.CASCADE, related_name="administrators")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "poi"], name="poi_administrator_unique")]
        verbose_name = _("POI-beheerder")
        verbose_name_plural = _("POI-beheerders")

    def __str__(self):
        return f"{self.user} ({self.poi})"


# A staff API key reads "lsbs_<prefix>_<secret>".
STAFF_TOKEN_LABEL = "lsbs"
STAFF_TOKEN_PREFIX_LENGTH = 10


def api_token_digest(secret):
    """SHA-256 of a key's secret (256 random bits: one hash is as strong as any stretching)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class StaffApiToken(models.Model):
    """An API key with which a staff member's integration calls the REST API of one
    library organisation, as that staff member (core.actors.Actor.staff): it may do
    what the staff member's roles there allow, checked at every request, so a role
    taken away is gone for the key too.

    The key reads "lsbs_<prefix>_<secret>": the prefix finds the row, the secret is
    checked against its SHA-256 (the secret has 256 random bits). It is shown once,
    when it is made. Revoking takes effect at the next request."""

    user = models.ForeignKey(StaffUser, on_delete=models.CASCADE, related_name="api_tokens")
    organisation = models.ForeignKey(
        "tenants.LibraryOrganisation", on_delete=models.CASCADE, related_name="staff_api_tokens"
    )
    name = models.CharField(_("omschrijving"), max_length=100)
    prefix = models.CharField(max_length=10, unique=True)
    token_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by_ref = models.CharField(max_length=40, blank=True, default="")  # Actor.ref of who made it
    last_used_at = models.DateTimeField(_("laatst gebruikt"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("ingetrokken op"), null=True, blank=True)
    revoked_by_ref = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["organisation", "user"], name="staff_api_token_org_user")]
        verbose_name = _("API-sleutel van een medewerker")
        verbose_name_plural = _("API-sleutels van medewerkers")

    def __str__(self):
        return f"{self.name} ({self.user}, {self.prefix})"

    @property
    def is_revoked(self):
        return self.revoked_at is not None

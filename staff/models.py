"""Staff accounts (public schema) and what they may do where.

A staff member works for one or more library organisations, with one or more
roles in each. POI administrators look after the organisations of their POI's
provinces in the national admin. The national administrator is a superuser.
Members of the public are not staff accounts: they live in their library's schema.
"""

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

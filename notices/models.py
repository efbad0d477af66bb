"""Notices to members by e-mail or printed letter (tenant schema: one library's own).

A notice is rendered when it is queued (subject and body are stored as sent), so
later template changes never alter what a member received. Staff live in the
public schema and are referenced without a database constraint."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class NoticeKind(models.TextChoices):
    HOLD_READY = "hold_ready", _("Reservering ligt klaar")
    HOLD_EXPIRED = "hold_expired", _("Reservering niet opgehaald")
    HOLD_CANCELLED = "hold_cancelled", _("Reservering geannuleerd door de bibliotheek")
    DUE_SOON = "due_soon", _("Herinnering inleverdatum")
    AUTO_RENEWAL = "auto_renewal", _("Resultaat automatisch verlengen")
    OVERDUE_1 = "overdue_1", _("Eerste aanmaning")
    OVERDUE_2 = "overdue_2", _("Tweede aanmaning")
    OVERDUE_3 = "overdue_3", _("Derde aanmaning")
    IBL_UNFILLED = "ibl_unfilled", _("IBL-aanvraag niet leverbaar")


class NoticeTemplate(models.Model):
    """The library's own text for one kind of notice (the built-in default until saved)."""

    kind = models.CharField(_("soort"), max_length=20, choices=NoticeKind.choices, unique=True)
    subject = models.CharField(_("onderwerp"), max_length=200)
    body = models.TextField(_("tekst"))
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True,
        related_name="+",
    )
    actor_ref = models.CharField(max_length=40, blank=True, default="")  # who saved it last (core.actors)

    class Meta:
        verbose_name = _("berichtsjabloon")
        verbose_name_plural = _("berichtsjablonen")

    def __str__(self):
        return str(NoticeKind(self.kind).label)


class NoticeSettings(models.Model):
    """When the library sends reminders and reminders of overdue items (one row per library schema)."""

    due_soon_days_before = models.PositiveSmallIntegerField(_("herinnering dagen vóór de inleverdatum"), default=3)
    overdue_1_days = models.PositiveSmallIntegerField(_("eerste aanmaning, dagen na de inleverdatum"), default=7)
    overdue_2_days = models.PositiveSmallIntegerField(_("tweede aanmaning, dagen na de inleverdatum"), default=21)
    overdue_3_days = models.PositiveSmallIntegerField(_("derde aanmaning, dagen na de inleverdatum"), default=42)
    from_email = models.EmailField(_("afzenderadres"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True,
        related_name="+",
    )
    actor_ref = models.CharField(max_length=40, blank=True, default="")  # who saved it last (core.actors)

    class Meta:
        verbose_name = _("berichtinstellingen")
        verbose_name_plural = _("berichtinstellingen")
        constraints = [
            models.CheckConstraint(
                condition=Q(overdue_1_days__lt=models.F("overdue_2_days"))
                & Q(overdue_2_days__lt=models.F("overdue_3_days")),
                name="notice_settings_overdue_increasing",
            ),
        ]


class Notice(models.Model):
    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        LETTER = "letter", _("Brief")

    class Status(models.TextChoices):
        PENDING = "pending", _("Wacht")
        SENDING = "sending", _("Wordt verzonden")
        SENT = "sent", _("Verzonden")
        FAILED = "failed", _("Mislukt")
        PRINTED = "printed", _("Afgedrukt")
        # Not sent any more: the member was erased before it went out.
        CANCELLED = "cancelled", _("Vervallen")

    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="notices")
    kind = models.CharField(_("soort"), max_length=20, choices=NoticeKind.choices)
    channel = models.CharField(_("kanaal"), max_length=6, choices=Channel.choices)
    # The caller's idempotency key, e.g. "hold_ready:hold:123" (see notices.services).
    dedupe_key = models.CharField(max_length=200, unique=True)
    subject = models.CharField(_("onderwerp"), max_length=200)
    body = models.TextField(_("tekst"))
    to_address = models.EmailField(_("e-mailadres"), blank=True)  # empty for letters
    # The branch the notice is about (pickup branch, lending branch): letters are printed there.
    branch = models.ForeignKey(
        "tenants.Branch", on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True,
        related_name="+",
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    # Whose action made the notice due (core.actors: staff:12 at a checkin, system:nightly).
    actor_ref = models.CharField(max_length=40, blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)  # send attempts (claims) so far
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    printed_at = models.DateTimeField(null=True, blank=True)
    printed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True,
        related_name="+",
    )
    printed_by_ref = models.CharField(max_length=40, blank=True, default="")
    resent_at = models.DateTimeField(null=True, blank=True)
    resent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True,
        related_name="+",
    )
    resent_by_ref = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("bericht")
        verbose_name_plural = _("berichten")
        indexes = [
            models.Index(fields=["member", "-created_at"], name="notice_member"),
            # The send run and the letter list look only at unfinished notices.
            models.Index(fields=["channel", "status", "id"], name="notice_open",
                         condition=Q(status__in=["pending", "sending", "failed"])),
            models.Index(fields=["-created_at"], name="notice_recent"),
        ]

    def __str__(self):
        return f"{NoticeKind(self.kind).label} ({self.dedupe_key})"

"""A library organisation's own collection (tenant schema): its items, their
history, and stocktakes.

References to the public schema (titles, branches, staff) carry no database
constraint: a foreign key from one schema into another would tie every tenant
schema to the public one (and block moving tenants to their own shard); the
services check them instead.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

BARCODE_PATTERN = r"^[0-9A-Za-z]{5,20}$"


class ItemStatus(models.TextChoices):
    AVAILABLE = "available", _("Beschikbaar")
    ON_LOAN = "on_loan", _("Uitgeleend")
    IN_TRANSIT = "in_transit", _("Onderweg")
    ON_HOLD_SHELF = "on_hold_shelf", _("Op de reserveringsplank")
    MISSING = "missing", _("Vermist")
    DAMAGED = "damaged", _("Beschadigd")
    WITHDRAWN = "withdrawn", _("Afgeschreven")
    IN_PROCESSING = "in_processing", _("In bewerking")
    ON_INTERLIBRARY_LOAN = "on_interlibrary_loan", _("In IBL")


class ItemType(models.TextChoices):
    BOOK = "book", _("Boek")
    LARGE_PRINT = "large_print", _("Grote letter")
    AUDIOBOOK = "audiobook", _("Luisterboek")
    MUSIC_CD = "music_cd", _("Muziek-cd")
    DVD = "dvd", _("Dvd")
    GAME = "game", _("Spel")
    SHEET_MUSIC = "sheet_music", _("Bladmuziek")
    MAGAZINE = "magazine", _("Tijdschrift")
    OTHER = "other", _("Overig")


class CollectionKind(models.TextChoices):
    ADULT = "adult", _("Volwassenen")
    YOUTH = "youth", _("Jeugd")
    YOUNG_ADULT = "young_adult", _("Young adult")
    REFERENCE = "reference", _("Naslag")
    LOCAL = "local", _("Lokale collectie")


class WithdrawalReason(models.TextChoices):
    WORN = "worn", _("Versleten")
    LOST = "lost", _("Zoek/verloren")
    OUTDATED = "outdated", _("Verouderd")
    DAMAGED = "damaged", _("Beschadigd")
    DUPLICATE = "duplicate", _("Dubbel exemplaar")
    LITTLE_USED = "little_used", _("Weinig uitgeleend")
    OTHER = "other", _("Anders")


class Item(models.Model):
    """An exemplaar: one physical copy, with its barcode."""

    barcode = models.CharField(_("barcode"), max_length=20, unique=True)
    title = models.ForeignKey(
        "catalogue.Title", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", verbose_name=_("titel")
    )
    owning_branch = models.ForeignKey(
        "tenants.Branch", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+",
        verbose_name=_("eigenaar-vestiging"),
    )
    current_branch = models.ForeignKey(
        "tenants.Branch", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+",
        verbose_name=_("huidige vestiging"),
    )
    shelf_location = models.CharField(_("plaats"), max_length=80, blank=True)
    call_number = models.CharField(_("signatuur"), max_length=80, blank=True)
    item_type = models.CharField(_("soort"), max_length=20, choices=ItemType.choices, default=ItemType.BOOK)
    collection = models.CharField(
        _("collectie"), max_length=20, choices=CollectionKind.choices, default=CollectionKind.ADULT
    )
    status = models.CharField(_("status"), max_length=24, choices=ItemStatus.choices, default=ItemStatus.AVAILABLE)
    price_cents = models.PositiveIntegerField(_("prijs (cent)"), null=True, blank=True)
    acquired_on = models.DateField(_("aanschafdatum"), null=True, blank=True)
    notes = models.TextField(_("opmerkingen"), blank=True)
    not_for_loan = models.BooleanField(_("niet uitleenbaar"), default=False)
    # Set by circulation at each checkout; the weeding list reads it.
    last_loaned_at = models.DateTimeField(_("laatst uitgeleend"), null=True, blank=True)
    loan_count = models.PositiveIntegerField(_("aantal uitleningen"), default=0)
    last_seen_at = models.DateTimeField(_("laatst gezien (inventarisatie)"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("afgeschreven op"), null=True, blank=True)
    withdrawal_reason = models.CharField(
        _("reden afschrijving"), max_length=20, choices=WithdrawalReason.choices, blank=True
    )
    # Damage reported while the copy is out (on loan, lent to a library): the loan
    # goes on; at checkin the copy becomes damaged and goes to the collection staff.
    damage_reported_at = models.DateTimeField(_("beschadiging gemeld"), null=True, blank=True)
    # Set on a copy of another library organisation that is here on interlibrary loan
    # for one of our members (a stand-in record made when it arrives, see
    # collection.services.item_ibl_copy_receive): the registry id of the library that
    # owns it. Such a copy is never counted in the national holdings index nor in the
    # national item index, and circulation asks the interlibrary-loan app how to lend
    # it and where it goes when it comes back (circulation.interlibrary).
    ibl_owner_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("exemplaar")
        verbose_name_plural = _("exemplaren")
        indexes = [
            models.Index(fields=["title", "owning_branch"], name="item_title_branch"),
            models.Index(fields=["owning_branch", "shelf_location", "last_loaned_at"], name="item_weeding"),
            models.Index(fields=["current_branch", "shelf_location"], name="item_shelf"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(status="withdrawn") & Q(withdrawn_at__isnull=False))
                | (~Q(status="withdrawn") & Q(withdrawn_at__isnull=True)),
                name="item_withdrawn_has_date",
            ),
        ]

    def __str__(self):
        return self.barcode

    @property
    def is_available(self):
        return self.status == ItemStatus.AVAILABLE and not self.not_for_loan

    @property
    def is_ibl_copy(self):
        """Another library's copy here on interlibrary loan (a stand-in record)."""
        return self.ibl_owner_id is not None


class ItemEvent(models.Model):
    """What happened to an item, by whom: the collection's audit trail."""

    class Kind(models.TextChoices):
        ADDED = "added", _("Toegevoegd")
        EDITED = "edited", _("Gewijzigd")
        MOVED = "moved", _("Verplaatst")
        STATUS = "status", _("Status gewijzigd")
        WITHDRAWN = "withdrawn", _("Afgeschreven")
        SEEN = "seen", _("Gezien bij inventarisatie")

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    from_status = models.CharField(max_length=24, blank=True)
    to_status = models.CharField(max_length=24, blank=True)
    from_branch_id = models.BigIntegerField(null=True, blank=True)
    to_branch_id = models.BigIntegerField(null=True, blank=True)
    detail = models.TextField(blank=True)
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True,
        related_name="+",
    )
    # Who did it (core.actors: staff:12, member:812, machine:3@5, system:nightly).
    actor_ref = models.CharField(max_length=40, blank=True, default="")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["item", "-at"], name="itemevent_item_at")]


class Stocktake(models.Model):
    """Scanning one shelf (branch + location) to find missing and misplaced items."""

    branch = models.ForeignKey(
        "tenants.Branch", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    shelf_location = models.CharField(_("plaats"), max_length=80)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True,
        related_name="+",
    )
    actor_ref = models.CharField(max_length=40, blank=True, default="")  # who started it (core.actors)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]


class StocktakeScan(models.Model):
    stocktake = models.ForeignKey(Stocktake, on_delete=models.CASCADE, related_name="scans")
    barcode = models.CharField(max_length=20)
    item = models.ForeignKey(Item, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    scanned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["stocktake", "barcode"], name="stocktake_scan_unique")]

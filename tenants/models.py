"""The national registry (public schema): provinces, POIs and their hubs, library
organisations (the tenants), their host names and their branches."""

import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin

POSTCODE_RE = re.compile(r"^\s*([1-9][0-9]{3})\s*([A-Za-z]{2})\s*$")
# ISO 15511: a country (or other) prefix, a hyphen, at most 11 characters; 16 in all.
ISIL_RE = r"^[A-Z]{2}-[A-Za-z0-9:/-]{1,11}$"


def normalise_postcode(value):
    """'1234ab' -> '1234 AB'; raises ValidationError when it is no Dutch postcode."""
    match = POSTCODE_RE.match(value or "")
    if not match:
        raise ValidationError(
            _("'%(value)s' is geen geldige postcode (verwacht: 1234 AB)."),
            code="invalid_postcode",
            params={"value": value},
        )
    return f"{match.group(1)} {match.group(2).upper()}"


def _luminance(hex_colour):
    channels = []
    for index in (1, 3, 5):
        value = int(hex_colour[index:index + 2], 16) / 255
        channels.append(value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first, second):
    """The WCAG contrast ratio of two #rrggbb colours (1 to 21)."""
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def contrast_text_colour(background):
    """#ffffff or #000000, whichever contrasts more with `background` (always >= 4.5:1)."""
    if not re.match(r"^#[0-9a-fA-F]{6}$", background or ""):
        background = "#1d4f91"
    return "#ffffff" if contrast_ratio(background, "#ffffff") >= contrast_ratio(background, "#000000") else "#000000"


def validate_postcode(value):
    normalise_postcode(value)


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Poi(TimeStamped):
    """A provincial support organisation: runs IBL transport for its provinces."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(_("naam"), max_length=120, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("POI")
        verbose_name_plural = _("POI's")

    def __str__(self):
        return self.name


class Province(TimeStamped):
    code = models.CharField(max_length=2, unique=True, help_text="CBS/ISO 3166-2:NL code, e.g. UT")
    name = models.CharField(_("naam"), max_length=60, unique=True)
    poi = models.ForeignKey(Poi, on_delete=models.PROTECT, related_name="provinces", verbose_name=_("POI"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("provincie")
        verbose_name_plural = _("provincies")

    def __str__(self):
        return self.name


class PoiHub(TimeStamped):
    """A POI's sorting hub, where IBL items change vans."""

    poi = models.ForeignKey(Poi, on_delete=models.CASCADE, related_name="hubs")
    name = models.CharField(_("naam"), max_length=120)
    street = models.CharField(_("adres"), max_length=200)
    postcode = models.CharField(_("postcode"), max_length=7, validators=[validate_postcode])
    city = models.CharField(_("plaats"), max_length=80)

    class Meta:
        ordering = ["poi__name", "name"]
        constraints = [models.UniqueConstraint(fields=["poi", "name"], name="poihub_unique_name_per_poi")]
        verbose_name = _("sorteercentrum")
        verbose_name_plural = _("sorteercentra")

    def __str__(self):
        return f"{self.name} ({self.poi})"


class LibraryOrganisation(TenantMixin, TimeStamped):
    """A library organisation: one tenant, with its own PostgreSQL schema."""

    # Provisioning is done by tenants.services.library_organisation_create, which
    # creates the schema explicitly inside its transaction.
    auto_create_schema = False
    auto_drop_schema = False

    name = models.CharField(_("naam"), max_length=160, unique=True)
    slug = models.SlugField(
        _("korte naam"), max_length=50, unique=True, help_text=_("Deel van het adres: <korte naam>.<domein>")
    )
    isil = models.CharField(
        _("ISIL-code"),
        max_length=16,
        unique=True,
        validators=[RegexValidator(ISIL_RE, _("Een ISIL-code ziet eruit als NL-0200000000."))],
    )
    province = models.ForeignKey(
        Province, on_delete=models.PROTECT, related_name="library_organisations", verbose_name=_("provincie")
    )
    is_active = models.BooleanField(_("actief"), default=True)
    # The library's own colour in its members' catalogue (OPAC): the header and
    # buttons; the text on it is black or white, whichever contrasts more.
    opac_colour = models.CharField(
        _("huisstijlkleur"), max_length=7, default="#1d4f91", blank=True,
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Een kleur als #1d4f91."))],
        help_text=_("Kleur van de catalogus voor leden (#rrggbb)."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("bibliotheekorganisatie")
        verbose_name_plural = _("bibliotheekorganisaties")

    def __str__(self):
        return self.name

    @property
    def opac_brand_colour(self):
        """opac_colour, or LSB's blue when none is set."""
        return self.opac_colour if re.match(r"^#[0-9a-fA-F]{6}$", self.opac_colour or "") else "#1d4f91"

    @property
    def opac_text_colour(self):
        """Black or white: the one that contrasts more with opac_colour (WCAG)."""
        return contrast_text_colour(self.opac_brand_colour)

    @property
    def poi(self):
        """The POI follows from the province: one POI serves each province."""
        return self.province.poi


class Domain(DomainMixin):
    """A host name that routes to one library organisation's schema."""

    class Meta:
        verbose_name = _("adres")
        verbose_name_plural = _("adressen")


class Branch(TimeStamped):
    """A vestiging of a library organisation."""

    organisation = models.ForeignKey(
        LibraryOrganisation, on_delete=models.CASCADE, related_name="branches", verbose_name=_("organisatie")
    )
    code = models.SlugField(_("code"), max_length=20, help_text=_("Korte code, uniek binnen de organisatie"))
    name = models.CharField(_("naam"), max_length=160)
    street = models.CharField(_("adres"), max_length=200)
    postcode = models.CharField(_("postcode"), max_length=7, validators=[validate_postcode])
    city = models.CharField(_("plaats"), max_length=80)
    is_active = models.BooleanField(_("actief"), default=True)

    class Meta:
        ordering = ["organisation__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "code"], name="branch_unique_code_per_organisation")
        ]
        verbose_name = _("vestiging")
        verbose_name_plural = _("vestigingen")

    def __str__(self):
        return self.name


class OpeningPeriod(models.Model):
    """One period a branch is open on a weekday; a day may have several (10-12, 13-17)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("maandag")
        TUESDAY = 1, _("dinsdag")
        WEDNESDAY = 2, _("woensdag")
        THURSDAY = 3, _("donderdag")
        FRIDAY = 4, _("vrijdag")
        SATURDAY = 5, _("zaterdag")
        SUNDAY = 6, _("zondag")

    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="opening_periods")
    weekday = models.PositiveSmallIntegerField(_("dag"), choices=Weekday.choices)
    opens = models.TimeField(_("open"))
    closes = models.TimeField(_("dicht"))

    class Meta:
        ordering = ["branch", "weekday", "opens"]
        constraints = [
            models.CheckConstraint(condition=models.Q(closes__gt=models.F("opens")), name="opening_closes_after_opens"),
            models.CheckConstraint(condition=models.Q(weekday__gte=0, weekday__lte=6), name="opening_weekday_range"),
        ]
        verbose_name = _("openingstijd")
        verbose_name_plural = _("openingstijden")

    def __str__(self):
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class ClosedDate(models.Model):
    """A day a branch is closed although its weekday says open (holidays, works)."""

    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="closed_dates")
    date = models.DateField(_("datum"))
    reason = models.CharField(_("reden"), max_length=120)

    class Meta:
        ordering = ["branch", "date"]
        constraints = [models.UniqueConstraint(fields=["branch", "date"], name="closed_date_unique_per_branch")]
        verbose_name = _("sluitingsdag")
        verbose_name_plural = _("sluitingsdagen")

    def __str__(self):
        return f"{self.date:%d-%m-%Y} ({self.reason})"


class CardIndex(models.Model):
    """The national card index: which library organisation issued a card number.

    Nothing personal: it exists so a card number is unique nationally and so
    guest lending and IBL can find a card's home library."""

    card_number = models.CharField(_("pasnummer"), max_length=20, primary_key=True)
    organisation = models.ForeignKey(LibraryOrganisation, on_delete=models.PROTECT, related_name="cards")
    is_active = models.BooleanField(default=True, help_text="False for a replaced (blocked) card")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("pas (landelijke index)")
        verbose_name_plural = _("passen (landelijke index)")
        indexes = [models.Index(fields=["organisation"], name="cardindex_org")]

    def __str__(self):
        return self.card_number


class ItemIndex(models.Model):
    """The national item barcode index: which library organisation owns the copy
    with a barcode. Nothing personal and nothing about loans: it exists so that any
    desk or POI hub recognises another library's copy (interlibrary loan, a copy
    returned at the wrong library) and says whose it is. Kept by the collection
    services when items are added; a copy of another library here on interlibrary
    loan (a stand-in record) is not indexed. Barcodes are unique within a library,
    not nationally, so one barcode may have a row per library."""

    barcode = models.CharField(_("barcode"), max_length=20)
    organisation = models.ForeignKey(LibraryOrganisation, on_delete=models.PROTECT, related_name="+")
    item_id = models.BigIntegerField(help_text="The item in the owner's schema")
    title_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("exemplaar (landelijke index)")
        verbose_name_plural = _("exemplaren (landelijke index)")
        constraints = [
            models.UniqueConstraint(fields=["organisation", "barcode"], name="itemindex_unique_barcode_per_library"),
        ]
        indexes = [models.Index(fields=["barcode"], name="itemindex_barcode")]

    def __str__(self):
        return self.barcode


class NationalSettings(models.Model):
    """Rules every library organisation follows (one row, pk=1; the national admin)."""

    max_loans_per_card = models.PositiveSmallIntegerField(
        _("maximaal aantal leningen per pas, in alle bibliotheken samen"), null=True, blank=True,
        help_text=_("Leeg: geen landelijk maximum. Telt de leningen bij de eigen bibliotheek en als gastlener "
                    "elders."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("landelijke regels")
        verbose_name_plural = _("landelijke regels")

    def __str__(self):
        return str(_("Landelijke regels"))


class GuestLoan(models.Model):
    """The national index of open guest loans: a card of one library organisation
    borrowing at another (gastlenen). It lets the home library show the loan among
    the member's loans without the lending library holding personal data; the row
    is removed when the loan ends."""

    card_number = models.CharField(max_length=20)
    home_organisation = models.ForeignKey(LibraryOrganisation, on_delete=models.PROTECT, related_name="+")
    lending_organisation = models.ForeignKey(LibraryOrganisation, on_delete=models.PROTECT, related_name="+")
    loan_id = models.BigIntegerField(help_text="The loan in the lending library's schema")
    title_id = models.BigIntegerField()
    item_barcode = models.CharField(max_length=20)
    loaned_at = models.DateTimeField()
    due_on = models.DateField()

    class Meta:
        verbose_name = _("gastlening")
        verbose_name_plural = _("gastleningen")
        constraints = [
            models.UniqueConstraint(fields=["lending_organisation", "loan_id"], name="guestloan_unique_loan"),
        ]
        indexes = [models.Index(fields=["home_organisation", "card_number"], name="guestloan_home_card")]


class OutboxMessage(models.Model):
    """One step a library asks of another library's schema (tenants.outbox): a
    guest's fee charged at home, an interlibrary-loan step. Recorded in the asking
    transaction, carried out by a Celery task in the target's schema; the step and
    its "done" mark commit together, so it happens exactly once.

    The payload holds opaque references only (record ids in the target schema,
    amounts, codes, a ledger line's text): never a person's name, address or card
    number, since the national staff see these rows."""

    class State(models.TextChoices):
        PENDING = "pending", _("Wacht")
        DONE = "done", _("Uitgevoerd")
        FAILED = "failed", _("Mislukt")

    source = models.ForeignKey(
        LibraryOrganisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("van")
    )
    target = models.ForeignKey(
        LibraryOrganisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("naar")
    )
    kind = models.CharField(_("soort"), max_length=60)
    payload = models.JSONField(_("gegevens"), default=dict)
    # The asker's idempotency key (unique per asking library): enqueueing it again returns this row.
    dedupe_key = models.CharField(max_length=200)
    actor_ref = models.CharField(max_length=40, blank=True, default="")
    state = models.CharField(_("status"), max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("pogingen"), default=0)
    last_error = models.TextField(_("laatste fout"), blank=True)
    created_at = models.DateTimeField(_("aangemaakt"), auto_now_add=True)
    # Not before: the next attempt after a failure (backoff), or after one that is running.
    available_at = models.DateTimeField(_("volgende poging"), default=timezone.now)
    last_attempt_at = models.DateTimeField(_("laatste poging"), null=True, blank=True)
    done_at = models.DateTimeField(_("uitgevoerd"), null=True, blank=True)
    retried_at = models.DateTimeField(null=True, blank=True)
    retried_by_ref = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("uitgaand bericht")
        verbose_name_plural = _("uitgaande berichten")
        constraints = [
            models.UniqueConstraint(fields=["source", "dedupe_key"], name="outbox_unique_dedupe_key"),
        ]
        indexes = [
            # The sweep and the staff lists look only at unfinished messages.
            models.Index(fields=["available_at"], name="outbox_open",
                         condition=models.Q(state__in=["pending", "failed"])),
            models.Index(fields=["source", "-created_at"], name="outbox_source"),
            models.Index(fields=["target", "-created_at"], name="outbox_target"),
        ]

    def __str__(self):
        return f"{self.kind} ({self.dedupe_key})"

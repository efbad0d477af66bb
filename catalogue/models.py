"""The national bibliographic catalogue and the national holdings index (public schema).

One Title per title description, keeping the whole MARC21 record and the fields
LSB searches, filters and shows. Holdings count, per title x library x branch,
the copies each library has and how many are available, kept current by the
item services of every library in the same transaction as the item change.
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import F, Func, Q
from django.utils.translation import gettext_lazy as _

# Dutch stemming with accents folded (unaccent): created in migration 0001.
SEARCH_CONFIG = "lsb_dutch"


class YearArray(Func):
    """ARRAY[year]: the year as an array, for the search index (see Title.Meta)."""

    template = "ARRAY[%(expressions)s]"
    output_field = ArrayField(models.SmallIntegerField())


class MaterialType(models.TextChoices):
    BOOK = "book", _("Boek")
    LARGE_PRINT = "large_print", _("Grote letter")
    AUDIOBOOK = "audiobook", _("Luisterboek")
    MUSIC_CD = "music_cd", _("Muziek-cd")
    DVD = "dvd", _("Dvd/video")
    GAME = "game", _("Spel")
    SHEET_MUSIC = "sheet_music", _("Bladmuziek")
    MAGAZINE = "magazine", _("Tijdschrift")
    MAP = "map", _("Kaart")
    ELECTRONIC = "electronic", _("Elektronisch")
    OTHER = "other", _("Overig")


class Audience(models.TextChoices):
    YOUTH = "youth", _("Jeugd")
    ADULT = "adult", _("Volwassenen")
    UNKNOWN = "unknown", _("Onbekend")


class Title(models.Model):
    # Where the record comes from: 003 (source/organisation code) and 001.
    source = models.CharField(_("bron (003)"), max_length=64, blank=True)
    control_number = models.CharField(_("controlenummer (001)"), max_length=64, blank=True)
    # The record as ISO 2709 in UTF-8 (leader/09 'a'), MARC-8 input converted.
    marc = models.BinaryField(_("MARC21"))
    # sha1 of `marc`: importing an identical record again changes nothing.
    marc_checksum = models.CharField(max_length=40)

    title = models.TextField(_("titel"))
    subtitle = models.TextField(_("ondertitel"), blank=True)
    responsibility = models.TextField(_("verantwoordelijkheid"), blank=True)
    contributors = models.JSONField(_("makers"), default=list, help_text='[{"name": ..., "role": ...}]')
    contributors_text = models.TextField(blank=True)
    isbns = ArrayField(models.CharField(max_length=13), default=list, blank=True, help_text="ISBN-13, checked")
    issns = ArrayField(models.CharField(max_length=9), default=list, blank=True)
    eans = ArrayField(models.CharField(max_length=13), default=list, blank=True)
    publisher = models.TextField(_("uitgever"), blank=True)
    year = models.SmallIntegerField(_("jaar"), null=True, blank=True)
    edition = models.TextField(_("druk"), blank=True)
    series = models.TextField(_("reeks"), blank=True)
    language = models.CharField(_("taal"), max_length=3, blank=True)
    material_type = models.CharField(_("materiaalsoort"), max_length=20, choices=MaterialType.choices,
                                     default=MaterialType.BOOK)
    audience = models.CharField(_("doelgroep"), max_length=10, choices=Audience.choices, default=Audience.UNKNOWN)
    subjects = ArrayField(models.TextField(), default=list, blank=True)
    subjects_text = models.TextField(blank=True)

    # Lower case, accents removed: trigram matching for typos in titles and names.
    title_folded = models.TextField(blank=True)
    contributors_folded = models.TextField(blank=True)
    search_vector = models.GeneratedField(
        expression=SearchVector("title", weight="A", config=SEARCH_CONFIG)
        + SearchVector("contributors_text", weight="A", config=SEARCH_CONFIG)
        + SearchVector("subtitle", weight="B", config=SEARCH_CONFIG)
        + SearchVector("series", weight="B", config=SEARCH_CONFIG)
        + SearchVector("subjects_text", weight="C", config=SEARCH_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("titel")
        verbose_name_plural = _("titels")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "control_number"],
                condition=~Q(control_number=""),
                name="title_unique_source_control_number",
            ),
        ]
        indexes = [
            # Words and filters in one index (btree_gin, migration 0006): a filtered search
            # intersects them in the index instead of reading and discarding rows. The year
            # as a one-element array: a range becomes one key of OR-ed years (`&&`).
            GinIndex(F("search_vector"), F("material_type"), F("language"), F("audience"), YearArray("year"),
                     name="title_search_filters"),
            # No pending list: the MARC import probes this index for every ISBN of every
            # batch it has just inserted, and a pending list is scanned on every probe.
            GinIndex(fields=["isbns"], name="title_isbns", fastupdate=False),
            GinIndex(fields=["eans"], name="title_eans"),
            GinIndex(fields=["issns"], name="title_issns"),
            GinIndex(fields=["title_folded"], opclasses=["gin_trgm_ops"], name="title_title_trgm"),
            GinIndex(fields=["contributors_folded"], opclasses=["gin_trgm_ops"], name="title_contributors_trgm"),
            models.Index(fields=["year"], name="title_year"),
            # The MARC import recognises a record without 001 and ISBN by its checksum.
            models.Index(fields=["marc_checksum"], name="title_marc_checksum"),
        ]

    def __str__(self):
        return f"{self.title} / {self.contributors_text}" if self.contributors_text else self.title


class Holding(models.Model):
    """National holdings index: one row per title x library organisation x branch."""

    title = models.ForeignKey(Title, on_delete=models.CASCADE, related_name="holdings")
    organisation = models.ForeignKey(settings.TENANT_MODEL, on_delete=models.CASCADE, related_name="holdings")
    branch = models.ForeignKey("tenants.Branch", on_delete=models.CASCADE, related_name="holdings")
    total = models.PositiveIntegerField(default=0)
    available = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("bezit")
        verbose_name_plural = _("bezit (landelijk)")
        constraints = [
            models.UniqueConstraint(fields=["title", "organisation", "branch"], name="holding_unique"),
            models.CheckConstraint(condition=Q(available__lte=models.F("total")), name="holding_available_le_total"),
        ]
        indexes = [models.Index(fields=["organisation", "title"], name="holding_org_title")]

    def __str__(self):
        return f"{self.title_id} @ {self.branch_id}: {self.available}/{self.total}"


# --- MARC import log -----------------------------------------------------------------


class MarcFormat(models.TextChoices):
    AUTO = "auto", _("Automatisch herkennen")
    ISO2709 = "iso2709", _("MARC21 (ISO 2709)")
    MARCXML = "marcxml", _("MARCXML")


class MarcImportStatus(models.TextChoices):
    QUEUED = "queued", _("In de wachtrij")
    RUNNING = "running", _("Bezig")
    DONE = "done", _("Klaar")
    FAILED = "failed", _("Mislukt")


class MarcImport(models.Model):
    """One MARC file read into the national catalogue: who, for which library,
    how far it got, and what it did with the records (its problems below).

    Counts and `records_read` are committed with each batch of records, so an
    import that dies halfway can be run again and continues after the last
    committed record."""

    organisation = models.ForeignKey(
        settings.TENANT_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="marc_imports",
        verbose_name=_("bibliotheek"), help_text=_("Leeg voor een landelijke levering (beheeropdracht)."),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("medewerker"),
    )
    # Who started it (core.actors: staff:12 at the desk, system:import_marc for the command).
    actor_ref = models.CharField(max_length=40, blank=True, default="")
    file_name = models.CharField(_("bestandsnaam"), max_length=255)
    # Path in default_storage (uploads); empty when a command read a local file.
    stored_file = models.CharField(max_length=255, blank=True)
    format = models.CharField(_("formaat"), max_length=10, choices=MarcFormat.choices, default=MarcFormat.AUTO)
    status = models.CharField(
        _("status"), max_length=10, choices=MarcImportStatus.choices, default=MarcImportStatus.QUEUED
    )
    # Why the whole import failed (unreadable file, unknown format); bad records are problems.
    error = models.TextField(_("foutmelding"), blank=True)
    records_read = models.PositiveIntegerField(_("gelezen records"), default=0)
    # Where reading continues after a crash (ISO 2709: byte offset of the next record).
    resume_offset = models.BigIntegerField(default=0)
    created = models.PositiveIntegerField(_("nieuw"), default=0)
    updated = models.PositiveIntegerField(_("bijgewerkt"), default=0)
    unchanged = models.PositiveIntegerField(_("ongewijzigd"), default=0)
    skipped = models.PositiveIntegerField(_("overgeslagen"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(_("gestart"), null=True, blank=True)
    finished_at = models.DateTimeField(_("klaar"), null=True, blank=True)

    class Meta:
        verbose_name = _("MARC-import")
        verbose_name_plural = _("MARC-imports")
        indexes = [models.Index(fields=["organisation", "-created_at"], name="marcimport_org_recent")]

    def __str__(self):
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def is_finished(self):
        return self.status in (MarcImportStatus.DONE, MarcImportStatus.FAILED)


class MarcImportProblem(models.Model):
    """A record an import skipped: where it is in the file and why."""

    marc_import = models.ForeignKey(MarcImport, on_delete=models.CASCADE, related_name="problems")
    # 1-based number of the record in the file.
    record_number = models.PositiveIntegerField(_("recordnummer"))
    byte_offset = models.BigIntegerField(_("byte-positie"), null=True, blank=True)
    line = models.PositiveIntegerField(_("regel"), null=True, blank=True)
    control_number = models.CharField(_("controlenummer (001)"), max_length=64, blank=True)
    reason = models.TextField(_("reden"))

    class Meta:
        verbose_name = _("MARC-importprobleem")
        verbose_name_plural = _("MARC-importproblemen")
        ordering = ["marc_import", "record_number", "id"]

    def __str__(self):
        return f"record {self.record_number}: {self.reason}"


class SearchWord(models.Model):
    """Every folded word of the catalogue's titles and makers, once: the dictionary
    the search uses to correct misspelled words ('poter' -> 'potter') by trigram
    similarity on a small table instead of on a million titles.

    Kept current by a statement-level trigger on catalogue_title (migration
    0004), so every write path (imports, admin, tests) feeds it; words are
    inserted in sorted order and never removed (a word whose titles are gone
    simply finds nothing)."""

    word = models.TextField(primary_key=True)

    class Meta:
        verbose_name = _("zoekwoord")
        verbose_name_plural = _("zoekwoorden")
        indexes = [GinIndex(fields=["word"], opclasses=["gin_trgm_ops"], name="searchword_trgm")]

    def __str__(self):
        return self.word

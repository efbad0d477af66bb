"""The national bibliographic catalogue and the national holdings index (public schema).

One Title per title description, keeping the whole MARC21 record and the fields
LSB searches, filters and shows. Every title has an authority, its `owner`: the
national bibliographic service (None), or the library organisation that first
described it. Only its own source (or a national cataloguer) replaces its
description; another library's record of it is kept as that library's
LocalRecord, and may only add what the title lacks. Every change to a title keeps
the previous version (TitleVersion: who, when, from which import), which a
cataloguer can restore.

Holdings count, per title x library x branch, the copies each library has and
how many are available, kept current by the item services of every library in the
same transaction as the item change.
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import F, Func, Q
from django.db.models.functions import MD5
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
    # Whose description this is: the national bibliographic service (None) or the
    # library organisation that first described the title (catalogue.services: the
    # authority rules). A blank 003 is that owner's own numbering.
    owner = models.ForeignKey(
        settings.TENANT_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("beschreven door"), help_text=_("Leeg: de landelijke bibliografische dienst."),
    )
    # Where the record comes from: 003 (source/organisation code) and 001.
    source = models.CharField(_("bron (003)"), max_length=64, blank=True)
    control_number = models.CharField(_("controlenummer (001)"), max_length=64, blank=True)
    # The record as ISO 2709 in UTF-8 (leader/09 'a'), MARC-8 input converted.
    marc = models.BinaryField(_("MARC21"))
    # sha1 of `marc`: importing an identical record again changes nothing.
    marc_checksum = models.CharField(max_length=40)

    title = models.TextField(_("titel"))
    # The title in its original script (880 linked to 245), when the record has one.
    vernacular_title = models.TextField(_("titel in oorspronkelijk schrift"), blank=True, default="")
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

    # The searched text, folded by catalogue.normalise.fold, the same function the
    # query goes through (search_columns): title (with the original script), makers,
    # subtitle and series (and varying titles), subjects. The search index is
    # generated from these, so index and query always fold alike.
    title_folded = models.TextField(blank=True)
    contributors_folded = models.TextField(blank=True)
    subtitle_series_folded = models.TextField(blank=True, default="")
    subjects_folded = models.TextField(blank=True, default="")
    search_vector = models.GeneratedField(
        expression=SearchVector("title_folded", weight="A", config=SEARCH_CONFIG)
        + SearchVector("contributors_folded", weight="A", config=SEARCH_CONFIG)
        + SearchVector("subtitle_series_folded", weight="B", config=SEARCH_CONFIG)
        + SearchVector("subjects_folded", weight="C", config=SEARCH_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("titel")
        verbose_name_plural = _("titels")
        permissions = [
            ("catalogue_national", _("Landelijk catalogiseren: titels van elke bron bijwerken en terugzetten")),
        ]
        constraints = [
            # 003 + 001 identify a record; without 003 the 001 is its owner's own numbering.
            models.UniqueConstraint(
                fields=["source", "control_number"],
                condition=~Q(control_number="") & ~Q(source=""),
                name="title_unique_source_control_number",
            ),
            models.UniqueConstraint(
                fields=["owner", "control_number"],
                condition=~Q(control_number="") & Q(source=""),
                nulls_distinct=False,
                name="title_unique_owner_control_number",
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
            # Other editions of a title (the OPAC's title page): the same folded title, found
            # by its hash (a title may be longer than a btree entry allows).
            models.Index(MD5("title_folded"), name="title_editions"),
            # The MARC import recognises a record without 001 and ISBN by its checksum.
            models.Index(fields=["marc_checksum"], name="title_marc_checksum"),
        ]

    def __str__(self):
        return f"{self.title} / {self.contributors_text}" if self.contributors_text else self.title


class TitleChange(models.TextChoices):
    UPDATED = "updated", _("bijgewerkt door de eigen bron")
    TAKEN_OVER = "taken_over", _("overgenomen door de landelijke bibliografische dienst")
    ENRICHED = "enriched", _("aangevuld door een andere bron")
    RESTORED = "restored", _("teruggezet door een catalogiseerder")


class TitleVersion(models.Model):
    """A title as it was before one change: its record (everything else of a title
    follows from it), identity and owner; who changed it, when, how and from which
    import. Restoring a version makes it current again and keeps the state it
    replaces as a version of its own."""

    title = models.ForeignKey(Title, on_delete=models.CASCADE, related_name="versions")
    # The title before the change.
    owner = models.ForeignKey(settings.TENANT_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+")
    source = models.CharField(max_length=64, blank=True)
    control_number = models.CharField(max_length=64, blank=True)
    marc = models.BinaryField()
    marc_checksum = models.CharField(max_length=40)
    # The change.
    change = models.CharField(_("wijziging"), max_length=12, choices=TitleChange.choices)
    changed_at = models.DateTimeField(_("gewijzigd op"))
    actor_ref = models.CharField(max_length=40, blank=True, default="")
    marc_import = models.ForeignKey("MarcImport", on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    # For which library the changing import ran (None: the national service or a cataloguer).
    organisation = models.ForeignKey(settings.TENANT_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    record_number = models.PositiveIntegerField(null=True, blank=True)
    # Set when a cataloguer restored this version.
    restored_at = models.DateTimeField(null=True, blank=True)
    restored_by_ref = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        verbose_name = _("titelversie")
        verbose_name_plural = _("titelversies")
        indexes = [models.Index(fields=["title", "-changed_at"], name="titleversion_title_recent")]

    def __str__(self):
        return f"{self.title_id} {self.change} {self.changed_at:%Y-%m-%d %H:%M}"


class LocalRecord(models.Model):
    """A library's own record of a title whose description is not its own (or that
    carried its holdings): its 003/001, so its next import finds the title again,
    and the record as it delivered it, with its holdings (852). Never part of the
    national record."""

    title = models.ForeignKey(Title, on_delete=models.CASCADE, related_name="local_records")
    organisation = models.ForeignKey(settings.TENANT_MODEL, on_delete=models.CASCADE, related_name="+")
    source = models.CharField(_("bron (003)"), max_length=64, blank=True)
    control_number = models.CharField(_("controlenummer (001)"), max_length=64, blank=True)
    marc = models.BinaryField(_("MARC21"))
    marc_checksum = models.CharField(max_length=40)
    holdings = models.PositiveIntegerField(_("bezitsvelden (852)"), default=0)
    marc_import = models.ForeignKey("MarcImport", on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("eigen record van een bibliotheek")
        verbose_name_plural = _("eigen records van bibliotheken")
        constraints = [
            models.UniqueConstraint(fields=["organisation", "source", "control_number"],
                                    condition=~Q(control_number=""), name="localrecord_unique_identity"),
            models.UniqueConstraint(fields=["organisation", "title"], condition=Q(control_number=""),
                                    name="localrecord_unique_unnumbered"),
        ]
        indexes = [models.Index(fields=["title", "organisation"], name="localrecord_title")]

    def __str__(self):
        return f"{self.organisation_id}: {self.source} {self.control_number} -> {self.title_id}"


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
    # Why the whole import failed (a marc_import.* code of catalogue.errors, shown in the
    # reader's language); refused records are problems. `error`: text of older imports.
    error = models.TextField(_("foutmelding"), blank=True)
    error_code = models.CharField(max_length=60, blank=True, default="")
    error_params = models.JSONField(default=dict, blank=True)
    records_read = models.PositiveIntegerField(_("gelezen records"), default=0)
    # Where reading continues after a crash (ISO 2709: byte offset of the next record).
    resume_offset = models.BigIntegerField(default=0)
    created = models.PositiveIntegerField(_("nieuw"), default=0)
    updated = models.PositiveIntegerField(_("bijgewerkt"), default=0)
    unchanged = models.PositiveIntegerField(_("ongewijzigd"), default=0)
    skipped = models.PositiveIntegerField(_("overgeslagen"), default=0)
    # Matched a title it may not replace: what the title lacked added / the library's record attached.
    enriched = models.PositiveIntegerField(_("aangevuld"), default=0)
    attached = models.PositiveIntegerField(_("als eigen record gekoppeld"), default=0)
    warnings = models.PositiveIntegerField(_("waarschuwingen"), default=0)
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

    @property
    def error_message(self):
        """Why the import failed, in the active language."""
        if self.error_code:
            from .errors import render

            return render(self.error_code, self.error_params)
        return self.error


class ProblemLevel(models.TextChoices):
    REFUSED = "refused", _("geweigerd")
    WARNING = "warning", _("waarschuwing")


class MarcImportProblem(models.Model):
    """A record an import refused (level refused), or something it noticed in a
    record it imported anyway (level warning): where it is in the file and what."""

    marc_import = models.ForeignKey(MarcImport, on_delete=models.CASCADE, related_name="problems")
    # 1-based number of the record in the file.
    record_number = models.PositiveIntegerField(_("recordnummer"))
    byte_offset = models.BigIntegerField(_("byte-positie"), null=True, blank=True)
    line = models.PositiveIntegerField(_("regel"), null=True, blank=True)
    control_number = models.CharField(_("controlenummer (001)"), max_length=64, blank=True)
    level = models.CharField(max_length=8, choices=ProblemLevel.choices, default=ProblemLevel.REFUSED)
    # A marc.* / marc_warning.* code of catalogue.errors and its parameters.
    code = models.CharField(max_length=60, blank=True, default="")
    params = models.JSONField(default=dict, blank=True)
    # The reason as text (imports from before the codes).
    text = models.TextField(_("reden"), blank=True, db_column="reason")

    class Meta:
        verbose_name = _("MARC-importprobleem")
        verbose_name_plural = _("MARC-importproblemen")
        ordering = ["marc_import", "record_number", "id"]
        indexes = [models.Index(fields=["marc_import", "level", "record_number"], name="marcproblem_level")]

    def __str__(self):
        return f"record {self.record_number}: {self.reason}"

    @property
    def reason(self):
        """What happened, in the active language."""
        if self.code:
            from .errors import render

            return render(self.code, self.params)
        return self.text


class MatchRule(models.TextChoices):
    """How an import found the title a record is about (or that it found none)."""

    LSB_NUMBER = "lsb_number", _("LSB-nummer (035) uit een LSB-export")
    IDENTITY = "identity", _("zelfde bron en controlenummer (003/001)")
    LOCAL_RECORD = "local_record", _("eigen record van deze bibliotheek (003/001)")
    ISBN = "isbn", _("zelfde ISBN")
    CONTENT = "content", _("precies hetzelfde record")
    NONE = "none", _("geen: nieuwe titel")


class RecordOutcome(models.TextChoices):
    CREATED = "created", _("nieuwe titel")
    UPDATED = "updated", _("bijgewerkt")
    TAKEN_OVER = "taken_over", _("overgenomen (landelijke dienst)")
    ENRICHED = "enriched", _("aangevuld")
    ATTACHED = "attached", _("eigen record gekoppeld")
    UNCHANGED = "unchanged", _("ongewijzigd")


class MarcImportRecord(models.Model):
    """Per imported record: which title, by which matching rule, with what outcome."""

    marc_import = models.ForeignKey(MarcImport, on_delete=models.CASCADE, related_name="records")
    record_number = models.PositiveIntegerField(_("recordnummer"))
    title = models.ForeignKey(Title, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                              db_constraint=False)
    rule = models.CharField(_("gevonden via"), max_length=12, choices=MatchRule.choices)
    outcome = models.CharField(_("uitkomst"), max_length=10, choices=RecordOutcome.choices)

    class Meta:
        verbose_name = _("geïmporteerd record")
        verbose_name_plural = _("geïmporteerde records")
        indexes = [models.Index(fields=["marc_import", "record_number"], name="marcrecord_import_number")]

    def __str__(self):
        return f"record {self.record_number}: {self.rule} -> {self.outcome}"


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

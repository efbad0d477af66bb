"""Writes to the national catalogue: the MARC import with its authority rules,
restoring a title's previous version, and clearing away uploaded files.

An import reads its file one record at a time and stores the records in batches;
each batch is one transaction (its titles, their previous versions, the
libraries' own records, the per-record log, problems and the import's counters
together), so an import that dies halfway leaves every committed batch whole and
continues after it when run again.

The authority rules. Every title has an owner: the national bibliographic service
(an import not made for a library: the national feed) or the library organisation
whose import first described it. A record's source is its 003; a record without
003 is its importer's own numbering (a blank 003 never makes two importers' records
"the same source").

Matching, per record, the first rule that finds a title (reported per record):
  1. lsb_number: the LSB title number an LSB export writes into 035 ('(LSB)1234');
  2. identity: the same 003 + 001 (without 003: the same importer and 001);
  3. local_record: a library's import: the 003 + 001 of a record this library
     imported before for a title that is not its own;
  4. isbn: a shared ISBN, unless both records number themselves in the same source
     and their 001s differ (the source says they are different records);
  5. content: exactly the same record (what a record without 001 or ISBN has);
  otherwise the record is a new title, owned by its importer.

Who may change a matched title's description: its own source (the owner's
imports), the national bibliographic service (its feed takes over a title a
library described first; that library's record stays as its local record), and a
national cataloguer (the catalogue_national permission). Anyone else's record is
attached to the title as the importing library's LocalRecord (its 003/001, its
whole record with its holdings), so its next import finds the title again; it
may add what a library-described title lacks (catalogue.marc.ENRICHABLE_GROUPS),
but never changes the national service's records. A library's holdings (852 and
the other holdings fields) and LSB's own 035 never become part of a title's
record. A record without 001 never takes a title's 001 away. Every change to a
title keeps its previous version (TitleVersion: who, when, how, from which import
and record), which a cataloguer can restore (title_version_restore).
"""

import hashlib
import logging
import os
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.text import get_valid_filename
from django_tenants.utils import get_public_schema_name
from psycopg.types.json import Jsonb

from core.errors import ServiceError
from staff.models import Role
from staff.permissions import actor_has_role, require_role

from .marc import (
    BadRecord, MarcData, decode_stored, enriched, enrichment, holdings_count, lsb_title_id, marc_bytes,
    read_records, shared_bytes, shared_part, sniff, title_fields_from, with_identity,
)
from .models import (
    MarcFormat, MarcImport, MarcImportProblem, MarcImportStatus, MatchRule, ProblemLevel,
    RecordOutcome, Title, TitleChange, TitleVersion,
)

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
# An import whose first this-many records are all unreadable is no MARC file: it stops.
NOT_MARC_AFTER = 50
# PostgreSQL advisory lock keys: (namespace, id).
_LOCK_NAMESPACE_IMPORT = 0x4D415243  # 'MARC': one runner per import
_LOCK_NAMESPACE_CATALOGUE = 0x4D415244  # one batch (or restore) writes to the catalogue at a time
NATIONAL_CATALOGUER_PERMISSION = "catalogue.catalogue_national"
_TITLE_FIELDS = [
    "owner_id", "source", "control_number", "marc", "marc_checksum", "title", "vernacular_title", "subtitle",
    "responsibility", "contributors", "contributors_text", "isbns", "issns", "eans", "publisher", "year", "edition",
    "series", "language", "material_type", "audience", "subjects", "subjects_text", "title_folded",
    "contributors_folded", "subtitle_series_folded", "subjects_folded",
]


def upload_retention_days():
    return int(getattr(settings, "MARC_UPLOAD_RETENTION_DAYS", 7))


# --- creating an import ---------------------------------------------------------------


def marc_import_create(*, actor, upload, marc_format=MarcFormat.AUTO, national=False):
    """Store an uploaded MARC file and queue its import for the actor's library
    (collection role); the Celery task starts once this transaction commits. A file
    that is not MARC21 (an image, a document, a web page, XML without MARC records,
    UNIMARC, random bytes) is refused at once and nothing is stored.

    With `national`, the file is a delivery of the national bibliographic service
    (the national feed, as `import_marc` without `--library`): only a national
    cataloguer may upload it (in the national admin), it runs in the public schema
    for no library, and its new titles are owned by the national service."""
    if national:
        if not (actor.is_staff and is_national_cataloguer(actor.staff_user)):
            raise ServiceError("marc_import.national_only")
        organisation = None
    else:
        organisation = actor.require_current_library()
        require_role(actor, Role.COLLECTION)
    if marc_format not in MarcFormat.values:
        raise ServiceError("marc_import.format_unknown", field="format")
    if not upload or not upload.size:
        raise ServiceError("marc_import.file_empty", field="file")
    upload.seek(0)
    sniffed = sniff(upload, marc_format)
    upload.seek(0)
    if sniffed.refusal:
        raise ServiceError(sniffed.refusal, field="file")
    name = os.path.basename(upload.name or "marc")[:200] or "marc"
    stored = default_storage.save(f"marc_imports/{uuid.uuid4().hex}/{get_valid_filename(name)}", upload)
    try:
        with transaction.atomic():
            marc_import = MarcImport.objects.create(
                organisation=organisation, user=actor.user_or_none, actor_ref=actor.ref, file_name=name,
                stored_file=stored, format=marc_format,
            )
            schema = organisation.schema_name if organisation is not None else get_public_schema_name()
            transaction.on_commit(lambda: _enqueue(marc_import.pk, schema))
    except Exception:
        default_storage.delete(stored)
        raise
    return marc_import


def _enqueue(import_id, schema):
    from .tasks import marc_import_process

    marc_import_process.apply_async(args=[import_id], headers={"_schema_name": schema})


def marc_import_register(*, actor, file_name, marc_format=MarcFormat.AUTO):
    """An import of a local file, run at once by the caller (the import_marc command,
    the demo data). The national catalogue has no library of its own: in the public
    schema the actor (e.g. Actor.system("import_marc", organisation)) only says for
    whom the import is logged, `actor.organisation` being None for a national
    delivery (the national bibliographic service's feed); in a library's schema it
    must be that library's actor."""
    if connection.schema_name != get_public_schema_name():
        actor.require_current_library()
    return MarcImport.objects.create(
        organisation=actor.organisation, user=actor.user_or_none, actor_ref=actor.ref,
        file_name=str(file_name)[:255], format=marc_format,
    )


# --- running an import ----------------------------------------------------------------


def marc_import_execute(*, marc_import_id, progress=None):
    """Run a queued import from its stored file (the Celery task's body); the file
    is deleted once the import has finished.

    Idempotent: a finished import is left as it is; one that crashed continues
    after its last committed batch; while another worker runs the same import,
    this returns at once. Returns the import, or None when there is nothing to do."""
    with _session_lock(_LOCK_NAMESPACE_IMPORT, marc_import_id) as locked:
        if not locked:
            logger.info("MARC import %s is being run by another worker", marc_import_id)
            return None
        marc_import = MarcImport.objects.filter(pk=marc_import_id).first()
        if marc_import is None:
            logger.warning("MARC import %s does not exist (any more)", marc_import_id)
            return None
        if marc_import.is_finished:
            _discard_upload(marc_import)
            return marc_import
        try:
            stream = default_storage.open(marc_import.stored_file, "rb")
        except (OSError, ValueError) as error:
            logger.warning("MARC import %s: cannot open %s: %s", marc_import.pk, marc_import.stored_file, error)
            return _finish(marc_import, MarcImportStatus.FAILED, "marc_import.file_gone")
        try:
            with stream:
                result = marc_import_run(marc_import=marc_import, stream=stream, progress=progress)
        except Exception as error:
            if _is_connection_error(error):
                raise  # the task retries; committed batches stay, the rest follows
            logger.exception("MARC import %s stopped", marc_import.pk)
            result = _finish(marc_import, MarcImportStatus.FAILED, "marc_import.internal_error",
                             records_read=MarcImport.objects.get(pk=marc_import.pk).records_read)
        _discard_upload(result)
        return result


def marc_import_run(*, marc_import, stream, progress=None, batch_size=BATCH_SIZE):
    """Read `stream` (a binary MARC file) into the catalogue for `marc_import`.

    Continues after the records a previous run committed. `progress`, when given,
    is called with the import after every committed batch. A file that is not
    MARC21 (or is empty, or XML without MARC records) fails at once with the reason."""
    if marc_import.records_read == 0:
        sniffed = sniff(stream, marc_import.format)
        if sniffed.refusal:
            marc_import.format = sniffed.format
            marc_import.save(update_fields=["format"])
            return _finish(marc_import, MarcImportStatus.FAILED, sniffed.refusal)
        marc_import.format = sniffed.format
    elif marc_import.format == MarcFormat.AUTO:
        from .marc import detect_format

        marc_import.format = detect_format(stream)
    marc_import.status = MarcImportStatus.RUNNING
    marc_import.started_at = marc_import.started_at or timezone.now()
    marc_import.save(update_fields=["format", "status", "started_at"])

    context = _Context.of(marc_import)
    batch = []
    fresh = marc_import.records_read == 0
    unreadable_at_start = 0
    for result in read_records(
        stream, marc_import.format, start_number=marc_import.records_read, start_offset=marc_import.resume_offset
    ):
        if fresh:
            if result.ok:
                fresh = False
            else:
                unreadable_at_start += 1
                if unreadable_at_start >= NOT_MARC_AFTER:
                    return _finish(marc_import, MarcImportStatus.FAILED, "marc_import.not_marc_stream",
                                   count=unreadable_at_start)
        batch.append(result)
        if len(batch) >= batch_size:
            _commit_batch(marc_import, context, batch)
            batch = []
            if progress:
                progress(marc_import)
    if batch:
        _commit_batch(marc_import, context, batch)
        if progress:
            progress(marc_import)
    return _finish(marc_import, MarcImportStatus.DONE)


def _finish(marc_import, status, code="", **params):
    MarcImport.objects.filter(pk=marc_import.pk).update(
        status=status, error_code=code, error_params=params, finished_at=timezone.now()
    )
    marc_import.refresh_from_db()
    return marc_import


def _discard_upload(marc_import):
    """A finished import's uploaded file is deleted: the import log keeps what it did."""
    if marc_import is None or not marc_import.stored_file:
        return
    try:
        default_storage.delete(marc_import.stored_file)
    except OSError as error:
        logger.warning("MARC import %s: cannot delete %s: %s", marc_import.pk, marc_import.stored_file, error)
        return
    MarcImport.objects.filter(pk=marc_import.pk).update(stored_file="")
    marc_import.stored_file = ""


def marc_uploads_clean(*, now=None):
    """Clear away uploaded MARC files the disk need not keep: files of finished
    imports (normally deleted when they finish), files of imports still not run
    after the retention period (MARC_UPLOAD_RETENTION_DAYS; those imports fail,
    saying so), and files in the upload folder that belong to no import. Returns
    how many files were deleted."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=upload_retention_days())
    deleted = 0
    for marc_import in MarcImport.objects.exclude(stored_file="").filter(
            status__in=[MarcImportStatus.DONE, MarcImportStatus.FAILED]):
        _discard_upload(marc_import)
        deleted += 1
    for marc_import in MarcImport.objects.exclude(stored_file="").filter(
            status__in=[MarcImportStatus.QUEUED, MarcImportStatus.RUNNING], created_at__lt=cutoff):
        _finish(marc_import, MarcImportStatus.FAILED, "marc_import.file_expired", days=upload_retention_days())
        _discard_upload(marc_import)
        deleted += 1
    known = set(MarcImport.objects.exclude(stored_file="").values_list("stored_file", flat=True))
    try:
        folders, _ = default_storage.listdir("marc_imports")
    except (FileNotFoundError, NotImplementedError, OSError):
        folders = []
    for folder in folders:
        try:
            _, files = default_storage.listdir(f"marc_imports/{folder}")
        except OSError:
            continue
        for name in files:
            path = f"marc_imports/{folder}/{name}"
            if path in known:
                continue
            try:
                modified = default_storage.get_modified_time(path)
            except (OSError, NotImplementedError):
                continue
            if modified < cutoff:
                default_storage.delete(path)
                deleted += 1
    return deleted


def _is_connection_error(error):
    from django.db import InterfaceError, OperationalError

    return isinstance(error, (OperationalError, InterfaceError))


class _session_lock:
    """An advisory lock held across the batches' commits, safe behind a pooler in
    transaction mode: taken with pg_try_advisory_xact_lock in a transaction of its
    own on a connection of its own, which stays open (and pins one server
    connection) until the import ends. A session-level lock on the import's own
    connection would stay on whichever server connection took it. A crashed
    worker's connection closes, its transaction rolls back and the lock goes."""

    def __init__(self, namespace, key):
        self.args = [namespace, key]
        self.holder = None

    def __enter__(self):
        self.holder = connection.get_new_connection(connection.get_connection_params())
        try:
            self.holder.autocommit = False
            with self.holder.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", self.args)
                self.locked = cursor.fetchone()[0]
        except Exception:
            self.holder.close()
            raise
        return self.locked

    def __exit__(self, *exc):
        try:
            self.holder.rollback()  # ends the transaction: the lock is released
        except Exception:  # the connection is gone, and the lock with it
            logger.warning("Could not release the MARC import lock %s", self.args)
        finally:
            self.holder.close()
        return False


# --- who may change what ----------------------------------------------------------------


def is_national_cataloguer(user):
    return bool(user is not None and user.is_active and user.has_perm(NATIONAL_CATALOGUER_PERMISSION))


@dataclass(frozen=True)
class _Context:
    """For whom an import runs: its origin (the library, None for the national feed)
    and whether it was started by a national cataloguer."""

    import_id: int
    origin: int | None
    cataloguer: bool
    actor_ref: str

    @classmethod
    def of(cls, marc_import):
        return cls(marc_import.pk, marc_import.organisation_id, is_national_cataloguer(marc_import.user),
                   marc_import.actor_ref)

    def may_replace(self, owner_id):
        """Whether this import's records replace the description of a title owned by `owner_id`."""
        return self.cataloguer or self.origin is None or owner_id == self.origin


# --- one batch ------------------------------------------------------------------------


@dataclass
class _Known:
    """A title as far as this batch needs it."""

    pk: int
    owner_id: int | None
    source: str
    control_number: str
    marc_checksum: str
    isbns: list
    marc: bytes | None = None  # its current record, once needed (fetched, or what this batch wrote)
    fields: dict | None = None  # what to write, when this batch changes it
    is_new: bool = False
    change: str = ""  # for an existing title: the kind of its first change in this batch
    record_number: int | None = None
    taken_from: int | None = None  # the library whose description the national service took over
    versions: list = field(default_factory=list)  # states between two changes in this batch
    key: int = 0

    @property
    def identity(self):
        return _identity(self.source, self.owner_id, self.control_number)


def _identity(source, owner_id, control_number):
    """What identifies a record: 003 + 001, or without 003 its owner's own 001."""
    return (source, None if source else owner_id, control_number)


@dataclass
class _Record:
    """One good record of a batch, ready to match."""

    result: object
    full: MarcData  # as the library delivered it
    fields: dict  # the Title fields of its shared part
    lsb_id: int | None
    holdings: int
    is_shared: bool  # the whole record may be a title's record (no holdings, no LSB number)

    @property
    def number(self):
        return self.result.number

    @property
    def source(self):
        return self.fields["source"]

    @property
    def control_number(self):
        return self.fields["control_number"]


@dataclass
class _Outcome:
    created: int = 0
    updated: int = 0
    enriched: int = 0
    attached: int = 0
    unchanged: int = 0
    warnings: int = 0
    problems: list = field(default_factory=list)
    records: list = field(default_factory=list)  # (number, title pk, rule, outcome)

    def add(self, other):
        for name in ("created", "updated", "enriched", "attached", "unchanged", "warnings"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.problems += other.problems
        self.records += other.records

    @property
    def refused(self):
        return sum(1 for problem in self.problems if problem["level"] == ProblemLevel.REFUSED)


def _commit_batch(marc_import, context, batch):
    """One transaction: the batch's titles, their versions, local records, the
    per-record log, problems and the import's counters."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            # No JIT: the batch's statements run for milliseconds, compiling them costs
            # hundreds (and a catalogue growing during an import makes the planner expect more).
            # No waiting for the WAL flush at commit: the batch's progress is committed with
            # its titles, so a batch a server crash loses is simply read again by the rerun.
            cursor.execute("SELECT set_config('jit', 'off', true), set_config('synchronous_commit', 'off', true), "
                           "pg_advisory_xact_lock(%s, 0)", [_LOCK_NAMESPACE_CATALOGUE])
        try:
            with transaction.atomic():
                outcome = _store(context, batch)
        except IntegrityError:
            # Titles changed identity within the batch in a way one bulk statement
            # cannot apply (or a title was added meanwhile): record by record.
            outcome = _Outcome()
            for result in batch:
                try:
                    with transaction.atomic():
                        single = _store(context, [result])
                except IntegrityError:
                    data = result.data
                    source, control_number = (data.control.get("003", "").strip(),
                                              data.control.get("001", "").strip()) if data else ("", "")
                    single = _Outcome(problems=[_problem(result, "marc.record_conflict",
                                                         {"source": source or "-", "control_number":
                                                          control_number or "-"})])
                outcome.add(single)
        MarcImportProblem.objects.bulk_create(
            [MarcImportProblem(marc_import_id=marc_import.pk, **problem) for problem in outcome.problems]
        )
        _write_records(marc_import.pk, outcome.records)
        last = batch[-1]
        marc_import.created += outcome.created
        marc_import.updated += outcome.updated
        marc_import.enriched += outcome.enriched
        marc_import.attached += outcome.attached
        marc_import.unchanged += outcome.unchanged
        marc_import.skipped += outcome.refused
        marc_import.warnings += outcome.warnings
        marc_import.records_read = last.number
        if last.next_offset is not None:
            marc_import.resume_offset = last.next_offset
        marc_import.save(update_fields=["created", "updated", "enriched", "attached", "unchanged", "skipped",
                                        "warnings", "records_read", "resume_offset"])


def _problem(result, code, params, *, level=ProblemLevel.REFUSED, control_number=""):
    return {
        "record_number": result.number,
        "byte_offset": result.byte_offset,
        "line": result.line,
        "control_number": (control_number or result.control_number)[:64],
        "level": level,
        "code": code,
        "params": params,
    }


def _store(context, batch):
    outcome = _Outcome()
    records = []
    for result in batch:
        control_number = result.data.control.get("001", "").strip() if result.ok else ""
        for code, params in result.warnings:
            outcome.problems.append(_problem(result, code, params, level=ProblemLevel.WARNING,
                                             control_number=control_number))
            outcome.warnings += 1
        if not result.ok:
            outcome.problems.append(_problem(result, result.problem_code, result.problem_params))
            continue
        full = result.data
        shared = shared_part(full)
        try:
            fields = title_fields_from(shared, result.marc if shared is full else shared_bytes(shared, result.marc))
        except BadRecord as error:
            outcome.problems.append(_problem(result, error.code, error.params, control_number=control_number))
            continue
        records.append(_Record(result, full, fields, lsb_title_id(full), holdings_count(full), shared is full))
    if not records:
        return outcome
    batch_state = _Batch(context, records)
    batch_state.run(outcome)
    return outcome


class _Batch:
    """Matches a batch's records with the titles they may be about (looked up with a
    few queries for the whole batch), decides per record what it may change, and
    writes it all."""

    def __init__(self, context, records):
        self.context = context
        self.records = records
        self._known = []
        self.by_id = {}
        self.by_identity = {}
        self.by_isbn = {}
        self.by_checksum = {}
        self.local = {}  # the importing library's stored local records: (source, 001) -> (title pk, checksum)
        self.local_match = {}  # ... and those this batch attached: (source, 001) -> title
        self.local_pending = {}  # key -> row to write
        self._load()

    # --- looking up ---------------------------------------------------------------

    def _load(self):
        origin = self.context.origin
        table = Title._meta.db_table
        columns = "t.id, t.owner_id, t.source, t.control_number, t.marc_checksum, t.isbns"
        by_source, own_numbers = {}, set()
        for record in self.records:
            if record.control_number:
                if record.source:
                    by_source.setdefault(record.source, set()).add(record.control_number)
                else:
                    own_numbers.add(record.control_number)
        isbns = sorted({isbn for record in self.records for isbn in record.fields["isbns"]})
        checksums = sorted({record.fields["marc_checksum"] for record in self.records})
        wanted_ids = {record.lsb_id for record in self.records if record.lsb_id}
        rows = []
        # Every look-up is one index probe per value (LATERAL ... LIMIT 1 on a unique index):
        # during a big import the table grows faster than its statistics, and a plan made
        # from them would read every title of a source for each batch.
        with connection.cursor() as cursor:
            for source, control_numbers in by_source.items():
                cursor.execute(
                    f"SELECT {columns} FROM unnest(%s::varchar(64)[]) AS wanted(number) CROSS JOIN LATERAL ("
                    f"SELECT * FROM {table} t WHERE t.source = %s AND t.control_number = wanted.number "
                    "AND NOT (t.control_number = '') AND NOT (t.source = '') LIMIT 1) t",
                    [sorted(control_numbers), source],
                )
                rows += cursor.fetchall()
            if own_numbers:
                owner = "t.owner_id IS NULL" if origin is None else "t.owner_id = %s"
                cursor.execute(
                    f"SELECT {columns} FROM unnest(%s::varchar(64)[]) AS wanted(number) CROSS JOIN LATERAL ("
                    f"SELECT * FROM {table} t WHERE {owner} AND t.control_number = wanted.number "
                    "AND NOT (t.control_number = '') AND t.source = '' LIMIT 1) t",
                    [sorted(own_numbers)] + ([] if origin is None else [origin]),
                )
                rows += cursor.fetchall()
            if origin is not None:
                identities = sorted({(record.source, record.control_number) for record in self.records
                                     if record.control_number})
                if identities:
                    cursor.execute(
                        "SELECT l.source, l.control_number, l.title_id, l.marc_checksum "
                        "FROM unnest(%s::varchar(64)[], %s::varchar(64)[]) AS wanted(source, number) "
                        "CROSS JOIN LATERAL (SELECT * FROM catalogue_localrecord l WHERE l.organisation_id = %s "
                        "AND l.source = wanted.source AND l.control_number = wanted.number "
                        "AND NOT (l.control_number = '') LIMIT 1) l",
                        [[source for source, _ in identities], [number for _, number in identities], origin])
                    for source, control_number, title_id, checksum in cursor.fetchall():
                        self.local[(source, control_number)] = (title_id, checksum)
                        wanted_ids.add(title_id)
            if isbns:
                # One index probe per ISBN: `isbns && <many ISBNs>` makes the planner scan the table.
                cursor.execute(
                    f"SELECT DISTINCT {columns} FROM unnest(%s::varchar(13)[]) AS wanted(isbn) "
                    f"JOIN {table} t ON t.isbns @> ARRAY[wanted.isbn]::varchar(13)[]",
                    [isbns],
                )
                rows += cursor.fetchall()
            if checksums:
                # No ORDER BY ... LIMIT here: for a checksum no title has, it would walk the primary key.
                cursor.execute(
                    f"SELECT {columns} FROM unnest(%s::varchar(40)[]) AS wanted(checksum) CROSS JOIN LATERAL ("
                    f"SELECT * FROM {table} t WHERE t.marc_checksum = wanted.checksum) t",
                    [checksums])
                rows += cursor.fetchall()
            wanted_ids -= {row[0] for row in rows}
            if wanted_ids:
                cursor.execute(f"SELECT {columns} FROM {table} t WHERE t.id = ANY(%s)", [sorted(wanted_ids)])
                rows += cursor.fetchall()
        unique = {row[0]: row for row in rows}
        for pk in sorted(unique):  # oldest first: the first title with an ISBN wins
            _, owner_id, source, control_number, checksum, isbns_of = unique[pk]
            self._register(_Known(pk=pk, owner_id=owner_id, source=source, control_number=control_number,
                                  marc_checksum=checksum, isbns=list(isbns_of)))

    def _register(self, known):
        known.key = len(self._known)
        self._known.append(known)
        if known.pk:
            self.by_id[known.pk] = known
        self._index(known)

    def _index(self, known):
        if known.control_number:
            self.by_identity.setdefault(known.identity, known)
        for isbn in known.isbns:
            self.by_isbn.setdefault(isbn, known)
        self.by_checksum.setdefault(known.marc_checksum, known)

    def match(self, record):
        """(title, rule) for a record, or (None, MatchRule.NONE)."""
        origin = self.context.origin
        if record.lsb_id and record.lsb_id in self.by_id:
            return self.by_id[record.lsb_id], MatchRule.LSB_NUMBER
        source, control_number = record.source, record.control_number
        if control_number:
            known = self.by_identity.get(_identity(source, origin, control_number))
            if known is not None:
                return known, MatchRule.IDENTITY
            if origin is not None:
                known = self.local_match.get((source, control_number))
                if known is None:
                    local = self.local.get((source, control_number))
                    known = self.by_id.get(local[0]) if local is not None else None
                if known is not None:
                    return known, MatchRule.LOCAL_RECORD
        own_source = _identity(source, origin, "")
        candidates = [
            known for isbn in record.fields["isbns"] if (known := self.by_isbn.get(isbn)) is not None
            if not (control_number and known.control_number and known.control_number != control_number
                    and _identity(known.source, known.owner_id, "") == own_source)
        ]
        if candidates:
            return min(candidates, key=lambda known: known.key), MatchRule.ISBN
        known = self.by_checksum.get(record.fields["marc_checksum"])
        if known is not None:
            return known, MatchRule.CONTENT
        return None, MatchRule.NONE

    def current_marc(self, known):
        if known.marc is None:
            known.marc = bytes(Title.objects.filter(pk=known.pk).values_list("marc", flat=True).get())
        return known.marc

    # --- deciding -----------------------------------------------------------------

    def run(self, outcome):
        new_titles = []
        decided = []  # (record, known, rule, title_outcome)
        for record in self.records:
            known, rule = self.match(record)
            if known is None:
                fields = dict(record.fields, owner_id=self.context.origin)
                known = _Known(pk=0, owner_id=self.context.origin, source=fields["source"],
                               control_number=fields["control_number"], marc_checksum=fields["marc_checksum"],
                               isbns=list(fields["isbns"]), marc=fields["marc"], fields=fields, is_new=True,
                               record_number=record.number)
                self._register(known)
                new_titles.append(known)
                decided.append((record, known, rule, RecordOutcome.CREATED))
            else:
                decided.append((record, known, rule, self._decide(record, known, rule)))
            self._local_record(record, known, rule)
        self._assign_ids(new_titles)
        local_changes = self._local_changes()
        for record, known, rule, title_outcome in decided:
            if title_outcome == RecordOutcome.UNCHANGED and local_changes.get(record.number):
                title_outcome = RecordOutcome.ATTACHED
            outcome.records.append((record.number, known.pk, rule, title_outcome))
            if title_outcome == RecordOutcome.CREATED:
                outcome.created += 1
            elif title_outcome in (RecordOutcome.UPDATED, RecordOutcome.TAKEN_OVER):
                outcome.updated += 1
            elif title_outcome == RecordOutcome.ENRICHED:
                outcome.enriched += 1
            elif title_outcome == RecordOutcome.ATTACHED:
                outcome.attached += 1
            else:
                outcome.unchanged += 1
        self._write(new_titles)

    def _decide(self, record, known, rule):
        """What a record does to the title it matched: replace its description (its own
        source), add what it lacks (another source, a library's title), or nothing."""
        context = self.context
        if context.may_replace(known.owner_id):
            fields = record.fields
            if not record.control_number and known.control_number:
                # A record without 001 keeps the title's identity.
                data = with_identity(shared_part(record.full), known.source, known.control_number)
                fields = title_fields_from(data, marc_bytes(data))
            # The national feed takes over a library's title even when it delivers the very same record.
            taking_over = context.origin is None and known.owner_id is not None
            if fields["marc_checksum"] == known.marc_checksum and not taking_over:
                return RecordOutcome.UNCHANGED
            owner_id = None if taking_over else known.owner_id
            change = TitleChange.TAKEN_OVER if taking_over else TitleChange.UPDATED
            self._change(known, dict(fields, owner_id=owner_id), change, record.number)
            return RecordOutcome.TAKEN_OVER if taking_over else RecordOutcome.UPDATED
        if known.owner_id is None:
            return RecordOutcome.UNCHANGED  # the national service's record: attached, never changed
        target = decode_stored(self.current_marc(known))
        added = enrichment(target, shared_part(record.full))
        if not added:
            return RecordOutcome.UNCHANGED
        data = enriched(target, added)
        fields = title_fields_from(data, marc_bytes(data))
        self._change(known, dict(fields, owner_id=known.owner_id), TitleChange.ENRICHED, record.number)
        return RecordOutcome.ENRICHED

    def _change(self, known, fields, change, record_number):
        if self.by_identity.get(known.identity) is known:
            del self.by_identity[known.identity]
        if known.fields is not None and not known.is_new:
            # Changed twice in one batch: the state in between is a version too.
            previous = known.fields
            known.versions.append({
                "owner_id": previous["owner_id"], "source": previous["source"],
                "control_number": previous["control_number"], "marc": previous["marc"],
                "marc_checksum": previous["marc_checksum"], "change": change, "record_number": record_number,
            })
        elif not known.is_new:
            known.change = change
            known.record_number = record_number
            if change == TitleChange.TAKEN_OVER:
                known.taken_from = known.owner_id
        known.owner_id = fields["owner_id"]
        known.source, known.control_number = fields["source"], fields["control_number"]
        known.marc_checksum = fields["marc_checksum"]
        known.isbns = list(dict.fromkeys(known.isbns + fields["isbns"]))
        known.marc = fields["marc"]
        known.fields = fields
        self._index(known)

    def _local_record(self, record, known, rule):
        """A library's record of a title keeps its own place beside the title (a
        LocalRecord): when the title's description is not this record, or when the
        record carried the library's holdings."""
        origin = self.context.origin
        if origin is None:
            return
        same_as_title = record.fields["marc_checksum"] == known.marc_checksum
        if record.is_shared and (same_as_title or known.owner_id == origin):
            return  # the record is the title's own description: nothing else to keep
        if rule == MatchRule.LSB_NUMBER and same_as_title:
            return  # the library's own LSB export, read back: the title's record and LSB's holdings
        full = record.result.marc
        if record.control_number:
            key = (record.source, record.control_number)
            self.local_match[key] = known
        else:
            key = ("#title", id(known))
        self.local_pending[key] = {
            "record_number": record.number, "known": known, "source": record.source,
            "control_number": record.control_number, "marc": full, "marc_checksum": hashlib.sha1(full).hexdigest(),
            "holdings": record.holdings,
        }

    def _assign_ids(self, new_titles):
        if not new_titles:
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                           [Title._meta.db_table, len(new_titles)])
            for known, (pk,) in zip(new_titles, cursor.fetchall()):
                known.pk = pk
                self.by_id[pk] = known

    def _local_changes(self):
        """{record number: True} for the records whose local record is new or changed;
        drops the pending rows that are stored as they are already."""
        if not self.local_pending:
            return {}
        unnumbered = [row["known"].pk for row in self.local_pending.values() if not row["control_number"]]
        stored_unnumbered = {}
        if unnumbered:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT title_id, marc_checksum FROM catalogue_localrecord WHERE organisation_id = %s "
                    "AND title_id = ANY(%s) AND control_number = ''", [self.context.origin, unnumbered])
                stored_unnumbered = dict(cursor.fetchall())
        changes = {}
        for key, row in list(self.local_pending.items()):
            if row["control_number"]:
                stored = self.local.get((row["source"], row["control_number"]))
            else:
                checksum = stored_unnumbered.get(row["known"].pk)
                stored = (row["known"].pk, checksum) if checksum else None
            if stored == (row["known"].pk, row["marc_checksum"]):
                del self.local_pending[key]
                continue
            changes[row["record_number"]] = True
        return changes

    # --- writing ------------------------------------------------------------------

    def _write(self, new_titles):
        """With COPY: three times faster than bulk_create (no model instances, one round
        trip), and the import must reach 1,500 records/s. Changed titles go through a
        temporary table: their previous versions are copied from it, then one UPDATE."""
        changed = [known for known in self._known if known.fields is not None and not known.is_new]
        table = Title._meta.db_table
        now = timezone.now()
        columns = ", ".join(_TITLE_FIELDS)
        context = self.context
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg's own cursor, for COPY
            if changed:
                cursor.execute(
                    f"CREATE TEMPORARY TABLE marc_import_changed ON COMMIT DROP AS "
                    f"SELECT id, {columns} FROM {table} WITH NO DATA"
                )
                cursor.execute("ALTER TABLE marc_import_changed ADD COLUMN change varchar(12), "
                               "ADD COLUMN record_number integer, ADD COLUMN taken_from bigint")
                with raw.copy(f"COPY marc_import_changed (id, {columns}, change, record_number, taken_from) "
                              "FROM STDIN") as copy:
                    for known in changed:
                        copy.write_row([known.pk] + _title_row(known.fields)
                                       + [known.change, known.record_number, known.taken_from])
                # Its size known, the joins below probe the titles by id instead of reading them all.
                cursor.execute("ANALYZE marc_import_changed")
                # A library whose description the national service took over keeps its record.
                cursor.execute(
                    "INSERT INTO catalogue_localrecord (title_id, organisation_id, source, control_number, marc, "
                    "marc_checksum, holdings, marc_import_id, created_at, updated_at) "
                    "SELECT t.id, changed.taken_from, t.source, t.control_number, t.marc, t.marc_checksum, 0, %s, "
                    "%s, %s FROM marc_import_changed changed JOIN catalogue_title t ON t.id = changed.id "
                    "WHERE changed.taken_from IS NOT NULL ON CONFLICT DO NOTHING",
                    [context.import_id, now, now],
                )
                cursor.execute(
                    "INSERT INTO catalogue_titleversion (title_id, owner_id, source, control_number, marc, "
                    "marc_checksum, change, changed_at, actor_ref, marc_import_id, organisation_id, record_number, "
                    "restored_by_ref) "
                    "SELECT t.id, t.owner_id, t.source, t.control_number, t.marc, t.marc_checksum, changed.change, "
                    "%s, %s, %s, %s, changed.record_number, '' "
                    "FROM marc_import_changed changed JOIN catalogue_title t ON t.id = changed.id",
                    [now, context.actor_ref, context.import_id, context.origin],
                )
                in_between = [(known.pk, version) for known in changed for version in known.versions]
                if in_between:
                    with raw.copy("COPY catalogue_titleversion (title_id, owner_id, source, control_number, marc, "
                                  "marc_checksum, change, changed_at, actor_ref, marc_import_id, organisation_id, "
                                  "record_number, restored_by_ref) FROM STDIN") as copy:
                        for pk, version in in_between:
                            copy.write_row([pk, version["owner_id"], version["source"], version["control_number"],
                                            version["marc"], version["marc_checksum"], version["change"], now,
                                            context.actor_ref, context.import_id, context.origin,
                                            version["record_number"], ""])
                assignments = ", ".join(f"{name} = changed.{name}" for name in _TITLE_FIELDS)
                cursor.execute(
                    f"UPDATE {table} t SET {assignments}, updated_at = %s FROM marc_import_changed changed "
                    "WHERE t.id = changed.id",
                    [now],
                )
                cursor.execute("DROP TABLE marc_import_changed")
            if new_titles:
                with raw.copy(f"COPY {table} (id, {columns}, created_at, updated_at) FROM STDIN") as copy:
                    for known in new_titles:
                        copy.write_row([known.pk] + _title_row(known.fields) + [now, now])
            if self.local_pending:
                self._write_local_records(cursor, now)

    def _write_local_records(self, cursor, now):
        """New local records straight in with COPY (batches write one at a time: nobody else
        adds this library's records meanwhile); changed ones through INSERT ... ON CONFLICT."""
        origin = self.context.origin
        columns = ("title_id, organisation_id, source, control_number, marc, marc_checksum, holdings, "
                   "marc_import_id, created_at, updated_at")
        fresh, rows = [], []
        for row in self.local_pending.values():
            values = [row["known"].pk, origin, row["source"], row["control_number"], row["marc"],
                      row["marc_checksum"], row["holdings"], self.context.import_id, now, now]
            known_number = row["control_number"] and (row["source"], row["control_number"]) in self.local
            (rows if known_number or not row["control_number"] else fresh).append(values)
        if fresh:
            with cursor.cursor.copy(f"COPY catalogue_localrecord ({columns}) FROM STDIN") as copy:
                for values in fresh:
                    copy.write_row(values)
        if not rows:
            return
        update = ("title_id = excluded.title_id, marc = excluded.marc, marc_checksum = excluded.marc_checksum, "
                  "holdings = excluded.holdings, marc_import_id = excluded.marc_import_id, "
                  "updated_at = excluded.updated_at")
        cursor.execute(
            f"CREATE TEMPORARY TABLE marc_import_local ON COMMIT DROP AS "
            f"SELECT {columns} FROM catalogue_localrecord WITH NO DATA")
        with cursor.cursor.copy(f"COPY marc_import_local ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO catalogue_localrecord ({columns}) SELECT {columns} FROM marc_import_local "
            "WHERE control_number <> '' "
            f"ON CONFLICT (organisation_id, source, control_number) WHERE NOT (control_number = '') "
            f"DO UPDATE SET {update}")
        cursor.execute(
            f"INSERT INTO catalogue_localrecord ({columns}) SELECT {columns} FROM marc_import_local "
            "WHERE control_number = '' "
            f"ON CONFLICT (organisation_id, title_id) WHERE control_number = '' DO UPDATE SET {update}")
        cursor.execute("DROP TABLE marc_import_local")


def _title_row(fields):
    return [Jsonb(fields[name]) if name == "contributors" else fields[name] for name in _TITLE_FIELDS]


def _write_records(import_id, records):
    """The per-record log (which title, by which rule, with what outcome), with COPY."""
    if not records:
        return
    with connection.cursor() as cursor:
        with cursor.cursor.copy("COPY catalogue_marcimportrecord (marc_import_id, record_number, title_id, rule, "
                                "outcome) FROM STDIN") as copy:
            for number, title_id, rule, outcome in records:
                copy.write_row([import_id, number, title_id, rule, outcome])


# --- restoring a version ------------------------------------------------------------------


def may_restore(actor, title, version):
    """A national cataloguer restores any version; a library's collection staff
    restore versions of the titles their library described, to a state that was
    their library's description too."""
    if not actor.is_staff:
        return False
    if is_national_cataloguer(actor.staff_user):
        return True
    organisation = actor.organisation
    return (organisation is not None and title.owner_id == organisation.pk and version.owner_id == organisation.pk
            and actor_has_role(actor, Role.COLLECTION))


def title_version_restore(*, actor, version_id):
    """Make a title's previous version current again (undo a change). The state it
    replaces is kept as a version of its own, so a restore can be undone too."""
    if connection.schema_name != get_public_schema_name():
        actor.require_current_library()
    version = TitleVersion.objects.filter(pk=version_id).first()
    if version is None:
        raise ServiceError("title_version.unknown")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [_LOCK_NAMESPACE_CATALOGUE])
        title = Title.objects.select_for_update().get(pk=version.title_id)
        if not may_restore(actor, title, version):
            raise ServiceError("title_version.not_allowed")
        now = timezone.now()
        TitleVersion.objects.create(
            title=title, owner_id=title.owner_id, source=title.source, control_number=title.control_number,
            marc=bytes(title.marc), marc_checksum=title.marc_checksum, change=TitleChange.RESTORED, changed_at=now,
            actor_ref=actor.ref, organisation=actor.organisation,
        )
        marc = bytes(version.marc)
        fields = title_fields_from(decode_stored(marc), marc)
        for name, value in fields.items():
            setattr(title, name, value)
        title.owner_id = version.owner_id
        try:
            with transaction.atomic():
                title.save()
        except IntegrityError:
            raise ServiceError("title_version.identity_taken", source=version.source or "-",
                               control_number=version.control_number) from None
        version.restored_at = now
        version.restored_by_ref = actor.ref
        version.save(update_fields=["restored_at", "restored_by_ref"])
    return title


"""A Celery task for tests/pooler, loaded into the test's worker with `-I`: run in a
library's schema by tenant-schemas-celery (the schema comes with the message), it
reads that library's members and writes what it saw into an audit row, so the test
can tell a read of another library's data and a row written into the wrong schema."""

from celery import shared_task
from django.db import connection, transaction


@shared_task(name="tests.pooler.probe")
def probe(marker, number):
    from members.models import AuditEntry, Member

    names = list(Member.objects.values_list("last_name", flat=True))
    with transaction.atomic():  # a write in a transaction, and one in autocommit below
        AuditEntry.objects.create(
            action=AuditEntry.Action.VIEW,
            detail={"probe": marker, "number": number, "schema": connection.schema_name, "phase": "atomic",
                    "foreign": [name for name in names if marker not in name]},
        )
    AuditEntry.objects.create(
        action=AuditEntry.Action.VIEW,
        detail={"probe": marker, "number": number, "schema": connection.schema_name, "phase": "autocommit",
                "foreign": []},
    )

"""Notices in the member's data export and in member erasure (members' registries)."""


def _when(value):
    from django.utils import timezone

    return timezone.localtime(value).strftime("%d-%m-%Y %H:%M") if value else None


def export_notices(member):
    from .models import Notice, NoticeKind

    return [
        {
            "Datum": _when(notice.sent_at or notice.printed_at or notice.created_at),
            "Soort": str(NoticeKind(notice.kind).label),
            "Per": str(Notice.Channel(notice.channel).label),
            "Onderwerp": notice.subject,
            "Status": str(Notice.Status(notice.status).label),
        }
        for notice in Notice.objects.filter(member_id=member.pk).order_by("created_at", "pk")
    ]


def erase_notices(*, record_ids):
    from .services import notices_erase

    notices_erase(record_ids=record_ids)


def anonymise_notices(*, returned_before, keep_member_ids):
    """Notices sent (or printed, cancelled, failed) before the retention period keep
    their kind, channel and dates; their text, which names titles ("ligt klaar:
    <title>"), and their address go (members who consented keep theirs)."""
    from .models import Notice, NoticeKind

    old = (Notice.objects.filter(created_at__date__lt=returned_before)
           .exclude(status__in=[Notice.Status.PENDING, Notice.Status.SENDING])
           .exclude(member_id__in=keep_member_ids).exclude(body="", to_address=""))
    changed = 0
    for kind, label in NoticeKind.choices:
        changed += old.filter(kind=kind).update(subject=str(label), body="", to_address="", error="")
    return changed


def register():
    from members.selectors.privacy import export_section_register
    from members.services.privacy import erasure_step_register, loan_history_anonymiser_register

    export_section_register(key="notices", title="Berichten", build=export_notices)
    erasure_step_register("notices", erase_notices)
    loan_history_anonymiser_register(key="notices", anonymise=anonymise_notices)

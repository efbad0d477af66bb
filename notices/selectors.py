"""Notice reads (in the connection's library schema)."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from .models import Notice, NoticeKind, NoticeSettings, NoticeTemplate

SETTINGS_PK = 1
# A notice claimed for sending this long ago and never marked sent may or may not have gone out.
SENDING_UNCERTAIN_AFTER = timedelta(minutes=15)


@dataclass
class TemplateText:
    kind: str
    subject: str
    body: str
    is_default: bool
    updated_at: object = None


def notice_template_get(kind):
    """The library's saved text for `kind`, else the built-in default (is_default True)."""
    from .rendering import DEFAULTS

    kind = NoticeKind(kind)
    saved = NoticeTemplate.objects.filter(kind=kind).first()
    if saved is not None:
        return TemplateText(kind=kind, subject=saved.subject, body=saved.body, is_default=False,
                            updated_at=saved.updated_at)
    subject, body = DEFAULTS[kind]
    return TemplateText(kind=kind, subject=subject, body=body, is_default=True)


def notice_templates():
    """Every kind with its current text, in the order of NoticeKind."""
    return [notice_template_get(kind) for kind in NoticeKind]


def notice_settings_get():
    """The library's NoticeSettings (the defaults, unsaved, until an admin saves them)."""
    return NoticeSettings.objects.filter(pk=SETTINGS_PK).first() or NoticeSettings(pk=SETTINGS_PK)


def _uncertain_condition(now=None):
    now = now or timezone.now()
    return Q(status=Notice.Status.SENDING, claimed_at__lt=now - SENDING_UNCERTAIN_AFTER)


def is_uncertain(notice, now=None):
    now = now or timezone.now()
    return (
        notice.status == Notice.Status.SENDING
        and notice.claimed_at is not None
        and notice.claimed_at < now - SENDING_UNCERTAIN_AFTER
    )


def _annotate(notices):
    now = timezone.now()
    for notice in notices:
        notice.uncertain = is_uncertain(notice, now)
        notice.status_label = "onzeker verzonden" if notice.uncertain else Notice.Status(notice.status).label
    return notices


def member_notices(member, limit=50):
    """The member's notices, newest first (with .uncertain and .status_label)."""
    return _annotate(list(Notice.objects.filter(member_id=member.pk).order_by("-created_at", "-pk")[:limit]))


def notices_recent(*, status=None, kind=None, limit=100):
    """This library's notices, newest first. `status` may also be "uncertain"."""
    notices = Notice.objects.select_related("member")
    if status == "uncertain":
        notices = notices.filter(_uncertain_condition())
    elif status:
        notices = notices.filter(status=status)
    if kind:
        notices = notices.filter(kind=kind)
    return _annotate(list(notices.order_by("-created_at", "-pk")[:limit]))


def notices_uncertain():
    """E-mail that may or may not have gone out: claimed for sending over 15 minutes
    ago and never marked sent (the worker stopped in between). Staff decide."""
    return _annotate(list(
        Notice.objects.select_related("member").filter(_uncertain_condition()).order_by("claimed_at", "pk")
    ))


def notices_failed():
    """E-mail that failed every attempt (the send run no longer retries it)."""
    from .services import MAX_ATTEMPTS

    return _annotate(list(
        Notice.objects.select_related("member")
        .filter(channel=Notice.Channel.EMAIL, status=Notice.Status.FAILED, attempts__gte=MAX_ATTEMPTS)
        .order_by("-created_at", "-pk")
    ))


def letters_to_print(branch=None):
    """Letters waiting to be printed (members without e-mail), oldest first; only
    those for `branch` when given (a Branch or its id)."""
    letters = Notice.objects.select_related("member").filter(
        channel=Notice.Channel.LETTER, status=Notice.Status.PENDING, member__erased_at__isnull=True
    )
    if branch is not None:
        letters = letters.filter(branch_id=getattr(branch, "pk", branch))
    return list(letters.order_by("created_at", "pk"))


def notice_get(notice_id):
    """One notice of this library, or None."""
    notice = Notice.objects.select_related("member").filter(pk=notice_id).first()
    return _annotate([notice])[0] if notice is not None else None

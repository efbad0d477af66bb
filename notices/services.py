"""Notice writes: queue, send (at most once), print letters, the library's texts and settings.

Every service takes the `actor` (core.actors) and runs in the schema of the
actor's library (`actor.require_current_library()`); the desk's and the library
administrator's actions check their role (`actor.no_role`). Refusals are
core.errors.ServiceError codes (notices/errors.py); a raising service changes nothing.

Dedupe keys. The caller names what a notice is about with a key that is unique
for the notice it means: "<kind>:<id>[:<date>]", where <id> is the object the
notice is about (a hold) or the member (a notice listing several loans), and the
date is what makes a new notice due (the due date, the day of the run):

    hold_ready:<hold id>                        the hold is ready to pick up
    due_soon:<member id>:<due date>             reminder for the member's loans due that day
    auto_renewal:<member id>:<run date>         result of that day's automatic renewal run
    overdue_<1-3>:<member id>:<run date>        that reminder level, listing the loans at it

Queueing the same key again (a task that runs twice, a retry) never makes a second
notice: notice_queue returns the existing one, with .queued_now False.

Sending is at most once: a notice is claimed (pending -> sending, committed) before
it is handed to the mail server and marked sent after. A worker that dies between
the two leaves it in "sending"; after SENDING_UNCERTAIN_AFTER it shows as
"onzeker verzonden" and is only sent again when staff choose to (notice_resend).
A send that fails with an error is tried again by the next run, up to MAX_ATTEMPTS.
"""

import functools
import logging
from email.utils import formataddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import capfirst

from core.errors import ServiceError, ServiceErrors
from staff.models import Role
from staff.permissions import require_role

from . import rendering
from .models import Notice, NoticeKind, NoticeSettings, NoticeTemplate
from .selectors import SENDING_UNCERTAIN_AFTER, SETTINGS_PK, is_uncertain, notice_settings_get, notice_template_get

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
SEND_BATCH_LIMIT = 1000  # notices per run at most; the next run (or task) sends the rest


# --- queueing ------------------------------------------------------------------------------------

def _member_context(member, *, library, branch, today):
    return {
        "naam": member.full_name,
        "voornaam": member.first_name,
        "pasnummer": member.card_number,
        "bibliotheek": library.name,
        "vestiging": branch.name if branch is not None else "",
        "datum": today,
    }


def _branch(branch_id, library):
    from tenants.models import Branch

    if branch_id is None:
        return None
    return Branch.objects.filter(pk=branch_id, organisation=library).first()


def notice_queue(*, actor, member, kind, dedupe_key, context, branch=None):
    """Queue one notice to `member` and return it (or the notice already queued under
    `dedupe_key`: calling this twice makes one notice only; `.queued_now` tells which).
    None when the member was erased or merged into another record (nothing is sent).

    `context` holds the kind's own placeholders (see notices.rendering.PER_KIND),
    e.g. {"titels": [{"titel": ..., "auteur": ..., "barcode": ..., "inleverdatum": date}],
    "inleverdatum": date}; the member's own (naam, voornaam, pasnummer, bibliotheek,
    vestiging, datum) are filled in here. `branch` (a Branch or its id) is what the
    notice is about (the pickup branch of a hold, the branch that lent the item);
    default the member's preferred branch. Letters are printed there.

    The text is rendered now with the library's template for `kind`. E-mail when the
    member has an e-mail address, else a letter to print. Sending is started when the
    caller's transaction commits (and the 5-minute beat run catches anything missed).

    `actor` is whoever's action makes the notice due (the desk that checked in a
    held copy, the nightly run): the notice records it. A member actor queues
    notices to themselves only."""
    library = actor.require_current_library()
    actor.require_member(member.pk)
    kind = NoticeKind(kind)
    if not dedupe_key or len(dedupe_key) > 200:
        raise ValueError("dedupe_key must be 1 to 200 characters")
    if member.erased_at is not None or member.merged_into_id is not None:
        return None
    existing = Notice.objects.filter(dedupe_key=dedupe_key).first()
    if existing is not None:
        existing.queued_now = False
        return existing
    branch_id = getattr(branch, "pk", branch) if branch is not None else member.preferred_branch_id
    branch_obj = _branch(branch_id, library)
    values = _member_context(member, library=library, branch=branch_obj, today=timezone.localdate())
    values.update(context or {})
    template = notice_template_get(kind)
    channel = Notice.Channel.EMAIL if member.email else Notice.Channel.LETTER
    with transaction.atomic():
        notice, created = Notice.objects.get_or_create(
            dedupe_key=dedupe_key,
            defaults={
                "member": member, "kind": kind, "channel": channel,
                "subject": rendering.render_subject(template.subject, values),
                "body": rendering.render(template.body, values),
                "to_address": member.email if channel == Notice.Channel.EMAIL else "",
                "branch_id": branch_obj.pk if branch_obj is not None else None,
                "actor_ref": actor.ref,
            },
        )
    notice.queued_now = created
    if created and channel == Notice.Channel.EMAIL:
        send_soon()
    return notice


def _enqueue_send(schema_name):
    from .tasks import notices_send_pending_library

    notices_send_pending_library.apply_async(headers={"_schema_name": schema_name})


def send_soon():
    """Send this library's pending e-mail once the current transaction commits (once per
    transaction, however many notices it queues). A broker that is down is logged, not
    raised: the beat run sends what is missed."""
    schema_name = connection.schema_name
    if connection.in_atomic_block:
        for entry in connection.run_on_commit:
            if getattr(entry[1], "notices_send_for", None) == schema_name:
                return
    callback = functools.partial(_enqueue_send, schema_name)
    callback.notices_send_for = schema_name
    transaction.on_commit(callback, robust=True)


# --- sending -----------------------------------------------------------------------------------

def _from_address(library):
    address = notice_settings_get().from_email or settings.DEFAULT_FROM_EMAIL
    return formataddr((library.name, address)) if "<" not in address else address


def _claim_next(after_pk):
    """Claim one pending e-mail notice (committed before it is sent), or None."""
    with transaction.atomic():
        notice = (
            Notice.objects.select_for_update(skip_locked=True)
            .filter(channel=Notice.Channel.EMAIL, status=Notice.Status.PENDING, pk__gt=after_pk)
            .order_by("pk")
            .first()
        )
        if notice is None:
            return None
        notice.status = Notice.Status.SENDING
        notice.claimed_at = timezone.now()
        notice.attempts += 1
        notice.save(update_fields=["status", "claimed_at", "attempts"])
    return notice


def _retry_failed():
    """Failed e-mail with attempts left goes back to pending for this run."""
    with transaction.atomic():
        return Notice.objects.filter(
            channel=Notice.Channel.EMAIL, status=Notice.Status.FAILED, attempts__lt=MAX_ATTEMPTS,
            member__erased_at__isnull=True,
        ).update(status=Notice.Status.PENDING)


def notices_send_pending(*, actor):
    """Send this library's pending e-mail notices, each at most once. Returns
    {"sent": n, "failed": n, "retried": n}. The actor is the process sending
    (Actor.system("notices") in the task).

    Must run outside a transaction (each claim and each result is committed on its own)."""
    library = actor.require_current_library()
    from_address = _from_address(library)
    counts = {"sent": 0, "failed": 0, "retried": _retry_failed()}
    mail_connection = None
    last_pk = 0
    for _ in range(SEND_BATCH_LIMIT):
        notice = _claim_next(last_pk)
        if notice is None:
            break
        last_pk = notice.pk
        try:
            if mail_connection is None:
                mail_connection = get_connection(fail_silently=False)
            EmailMessage(
                subject=notice.subject, body=notice.body, from_email=from_address, to=[notice.to_address],
                connection=mail_connection,
            ).send()
        except Exception as error:  # whatever the mail server (or backend) does: record it
            logger.warning("Notice %s to %s failed (attempt %d): %s", notice.pk, connection.schema_name,
                           notice.attempts, error)
            with transaction.atomic():
                Notice.objects.filter(pk=notice.pk, status=Notice.Status.SENDING).update(
                    status=Notice.Status.FAILED, error=f"{type(error).__name__}: {error}"[:2000]
                )
            counts["failed"] += 1
            if mail_connection is not None:
                try:
                    mail_connection.close()
                except Exception:
                    pass
                mail_connection = None
            continue
        with transaction.atomic():
            Notice.objects.filter(pk=notice.pk, status=Notice.Status.SENDING).update(
                status=Notice.Status.SENT, sent_at=timezone.now(), error=""
            )
        counts["sent"] += 1
    if mail_connection is not None:
        try:
            mail_connection.close()
        except Exception:
            pass
    return counts


def notice_resend(*, actor, notice_id):
    """Staff send an e-mail notice again that may not have arrived: one that failed
    every attempt, or one stuck in "sending" (onzeker verzonden). It goes back to
    pending with a fresh set of attempts; the send run picks it up."""
    actor.require_current_library()
    require_role(actor, Role.DESK)
    with transaction.atomic():
        notice = Notice.objects.select_for_update().select_related("member").filter(pk=notice_id).first()
        if notice is None:
            raise ServiceError("notice.not_found")
        if notice.channel != Notice.Channel.EMAIL:
            raise ServiceError("notice.resend_email_only")
        if notice.member.erased_at is not None:
            raise ServiceError("notice.member_erased")
        if not (is_uncertain(notice) or notice.status == Notice.Status.FAILED):
            raise ServiceError("notice.resend_not_allowed")
        notice.status = Notice.Status.PENDING
        notice.attempts = 0
        notice.claimed_at = None
        notice.resent_at = timezone.now()
        notice.resent_by = actor.user_or_none
        notice.resent_by_ref = actor.ref
        notice.save(update_fields=["status", "attempts", "claimed_at", "resent_at", "resent_by", "resent_by_ref"])
        send_soon()
    return notice


# --- letters -----------------------------------------------------------------------------------

def letters_mark_printed(*, actor, notice_ids):
    """Mark the pending letters among `notice_ids` as printed. Letters another desk
    already marked are left alone. Returns how many were marked."""
    actor.require_current_library()
    require_role(actor, Role.DESK)
    ids = [int(notice_id) for notice_id in notice_ids]
    with transaction.atomic():
        letters = list(
            Notice.objects.select_for_update()
            .filter(pk__in=ids, channel=Notice.Channel.LETTER, status=Notice.Status.PENDING)
            .values_list("pk", flat=True)
        )
        return Notice.objects.filter(pk__in=letters).update(
            status=Notice.Status.PRINTED, printed_at=timezone.now(), printed_by=actor.user_or_none,
            printed_by_ref=actor.ref,
        )


# --- the library's texts and settings ------------------------------------------------------------

def notice_template_save(*, actor, kind, subject, body):
    """Save the library's own text for `kind`, after checking it renders and uses
    only the kind's placeholders (every problem a code; nothing saved then)."""
    actor.require_current_library()
    require_role(actor, Role.LIBRARY_ADMIN)
    try:
        kind = NoticeKind(kind)
    except ValueError:
        raise ServiceError("notice_text.kind_unknown", field="kind") from None
    subject = subject.strip()
    body = body.replace("\r\n", "\n")
    errors = rendering.text_errors(kind=kind, subject=subject, body=body)
    if errors:
        raise ServiceErrors(errors)
    with transaction.atomic():
        template, _created = NoticeTemplate.objects.update_or_create(
            kind=kind,
            defaults={"subject": subject, "body": body, "updated_by": actor.user_or_none, "actor_ref": actor.ref},
        )
    return template


def notice_template_reset(*, actor, kind):
    """Go back to the built-in default text for `kind`."""
    actor.require_current_library()
    require_role(actor, Role.LIBRARY_ADMIN)
    kind = NoticeKind(kind)
    with transaction.atomic():
        NoticeTemplate.objects.filter(kind=kind).delete()
    return notice_template_get(kind)


def notice_settings_update(*, actor, due_soon_days_before, overdue_1_days, overdue_2_days, overdue_3_days,
                           from_email=""):
    """Save when reminders go out (days) and the sender address."""
    actor.require_current_library()
    require_role(actor, Role.LIBRARY_ADMIN)
    errors = []
    values = {
        "due_soon_days_before": due_soon_days_before, "overdue_1_days": overdue_1_days,
        "overdue_2_days": overdue_2_days, "overdue_3_days": overdue_3_days,
    }
    for name, value in values.items():
        if not isinstance(value, int) or value < 0 or value > 365:
            errors.append(ServiceError("notice_settings.days_out_of_range", field=name,
                                       label=capfirst(NoticeSettings._meta.get_field(name).verbose_name)))
    if not errors:
        if due_soon_days_before < 1:
            errors.append(ServiceError("notice_settings.due_soon_too_late", field="due_soon_days_before"))
        if overdue_1_days < 1:
            errors.append(ServiceError("notice_settings.overdue_1_too_early", field="overdue_1_days"))
        if not overdue_1_days < overdue_2_days < overdue_3_days:
            errors.append(ServiceError("notice_settings.overdue_order"))
    from_email = (from_email or "").strip()
    if from_email:
        try:
            validate_email(from_email)
        except ValidationError:
            errors.append(ServiceError("notice_settings.from_email_invalid", field="from_email"))
    if errors:
        raise ServiceErrors(errors)
    with transaction.atomic():
        NoticeSettings.objects.select_for_update().filter(pk=SETTINGS_PK).first()
        result, _created = NoticeSettings.objects.update_or_create(
            pk=SETTINGS_PK,
            defaults={**values, "from_email": from_email, "updated_by": actor.user_or_none, "actor_ref": actor.ref},
        )
    return result


# --- erasure ----------------------------------------------------------------------------------

def notices_erase(*, record_ids):
    """Member erasure step: blank the notices' texts and addresses; what was not sent
    yet is cancelled. Runs inside member_erase's transaction."""
    Notice.objects.filter(
        member_id__in=record_ids, status__in=[Notice.Status.PENDING, Notice.Status.FAILED]
    ).update(status=Notice.Status.CANCELLED)
    return Notice.objects.filter(member_id__in=record_ids).update(
        subject="(gewist)", body="", to_address="", error=""
    )


__all__ = [
    "MAX_ATTEMPTS", "SENDING_UNCERTAIN_AFTER", "letters_mark_printed", "notice_queue", "notice_resend",
    "notice_settings_update", "notice_template_reset", "notice_template_save", "notices_erase",
    "notices_send_pending", "send_soon",
]

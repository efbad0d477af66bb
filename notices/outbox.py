"""Steps other libraries ask of this library's notices through the outbox
(tenants.outbox): they run in this library's schema with a system actor."""

import datetime

from django.utils.translation import gettext_lazy as _

from members.models import Member
from tenants.outbox import outbox_handler

from .models import NoticeKind
from .services import notice_queue

# The kinds a lending library may ask to send to one of our members who borrowed there as a guest.
GUEST_KINDS = (NoticeKind.DUE_SOON, NoticeKind.OVERDUE_1, NoticeKind.OVERDUE_2, NoticeKind.OVERDUE_3)
# Placeholders that are dates (they travel as ISO text).
DATE_FIELDS = ("inleverdatum", "uiterste_ophaaldatum")


def _live_record(member_id):
    member = Member.objects.filter(pk=member_id).first()
    seen = set()
    while member is not None and member.merged_into_id is not None and member.pk not in seen:
        seen.add(member.pk)
        member = Member.objects.filter(pk=member.merged_into_id).first()
    return member


TEXT_MAX = 200  # tenants.outbox: payload texts are references, not documents


def notice_payload(context):
    """A notice context as a flat outbox payload: scalars (dates as ISO text) and the
    titles' fields as parallel lists ("titels.titel": [...], ...); notice_context
    turns it back."""
    def plain(value):
        if isinstance(value, datetime.date):
            return value.isoformat()
        return value[:TEXT_MAX] if isinstance(value, str) else value

    out = {key: plain(value) for key, value in context.items() if key != "titels"}
    rows = context.get("titels", [])
    for name in dict.fromkeys(name for row in rows for name in row):
        out[f"titels.{name}"] = [plain(row.get(name)) for row in rows]
    return out


def notice_context(payload):
    """The notice context of notice_payload's flat payload, with its dates back."""
    def typed(key, value):
        return datetime.date.fromisoformat(value) if key in DATE_FIELDS and value else value

    context = {key: typed(key, value) for key, value in payload.items() if not key.startswith("titels.")}
    columns = {key.removeprefix("titels."): values for key, values in payload.items() if key.startswith("titels.")}
    if columns:
        count = max(len(values) for values in columns.values())
        context["titels"] = [{name: typed(name, values[index] if index < len(values) else None)
                              for name, values in columns.items()} for index in range(count)]
    return context


@outbox_handler("notices.guest_notice", label=_("Bericht over een gastlening aan een lid thuis"))
def guest_notice(*, actor, payload):
    """A notice about loans at another library (the member borrowed there as a
    guest), sent by us, the home library, which holds the member's address. The
    lending library names itself (bibliotheek, vestiging: where to bring it back);
    the member's own placeholders are filled in here. Sent once per `key`.

    payload: {"member": <member id here>, "kind": due_soon / overdue_1..3, "key": the
              lending library's unique name for this notice, and the kind's
              placeholders as notice_payload writes them ("context.<name>"), incl.
              bibliotheek and vestiging}"""
    kind = NoticeKind(payload["kind"])
    if kind not in GUEST_KINDS:
        raise ValueError(f"a lending library cannot ask for a {kind} notice")
    member = _live_record(payload["member"])
    if member is None:
        return None  # no longer a member here: nobody to tell
    context = notice_context({key.removeprefix("context."): value for key, value in payload.items()
                              if key.startswith("context.")})
    return notice_queue(actor=actor, member=member, kind=kind, dedupe_key=f"guest:{payload['key']}"[:200],
                        context=context)

"""Notices in the member's data export, and blanked when the member is erased
(through the erasure step registry of members.services.privacy)."""

import pytest
from django.core.exceptions import ValidationError

from core.actors import Actor
from members.models import Member
from members.services import privacy
from notices import services
from notices.models import Notice

from .conftest import notice_member, system_actor, titles_context

pytestmark = pytest.mark.django_db


def test_export_lists_the_notices(in_alpha, staff):
    member = notice_member()
    services.notice_queue(actor=system_actor(), member=member, kind="due_soon", dedupe_key="x1",
                          context=titles_context())
    data = privacy.member_export(actor=Actor.staff(staff.alpha_desk, in_alpha), member=member,
                                 export_format="json")
    section = next(part for part in data["onderdelen"] if part["sleutel"] == "notices")
    assert section["titel"] == "Berichten"
    assert [(row["Soort"], row["Per"], row["Status"]) for row in section["gegevens"]] == [
        ("Herinnering inleverdatum", "E-mail", "Wacht")]
    assert section["gegevens"][0]["Onderwerp"].startswith("Herinnering")


def test_erasure_blanks_the_notices_and_cancels_what_was_not_sent(in_alpha, staff):
    member = notice_member(email="weg@example.nl")
    duplicate = notice_member(email="oud@example.nl", merged_into=member)
    other = notice_member()
    pending = services.notice_queue(actor=system_actor(), member=member, kind="due_soon", dedupe_key="a",
                                    context=titles_context())
    sent = services.notice_queue(actor=system_actor(), member=member, kind="overdue_1", dedupe_key="b",
                                 context=titles_context())
    Notice.objects.filter(pk=sent.pk).update(status="sent")
    Notice.objects.create(member=duplicate, kind="due_soon", channel="email", dedupe_key="c", subject="Oud",
                          body="Beste oud", to_address="oud@example.nl", status="sent")
    kept = services.notice_queue(actor=system_actor(), member=other, kind="due_soon", dedupe_key="d",
                                 context=titles_context())
    privacy.member_erase(actor=Actor.staff(staff.alpha_desk, in_alpha), member_id=member.pk)
    erased = Notice.objects.filter(member_id__in=[member.pk, duplicate.pk])
    assert erased.count() == 3
    assert set(erased.values_list("subject", "body", "to_address")) == {("(gewist)", "", "")}
    assert dict(erased.values_list("dedupe_key", "status")) == {"a": "cancelled", "b": "sent", "c": "sent"}
    kept.refresh_from_db()
    assert kept.body and kept.to_address and kept.status == "pending"
    assert Notice.objects.get(pk=pending.pk).status == "cancelled"


def test_erasure_steps_run_inside_the_erasure_transaction(in_alpha, staff):
    member = notice_member()
    duplicate = notice_member(merged_into=member)
    seen = []

    def record(*, record_ids):
        seen.append(sorted(record_ids))

    def refuse(*, record_ids):
        raise ValidationError("Stap mislukt")

    privacy.erasure_step_register("test-record", record)
    try:
        privacy.erasure_step_register("test-refuse", refuse)
        try:
            with pytest.raises(ValidationError):
                privacy.member_erase(actor=Actor.staff(staff.alpha_desk, in_alpha), member_id=member.pk)
        finally:
            privacy.erasure_step_unregister("test-refuse")
        assert Member.objects.get(pk=member.pk).erased_at is None  # a failing step erases nothing
        privacy.member_erase(actor=Actor.staff(staff.alpha_desk, in_alpha), member_id=member.pk)
    finally:
        privacy.erasure_step_unregister("test-record")
    assert seen[-1] == sorted([member.pk, duplicate.pk])
    assert Member.objects.get(pk=member.pk).erased_at is not None

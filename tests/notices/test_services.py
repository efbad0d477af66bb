"""Queueing, rendering, the library's texts and settings, and sending at most once
(Django's locmem mail backend through pytest-django's mailoutbox)."""

import datetime
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from notices import selectors, services
from notices.models import Notice, NoticeKind, NoticeSettings, NoticeTemplate

from .conftest import notice_member, titles_context

pytestmark = pytest.mark.django_db


class FailingBackend(BaseEmailBackend):
    """A mail server that refuses everything."""

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP-server weigert de verbinding")


def queue(member, key="due_soon:loan:1:2026-06-12", kind=NoticeKind.DUE_SOON, **context):
    return services.notice_queue(member=member, kind=kind, dedupe_key=key, context=titles_context(**context))


# --- queueing and rendering -------------------------------------------------------------

def test_queue_twice_makes_one_notice(in_alpha):
    member = notice_member(first_name="Noor")
    first = queue(member)
    second = queue(member)
    assert second.pk == first.pk
    assert first.queued_now and not second.queued_now
    assert Notice.objects.filter(dedupe_key="due_soon:loan:1:2026-06-12").count() == 1
    assert first.channel == Notice.Channel.EMAIL and first.to_address == member.email
    assert first.status == Notice.Status.PENDING


def test_queue_renders_the_default_text_with_member_and_context(in_alpha):
    member = notice_member(first_name="Noor", card_number="NOTICE0001")
    notice = queue(member)
    assert notice.subject == "Herinnering: inleverdatum 12 juni 2026"
    assert notice.body.startswith("Beste Noor,\n")
    assert "- De avonden (Gerard Reve), inleverdatum 12 juni 2026" in notice.body
    assert "NOTICE0001" in notice.body and in_alpha.name in notice.body
    # Plain text: nothing is HTML-escaped.
    member2 = notice_member(first_name="Ben & Co")
    assert queue(member2, key="due_soon:loan:2:x").body.startswith("Beste Ben & Co,")


def test_queue_uses_the_library_text_and_the_branch(in_alpha, staff):
    branch = in_alpha.branches.order_by("name").first()
    services.notice_template_save(
        staff_user=staff.alpha_library_admin, kind=NoticeKind.HOLD_READY,
        subject="Klaar: {{ titels.0.titel }}",
        body="Hallo {{ naam }} ({{ pasnummer }}), ophalen in {{ vestiging }} tot {{ uiterste_ophaaldatum|date:'d-m-Y' }}."
             "{% for t in titels %} [{{ t.barcode }}]{% endfor %}",
    )
    member = notice_member(first_name="Noor", last_name="Bakker", card_number="NOTICE0002")
    notice = services.notice_queue(
        member=member, kind="hold_ready", dedupe_key="hold_ready:hold:1", branch=branch,
        context={"titels": [{"titel": "Max Havelaar", "barcode": "300123", "uiterste_ophaaldatum": "x"}],
                 "uiterste_ophaaldatum": datetime.date(2026, 6, 5)},
    )
    assert notice.subject == "Klaar: Max Havelaar"
    assert notice.body == f"Hallo Noor Bakker (NOTICE0002), ophalen in {branch.name} tot 05-06-2026. [300123]"
    assert notice.branch_id == branch.pk


def test_member_without_email_gets_a_letter(in_alpha):
    member = notice_member(email="")
    notice = queue(member)
    assert notice.channel == Notice.Channel.LETTER and notice.to_address == ""
    assert selectors.letters_to_print() == [notice]


def test_erased_and_merged_members_get_nothing(in_alpha):
    erased = notice_member(erased_at=timezone.now())
    kept = notice_member()
    merged = notice_member(merged_into=kept)
    assert queue(erased, key="a") is None
    assert queue(merged, key="b") is None
    assert not Notice.objects.exists()


def test_sending_starts_once_per_transaction_after_commit(in_alpha, django_capture_on_commit_callbacks):
    from notices import tasks

    member = notice_member()
    letter_member = notice_member(email="")
    with mock.patch.object(tasks.notices_send_pending_library, "apply_async") as send:
        with django_capture_on_commit_callbacks(execute=True):
            queue(member, key="k1")
            queue(member, key="k2")
            queue(letter_member, key="k3")
            assert send.call_count == 0  # not before the commit
    assert send.call_count == 1
    assert send.call_args.kwargs["headers"] == {"_schema_name": in_alpha.schema_name}


def test_letters_alone_start_no_sending(in_alpha, django_capture_on_commit_callbacks):
    from notices import tasks

    with mock.patch.object(tasks.notices_send_pending_library, "apply_async") as send:
        with django_capture_on_commit_callbacks(execute=True):
            queue(notice_member(email=""), key="k1")
    send.assert_not_called()


# --- the library's texts ------------------------------------------------------------------

@pytest.mark.parametrize("body, message", [
    ("Beste {{ naam }, {% if %}", "fout in de opmaak"),
    ("Beste {{ naam }}, {% for t in titels %}", "fout in de opmaak"),
    ("Beste {{ wachtwoord }}", "Onbekende plaatshouder {{ wachtwoord }}"),
    ("{% for t in titels %}{{ t.prijs }}{% endfor %}", "Onbekend veld 'prijs'"),
    ("{% include 'base.html' %}", "De opdracht {% include %} is niet toegestaan"),
    ("{% load static %}{% static 'x' %}", "De opdracht {% load %} is niet toegestaan"),
    ("Boete: {{ boete }}", "Onbekende plaatshouder {{ boete }}"),  # not a placeholder of due_soon
])
def test_a_bad_text_is_refused_in_dutch_and_nothing_is_saved(in_alpha, staff, body, message):
    with pytest.raises(ValidationError) as refused:
        services.notice_template_save(staff_user=staff.alpha_library_admin, kind="due_soon", subject="Herinnering",
                                      body=body)
    assert any(message in text for text in refused.value.messages), refused.value.messages
    assert not NoticeTemplate.objects.exists()
    assert selectors.notice_template_get("due_soon").is_default


def test_a_bad_text_leaves_the_saved_text_alone(in_alpha, staff):
    services.notice_template_save(staff_user=staff.alpha_library_admin, kind="overdue_1", subject="Aanmaning",
                                  body="Boete {{ boete }}")
    with pytest.raises(ValidationError):
        services.notice_template_save(staff_user=staff.alpha_library_admin, kind="overdue_1", subject="",
                                      body="{{ onbekend }}")
    saved = selectors.notice_template_get("overdue_1")
    assert (saved.subject, saved.body, saved.is_default) == ("Aanmaning", "Boete {{ boete }}", False)
    services.notice_template_reset("overdue_1")
    assert selectors.notice_template_get("overdue_1").is_default


def test_every_default_text_is_valid_for_its_kind():
    from notices.rendering import DEFAULTS, text_problems

    assert set(DEFAULTS) == set(NoticeKind)
    for kind, (subject, body) in DEFAULTS.items():
        assert text_problems(kind=kind, subject=subject, body=body) == [], kind


# --- settings -----------------------------------------------------------------------------

def test_settings_defaults_and_update(in_alpha, staff):
    current = selectors.notice_settings_get()
    assert (current.due_soon_days_before, current.overdue_1_days, current.overdue_2_days,
            current.overdue_3_days) == (3, 7, 21, 42)
    services.notice_settings_update(staff_user=staff.alpha_library_admin, due_soon_days_before=2, overdue_1_days=5,
                                    overdue_2_days=10, overdue_3_days=30, from_email="post@alpha.example")
    saved = NoticeSettings.objects.get(pk=1)
    assert (saved.overdue_2_days, saved.from_email) == (10, "post@alpha.example")


def test_settings_must_increase(in_alpha, staff):
    with pytest.raises(ValidationError) as refused:
        services.notice_settings_update(staff_user=None, due_soon_days_before=3, overdue_1_days=21,
                                        overdue_2_days=7, overdue_3_days=42, from_email="geen-adres")
    assert any("eerste vóór tweede vóór derde" in text for text in refused.value.messages)
    assert any("geen geldig e-mailadres" in text for text in refused.value.messages)
    assert not NoticeSettings.objects.exists()


# --- sending ---------------------------------------------------------------------------------

def test_send_exactly_once_even_when_the_run_runs_twice(in_alpha, mailoutbox):
    member = notice_member()
    notice = queue(member)
    assert services.notices_send_pending() == {"sent": 1, "failed": 0, "retried": 0}
    assert services.notices_send_pending() == {"sent": 0, "failed": 0, "retried": 0}
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [member.email] and mail.subject == notice.subject and mail.body == notice.body
    assert in_alpha.name in mail.from_email
    notice.refresh_from_db()
    assert notice.status == Notice.Status.SENT and notice.sent_at and notice.attempts == 1


def test_letters_are_never_mailed(in_alpha, mailoutbox):
    queue(notice_member(email=""))
    services.notices_send_pending()
    assert mailoutbox == []


def test_from_address_of_the_library(in_alpha, mailoutbox, staff):
    services.notice_settings_update(staff_user=None, due_soon_days_before=3, overdue_1_days=7, overdue_2_days=21,
                                    overdue_3_days=42, from_email="post@alpha.example")
    queue(notice_member())
    services.notices_send_pending()
    assert mailoutbox[0].from_email == f"{in_alpha.name} <post@alpha.example>"


def test_a_notice_claimed_by_a_dead_worker_is_not_resent_and_is_uncertain(in_alpha, mailoutbox, staff):
    stuck = queue(notice_member(), key="stuck")
    recent = queue(notice_member(), key="recent")
    Notice.objects.filter(pk=stuck.pk).update(status="sending", attempts=1,
                                              claimed_at=timezone.now() - datetime.timedelta(minutes=16))
    Notice.objects.filter(pk=recent.pk).update(status="sending", attempts=1,
                                               claimed_at=timezone.now() - datetime.timedelta(minutes=2))
    services.notices_send_pending()
    assert mailoutbox == []
    assert [notice.pk for notice in selectors.notices_uncertain()] == [stuck.pk]
    assert selectors.notice_get(stuck.pk).status_label == "onzeker verzonden"
    assert selectors.notice_get(recent.pk).status_label == "Wordt verzonden"
    with pytest.raises(ValidationError):  # still within the 15 minutes: it may be going out right now
        services.notice_resend(notice_id=recent.pk, staff_user=staff.alpha_desk)
    # Staff choose to send it again.
    services.notice_resend(notice_id=stuck.pk, staff_user=staff.alpha_desk)
    services.notices_send_pending()
    assert len(mailoutbox) == 1
    stuck.refresh_from_db()
    assert stuck.status == "sent" and stuck.resent_by_id == staff.alpha_desk.pk
    with pytest.raises(ValidationError):  # sent: nothing to resend
        services.notice_resend(notice_id=stuck.pk, staff_user=staff.alpha_desk)


def test_a_failed_send_is_retried_then_sent(in_alpha, mailoutbox, settings):
    notice = queue(notice_member())
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    assert services.notices_send_pending()["failed"] == 1
    notice.refresh_from_db()
    assert notice.status == "failed" and notice.attempts == 1 and "weigert" in notice.error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert services.notices_send_pending() == {"sent": 1, "failed": 0, "retried": 1}
    notice.refresh_from_db()
    assert notice.status == "sent" and notice.attempts == 2 and notice.error == ""
    assert len(mailoutbox) == 1


def test_a_send_that_keeps_failing_stops_after_three_attempts(in_alpha, mailoutbox, settings, staff):
    notice = queue(notice_member())
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    for _ in range(5):
        services.notices_send_pending()
    notice.refresh_from_db()
    assert notice.status == "failed" and notice.attempts == services.MAX_ATTEMPTS
    assert [failed.pk for failed in selectors.notices_failed()] == [notice.pk]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    services.notices_send_pending()
    assert mailoutbox == []  # not retried on its own any more
    services.notice_resend(notice_id=notice.pk, staff_user=staff.alpha_desk)
    services.notices_send_pending()
    assert len(mailoutbox) == 1


def test_one_failure_does_not_stop_the_others(in_alpha, mailoutbox):
    first = queue(notice_member(), key="one")
    second = queue(notice_member(), key="two")
    calls = []

    def flaky(self, messages):
        calls.append(messages[0].to)
        if len(calls) == 1:
            raise OSError("verbinding verbroken")
        mailoutbox.extend(messages)
        return len(messages)

    with mock.patch("django.core.mail.backends.locmem.EmailBackend.send_messages", flaky):
        assert services.notices_send_pending() == {"sent": 1, "failed": 1, "retried": 0}
    statuses = dict(Notice.objects.values_list("pk", "status"))
    assert statuses == {first.pk: "failed", second.pk: "sent"}


# --- letters -------------------------------------------------------------------------------------

def test_letters_mark_printed(in_alpha, staff):
    branches = list(in_alpha.branches.order_by("name"))
    one = services.notice_queue(member=notice_member(email=""), kind="overdue_1", dedupe_key="l1",
                                context=titles_context(), branch=branches[0])
    two = services.notice_queue(member=notice_member(email=""), kind="overdue_1", dedupe_key="l2",
                                context=titles_context(), branch=branches[0].pk)
    emailed = queue(notice_member(), key="e1")
    assert selectors.letters_to_print(branch=branches[0]) == [one, two]
    assert services.letters_mark_printed(notice_ids=[one.pk, emailed.pk], staff_user=staff.alpha_desk) == 1
    assert services.letters_mark_printed(notice_ids=[one.pk], staff_user=staff.alpha_desk) == 0
    one.refresh_from_db()
    assert one.status == "printed" and one.printed_by_id == staff.alpha_desk.pk and one.printed_at
    assert selectors.letters_to_print() == [two]
    assert Notice.objects.get(pk=emailed.pk).status == "pending"


def test_member_notices_newest_first(in_alpha):
    member = notice_member()
    older = queue(member, key="a")
    newer = queue(member, key="b")
    Notice.objects.filter(pk=older.pk).update(created_at=timezone.now() - datetime.timedelta(days=1))
    assert [notice.pk for notice in selectors.member_notices(member)] == [newer.pk, older.pk]
    assert len(selectors.member_notices(member, limit=1)) == 1

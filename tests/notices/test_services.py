"""Queueing, rendering, the library's texts and settings, and sending at most once
(Django's locmem mail backend through pytest-django's mailoutbox)."""

import datetime
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from core.actors import Actor
from core.errors import error_codes
from notices import selectors, services
from notices.models import Notice, NoticeKind, NoticeSettings, NoticeTemplate

from .conftest import notice_member, system_actor, titles_context

pytestmark = pytest.mark.django_db


class FailingBackend(BaseEmailBackend):
    """A mail server that refuses everything."""

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP-server weigert de verbinding")


def queue(member, key="due_soon:loan:1:2026-06-12", kind=NoticeKind.DUE_SOON, **context):
    return services.notice_queue(actor=system_actor(), member=member, kind=kind, dedupe_key=key,
                                 context=titles_context(**context))


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
        actor=Actor.staff(staff.alpha_library_admin), kind=NoticeKind.HOLD_READY,
        subject="Klaar: {{ titels.0.titel }}",
        body="Hallo {{ naam }} ({{ pasnummer }}), ophalen in {{ vestiging }} tot {{ uiterste_ophaaldatum|date:'d-m-Y' }}."
             "{% for t in titels %} [{{ t.barcode }}]{% endfor %}",
    )
    member = notice_member(first_name="Noor", last_name="Bakker", card_number="NOTICE0002")
    notice = services.notice_queue(
        actor=system_actor(), member=member, kind="hold_ready", dedupe_key="hold_ready:hold:1", branch=branch,
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

@pytest.mark.parametrize("body, message, code", [
    ("Beste {{ naam }, {% if %}", "fout in de opmaak", "notice_text.syntax"),
    ("Beste {{ naam }}, {% for t in titels %}", "fout in de opmaak", "notice_text.syntax"),
    ("Beste {{ wachtwoord }}", "Tekst: Onbekende plaatshouder {{ wachtwoord }}", "notice_text.unknown_placeholder"),
    ("{% for t in titels %}{{ t.prijs }}{% endfor %}", "Onbekend veld 'prijs'", "notice_text.unknown_field"),
    ("{% include 'base.html' %}", "Tekst: De opdracht {% include %} is niet toegestaan",
     "notice_text.tag_not_allowed"),
    ("{% load static %}{% static 'x' %}", "De opdracht {% load %} is niet toegestaan", "notice_text.tag_not_allowed"),
    # not a placeholder of due_soon
    ("Boete: {{ boete }}", "Onbekende plaatshouder {{ boete }}", "notice_text.unknown_placeholder"),
])
def test_a_bad_text_is_refused_in_dutch_and_nothing_is_saved(in_alpha, staff, body, message, code):
    with pytest.raises(ValidationError) as refused:
        services.notice_template_save(actor=Actor.staff(staff.alpha_library_admin), kind="due_soon",
                                      subject="Herinnering", body=body)
    assert any(message in text for text in refused.value.messages), refused.value.messages
    assert code in error_codes(refused.value)
    assert not NoticeTemplate.objects.exists()
    assert selectors.notice_template_get("due_soon").is_default


def test_a_bad_text_leaves_the_saved_text_alone(in_alpha, staff):
    services.notice_template_save(actor=Actor.staff(staff.alpha_library_admin), kind="overdue_1", subject="Aanmaning",
                                  body="Boete {{ boete }}")
    with pytest.raises(ValidationError) as refused:
        services.notice_template_save(actor=Actor.staff(staff.alpha_library_admin), kind="overdue_1", subject="",
                                      body="{{ onbekend }}")
    assert error_codes(refused.value) == ["notice_text.subject_missing", "notice_text.unknown_placeholder"]
    assert refused.value.messages[0] == "Vul een onderwerp in."
    assert [error.field for error in refused.value.errors] == ["subject", "body"]
    saved = selectors.notice_template_get("overdue_1")
    assert (saved.subject, saved.body, saved.is_default) == ("Aanmaning", "Boete {{ boete }}", False)
    services.notice_template_reset(actor=Actor.staff(staff.alpha_library_admin), kind="overdue_1")
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
    services.notice_settings_update(actor=Actor.staff(staff.alpha_library_admin), due_soon_days_before=2,
                                    overdue_1_days=5, overdue_2_days=10, overdue_3_days=30,
                                    from_email="post@alpha.example")
    saved = NoticeSettings.objects.get(pk=1)
    assert (saved.overdue_2_days, saved.from_email) == (10, "post@alpha.example")


def test_settings_must_increase(in_alpha, staff):
    with pytest.raises(ValidationError) as refused:
        services.notice_settings_update(actor=Actor.staff(staff.alpha_library_admin), due_soon_days_before=3,
                                        overdue_1_days=21, overdue_2_days=7, overdue_3_days=42, from_email="geen-adres")
    assert any("eerste vóór tweede vóór derde" in text for text in refused.value.messages)
    assert any("geen geldig e-mailadres" in text for text in refused.value.messages)
    assert error_codes(refused.value) == ["notice_settings.overdue_order", "notice_settings.from_email_invalid"]
    with pytest.raises(ValidationError) as refused:
        services.notice_settings_update(actor=Actor.staff(staff.alpha_library_admin), due_soon_days_before=0,
                                        overdue_1_days=400, overdue_2_days=7, overdue_3_days=42)
    assert refused.value.messages == [
        "Eerste aanmaning, dagen na de inleverdatum: geef een aantal dagen van 0 tot en met 365."]
    assert error_codes(refused.value) == ["notice_settings.days_out_of_range"]
    assert not NoticeSettings.objects.exists()


# --- sending ---------------------------------------------------------------------------------

def test_send_exactly_once_even_when_the_run_runs_twice(in_alpha, mailoutbox):
    member = notice_member()
    notice = queue(member)
    assert services.notices_send_pending(actor=system_actor()) == {"sent": 1, "failed": 0, "retried": 0}
    assert services.notices_send_pending(actor=system_actor()) == {"sent": 0, "failed": 0, "retried": 0}
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [member.email] and mail.subject == notice.subject and mail.body == notice.body
    assert in_alpha.name in mail.from_email
    notice.refresh_from_db()
    assert notice.status == Notice.Status.SENT and notice.sent_at and notice.attempts == 1


def test_letters_are_never_mailed(in_alpha, mailoutbox):
    queue(notice_member(email=""))
    services.notices_send_pending(actor=system_actor())
    assert mailoutbox == []


def test_from_address_of_the_library(in_alpha, mailoutbox, staff):
    services.notice_settings_update(actor=Actor.staff(staff.alpha_library_admin), due_soon_days_before=3,
                                    overdue_1_days=7, overdue_2_days=21, overdue_3_days=42,
                                    from_email="post@alpha.example")
    queue(notice_member())
    services.notices_send_pending(actor=system_actor())
    assert mailoutbox[0].from_email == f"{in_alpha.name} <post@alpha.example>"


def test_a_notice_claimed_by_a_dead_worker_is_not_resent_and_is_uncertain(in_alpha, mailoutbox, staff):
    stuck = queue(notice_member(), key="stuck")
    recent = queue(notice_member(), key="recent")
    Notice.objects.filter(pk=stuck.pk).update(status="sending", attempts=1,
                                              claimed_at=timezone.now() - datetime.timedelta(minutes=16))
    Notice.objects.filter(pk=recent.pk).update(status="sending", attempts=1,
                                               claimed_at=timezone.now() - datetime.timedelta(minutes=2))
    services.notices_send_pending(actor=system_actor())
    assert mailoutbox == []
    assert [notice.pk for notice in selectors.notices_uncertain()] == [stuck.pk]
    assert selectors.notice_get(stuck.pk).status_label == "onzeker verzonden"
    assert selectors.notice_get(recent.pk).status_label == "Wordt verzonden"
    with pytest.raises(ValidationError) as refused:  # still within the 15 minutes: it may be going out right now
        services.notice_resend(notice_id=recent.pk, actor=Actor.staff(staff.alpha_desk))
    assert error_codes(refused.value) == ["notice.resend_not_allowed"]
    # Staff choose to send it again.
    services.notice_resend(notice_id=stuck.pk, actor=Actor.staff(staff.alpha_desk))
    services.notices_send_pending(actor=system_actor())
    assert len(mailoutbox) == 1
    stuck.refresh_from_db()
    assert stuck.status == "sent" and stuck.resent_by_id == staff.alpha_desk.pk
    assert stuck.resent_by_ref == f"staff:{staff.alpha_desk.pk}"
    with pytest.raises(ValidationError):  # sent: nothing to resend
        services.notice_resend(notice_id=stuck.pk, actor=Actor.staff(staff.alpha_desk))


def test_a_failed_send_is_retried_then_sent(in_alpha, mailoutbox, settings):
    notice = queue(notice_member())
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    assert services.notices_send_pending(actor=system_actor())["failed"] == 1
    notice.refresh_from_db()
    assert notice.status == "failed" and notice.attempts == 1 and "weigert" in notice.error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert services.notices_send_pending(actor=system_actor()) == {"sent": 1, "failed": 0, "retried": 1}
    notice.refresh_from_db()
    assert notice.status == "sent" and notice.attempts == 2 and notice.error == ""
    assert len(mailoutbox) == 1


def test_a_send_that_keeps_failing_stops_after_three_attempts(in_alpha, mailoutbox, settings, staff):
    notice = queue(notice_member())
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    for _ in range(5):
        services.notices_send_pending(actor=system_actor())
    notice.refresh_from_db()
    assert notice.status == "failed" and notice.attempts == services.MAX_ATTEMPTS
    assert [failed.pk for failed in selectors.notices_failed()] == [notice.pk]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    services.notices_send_pending(actor=system_actor())
    assert mailoutbox == []  # not retried on its own any more
    services.notice_resend(notice_id=notice.pk, actor=Actor.staff(staff.alpha_desk))
    services.notices_send_pending(actor=system_actor())
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
        assert services.notices_send_pending(actor=system_actor()) == {"sent": 1, "failed": 1, "retried": 0}
    statuses = dict(Notice.objects.values_list("pk", "status"))
    assert statuses == {first.pk: "failed", second.pk: "sent"}


# --- letters -------------------------------------------------------------------------------------

def test_letters_mark_printed(in_alpha, staff):
    branches = list(in_alpha.branches.order_by("name"))
    one = services.notice_queue(actor=system_actor(), member=notice_member(email=""), kind="overdue_1", dedupe_key="l1",
                                context=titles_context(), branch=branches[0])
    two = services.notice_queue(actor=system_actor(), member=notice_member(email=""), kind="overdue_1", dedupe_key="l2",
                                context=titles_context(), branch=branches[0].pk)
    emailed = queue(notice_member(), key="e1")
    assert selectors.letters_to_print(branch=branches[0]) == [one, two]
    assert services.letters_mark_printed(notice_ids=[one.pk, emailed.pk], actor=Actor.staff(staff.alpha_desk)) == 1
    assert services.letters_mark_printed(notice_ids=[one.pk], actor=Actor.staff(staff.alpha_desk)) == 0
    one.refresh_from_db()
    assert one.status == "printed" and one.printed_by_id == staff.alpha_desk.pk and one.printed_at
    assert one.printed_by_ref == f"staff:{staff.alpha_desk.pk}"
    assert selectors.letters_to_print() == [two]
    assert Notice.objects.get(pk=emailed.pk).status == "pending"


def test_member_notices_newest_first(in_alpha):
    member = notice_member()
    older = queue(member, key="a")
    newer = queue(member, key="b")
    Notice.objects.filter(pk=older.pk).update(created_at=timezone.now() - datetime.timedelta(days=1))
    assert [notice.pk for notice in selectors.member_notices(member)] == [newer.pk, older.pk]
    assert len(selectors.member_notices(member, limit=1)) == 1


# --- who may act ---------------------------------------------------------------------------------

def notices_state():
    return (sorted(Notice.objects.values_list("pk", "status", "attempts", "printed_by_ref", "resent_by_ref")),
            sorted(NoticeTemplate.objects.values_list("kind", "subject")),
            sorted(NoticeSettings.objects.values_list("overdue_1_days", "actor_ref")))


def every_write(actor, *, member, letter, failed):
    return [
        ("notice_queue", lambda: services.notice_queue(actor=actor, member=member, kind="due_soon",
                                                       dedupe_key="new", context=titles_context())),
        ("notice_resend", lambda: services.notice_resend(actor=actor, notice_id=failed.pk)),
        ("letters_mark_printed", lambda: services.letters_mark_printed(actor=actor, notice_ids=[letter.pk])),
        ("notice_template_save", lambda: services.notice_template_save(actor=actor, kind="due_soon", subject="X",
                                                                       body="Beste {{ naam }}")),
        ("notice_template_reset", lambda: services.notice_template_reset(actor=actor, kind="overdue_1")),
        ("notice_settings_update", lambda: services.notice_settings_update(
            actor=actor, due_soon_days_before=2, overdue_1_days=5, overdue_2_days=10, overdue_3_days=30)),
        ("notices_send_pending", lambda: services.notices_send_pending(actor=actor)),
    ]


@pytest.fixture
def some_notices(in_alpha, staff):
    member = notice_member()
    letter = queue(notice_member(email=""), key="letter")
    failed = queue(member, key="failed")
    Notice.objects.filter(pk=failed.pk).update(status="failed", attempts=3)
    services.notice_template_save(actor=Actor.staff(staff.alpha_library_admin), kind="overdue_1", subject="Eigen",
                                  body="Beste {{ naam }}")
    return member, letter, failed


def test_an_actor_of_another_library_is_refused_and_changes_nothing(some_notices, libraries, mailoutbox):
    from tests.factories import staff_with_role

    member, letter, failed = some_notices
    beta_admin = Actor.staff(staff_with_role(libraries.beta, "library_admin"), libraries.beta)
    before = notices_state()
    for name, call in every_write(beta_admin, member=member, letter=letter, failed=failed):
        with pytest.raises(ValidationError) as refused:
            call()
        assert error_codes(refused.value) == ["actor.other_library"], name
    assert notices_state() == before and mailoutbox == []


def test_roles_desk_for_letters_and_resending_admin_for_texts_and_settings(some_notices, staff, mailoutbox):
    member, letter, failed = some_notices
    before = notices_state()
    refused_for = {
        Actor.staff(staff.alpha_collection): ["notice_resend", "letters_mark_printed", "notice_template_save",
                                              "notice_template_reset", "notice_settings_update"],
        Actor.staff(staff.alpha_desk): ["notice_template_save", "notice_template_reset", "notice_settings_update"],
        Actor.member(member.pk): ["notice_resend", "letters_mark_printed", "notice_template_save",
                                  "notice_template_reset", "notice_settings_update"],
    }
    for actor, names in refused_for.items():
        for name, call in every_write(actor, member=member, letter=letter, failed=failed):
            if name in names:
                with pytest.raises(ValidationError) as refused:
                    call()
                assert error_codes(refused.value) == ["actor.no_role"], (actor, name)
    assert notices_state() == before and mailoutbox == []


def test_a_member_actor_queues_notices_to_themselves_only(some_notices):
    member, _letter, _failed = some_notices
    other = notice_member()
    with pytest.raises(ValidationError) as refused:
        services.notice_queue(actor=Actor.member(member.pk), member=other, kind="due_soon", dedupe_key="theirs",
                              context=titles_context())
    assert error_codes(refused.value) == ["actor.not_owner"]
    assert not Notice.objects.filter(dedupe_key="theirs").exists()
    own = services.notice_queue(actor=Actor.member(member.pk), member=member, kind="due_soon", dedupe_key="own",
                                context=titles_context())
    assert own.actor_ref == f"member:{member.pk}"


def test_the_saved_text_and_settings_record_who_saved_them(in_alpha, staff):
    admin = staff.alpha_library_admin
    services.notice_template_save(actor=Actor.staff(admin), kind="due_soon", subject="Herinnering",
                                  body="Beste {{ naam }}")
    services.notice_settings_update(actor=Actor.staff(admin), due_soon_days_before=2, overdue_1_days=5,
                                    overdue_2_days=10, overdue_3_days=30)
    template, settings_row = NoticeTemplate.objects.get(kind="due_soon"), NoticeSettings.objects.get()
    assert (template.updated_by_id, template.actor_ref) == (admin.pk, f"staff:{admin.pk}")
    assert (settings_row.updated_by_id, settings_row.actor_ref) == (admin.pk, f"staff:{admin.pk}")
    assert queue(notice_member()).actor_ref == "system:notices"

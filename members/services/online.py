"""Members who act online (the members' catalogue, OPAC): registering themself,
verifying their e-mail address, the library confirming them, and a forgotten PIN
reset by an e-mail link.

Decisions:
- One implementation of the registration rules: member_register_online checks
  what only an online registration needs (an e-mail address to verify, a full
  Dutch address with a house number, a PIN to sign in with, a guardian's e-mail
  address for a youth member) and registers through members.services.registration
  .member_register, as the system ("opac"), with a card number LSB issues
  (card_number_issue: unique nationally through the CardIndex). Every problem of
  both is reported at once; nothing is stored when there is one.
- Until the library confirms the registration a REGISTRATION block keeps the member
  from borrowing and reserving (members.selectors.ledger.member_may_borrow). The
  member may sign in once the e-mail address is verified (members.services.auth).
  The library chooses (MemberRules.online_confirmation) whether the verified
  address is enough, or a first visit to the desk with ID
  (online_registration_confirm, desk role).
- Links carry a signed, expiring token (django.core.signing, salted per purpose).
  The e-mail link is single use because verifying twice changes nothing; a PIN
  reset link holds a fingerprint of the PIN hash it was made for, so it works once
  (the new PIN changes the hash) and not after another PIN change.
- A PIN reset request answers the same whether or not the card and address
  belong together: nothing tells a guesser which cards exist.
"""

import datetime
import hashlib
import re
import secrets

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import locks
from core.actors import Actor, ActorKind, current_library
from core.errors import ServiceError, ServiceErrors
from core.locks import lock_row
from staff.models import Role
from tenants.models import CardIndex

from ..cards import card_number_normalise
from ..models import AuditEntry, Block, Member, MemberRules, OnlineRegistration
from ..selectors.access import require_staff_role
from ..selectors.ledger import member_rules_get
from ..selectors.registration import ADULT_AGE, age_on
from .privacy import audit_record
from .registration import member_register, member_update

VERIFY_SALT = "lsb.members.online.verify"
PIN_RESET_SALT = "lsb.members.online.pin_reset"
# Card numbers issued online: 14 digits starting with ONLINE_CARD_PREFIX.
ONLINE_CARD_PREFIX = "8"
ONLINE_CARD_DIGITS = 14
_HOUSE_NUMBER_RE = re.compile(r"^[1-9][0-9]{0,4}(\s?[A-Za-z]{1,2}|[-\s/][0-9A-Za-z]{1,4})?$")


def verify_token_days():
    return getattr(settings, "OPAC_VERIFY_LINK_DAYS", 3)


def pin_reset_token_minutes():
    return getattr(settings, "OPAC_PIN_RESET_LINK_MINUTES", 60)


def card_number_issue():
    """A card number that no library has issued (checked in the national CardIndex;
    member_register claims it there, so a race still loses cleanly)."""
    for _attempt in range(20):
        number = ONLINE_CARD_PREFIX + "".join(str(secrets.randbelow(10)) for _ in range(ONLINE_CARD_DIGITS - 1))
        if not CardIndex.objects.filter(card_number=number).exists():
            return number
    raise RuntimeError("no free card number found")


def _library_mail(organisation, subject, body, to):
    send_mail(subject, body, None, [to], fail_silently=False)


# --- registering online -----------------------------------------------------------------

def member_register_online(*, actor, first_name, last_name, date_of_birth, street, house_number, postcode, city,
                           email, pin, pin_repeat, name_prefix="", phone="", subscription_id=None,
                           preferred_branch_id=None, guardian_email="", consents=None, verify_link=None,
                           today=None):
    """Register a new member who signs up online (actor: the system, 'opac').

    `verify_link(token)` gives the address of the e-mail verification page; the
    message goes out once the registration is committed. Returns the member.
    Raises ServiceError/ServiceErrors with every problem at once."""
    organisation = actor.require_current_library()
    actor.require_kind(ActorKind.SYSTEM)
    today = today or timezone.localdate()
    problems = []
    email = (email or "").strip()
    if not email:
        problems.append(ServiceError("online.email_missing", field="email"))
    for field, value in (("street", street), ("city", city), ("postcode", postcode)):
        if not (value or "").strip():
            problems.append(ServiceError("online.address_missing", field=field))
    house_number = (house_number or "").strip()
    if not house_number:
        problems.append(ServiceError("online.address_missing", field="house_number"))
    elif not _HOUSE_NUMBER_RE.match(house_number):
        problems.append(ServiceError("online.house_number_invalid", field="house_number", value=house_number[:20]))
    pin = (pin or "").strip()
    if not pin:
        problems.append(ServiceError("member.pin_missing", field="pin"))
    elif pin != (pin_repeat or "").strip():
        problems.append(ServiceError("online.pin_repeat_differs", field="pin_repeat"))
    guardian_email = (guardian_email or "").strip()
    youth = isinstance(date_of_birth, datetime.date) and date_of_birth <= today and \
        age_on(date_of_birth, today) < ADULT_AGE
    if guardian_email:
        if not youth:
            guardian_email = ""  # only asked of members under 18
        else:
            try:
                validate_email(guardian_email)
            except ValidationError:
                problems.append(ServiceError("online.guardian_email_invalid", field="guardian_email"))
    if youth:
        subscription_id = None  # under 18: the youth category's free subscription, by law
    elif subscription_id in (None, ""):
        problems.append(ServiceError("online.subscription_missing", field="subscription"))

    with transaction.atomic():
        member = None
        try:
            member = member_register(
                actor=actor, card_number=card_number_issue(), first_name=first_name, name_prefix=name_prefix,
                last_name=last_name, date_of_birth=date_of_birth, street=street, house_number=house_number,
                postcode=postcode, city=city, email=email, phone=phone, preferred_branch_id=preferred_branch_id,
                pin=pin, subscription=subscription_id if subscription_id not in (None, "") else None,
                consents=consents or {}, today=today,
            )
        except ServiceErrors as error:
            problems.extend(error.errors)
        except ServiceError as error:
            problems.append(error)
        if problems:
            # Registered nothing (the member, if made, is rolled back with this transaction).
            transaction.set_rollback(True)
        else:
            Block.objects.create(member=member, kind=Block.Kind.REGISTRATION, actor_ref=actor.ref,
                                 reason=str(_("Online ingeschreven: nog niet bevestigd.")))
            registration = OnlineRegistration.objects.create(member=member, guardian_email=guardian_email)
            token = signing.dumps({"r": registration.pk, "m": member.pk, "o": organisation.pk}, salt=VERIFY_SALT)
            if verify_link is not None:
                link = verify_link(token)
                transaction.on_commit(lambda: _verification_mail(organisation, member, registration, link))
    if problems:
        raise problems[0] if len(problems) == 1 else ServiceErrors(problems)
    return member


def _verification_mail(organisation, member, registration, link):
    body = _(
        "Beste %(name)s,\n\n"
        "Welkom bij %(library)s! Bevestig uw e-mailadres met deze link (%(days)s dagen geldig):\n\n%(link)s\n\n"
        "Uw pasnummer is %(card)s. Met dit pasnummer en uw pincode logt u in op de catalogus.\n"
    ) % {"name": member.first_name, "library": organisation.name, "days": verify_token_days(), "link": link,
         "card": member.card_number}
    _library_mail(organisation, _("Bevestig uw e-mailadres bij %(library)s") % {"library": organisation.name},
                  body, member.email)
    if registration.guardian_email:
        _library_mail(
            organisation, _("Inschrijving bij %(library)s") % {"library": organisation.name},
            _("Beste ouder/verzorger,\n\n%(name)s heeft zich ingeschreven bij %(library)s. Jeugdleden zijn "
              "gratis lid. Heeft u vragen, kom dan langs bij de balie.\n") % {
                "name": member.first_name, "library": organisation.name},
            registration.guardian_email,
        )


def online_registration_verify(*, actor, token):
    """Verify the e-mail address of an online registration from its link. With the
    library's rule 'a verified e-mail address is enough' the member is confirmed
    (the REGISTRATION block lifted). Returns the OnlineRegistration; ServiceError
    online.link_invalid / online.link_expired."""
    organisation = actor.require_current_library()
    actor.require_kind(ActorKind.SYSTEM)
    try:
        data = signing.loads(token or "", salt=VERIFY_SALT, max_age=datetime.timedelta(days=verify_token_days()))
    except signing.SignatureExpired:
        raise ServiceError("online.link_expired")
    except signing.BadSignature:
        raise ServiceError("online.link_invalid")
    if not isinstance(data, dict) or data.get("o") != organisation.pk:
        raise ServiceError("online.link_invalid")
    now = timezone.now()
    with transaction.atomic():
        member = lock_row(locks.BORROWER, Member.objects.filter(pk=data.get("m"), erased_at__isnull=True))
        registration = OnlineRegistration.objects.filter(pk=data.get("r"), member=member).first() if member else None
        if registration is None:
            raise ServiceError("online.link_invalid")
        if registration.email_verified_at is None:
            registration.email_verified_at = now
            fields = ["email_verified_at"]
            if member_rules_get().online_confirmation == MemberRules.OnlineConfirmation.EMAIL:
                registration.confirmed_at, registration.confirmed_by_ref = now, actor.ref
                fields += ["confirmed_at", "confirmed_by_ref"]
                _lift_registration_block(member, actor, now)
            registration.save(update_fields=fields)
            audit_record(actor=actor, member=member, action=AuditEntry.Action.UPDATE,
                         detail={"fields": ["email_verified"]})
    return registration


def _lift_registration_block(member, actor, now):
    Block.objects.filter(member=member, kind=Block.Kind.REGISTRATION, lifted_at__isnull=True).update(
        lifted_at=now, lifted_by=actor.user_or_none, lifted_actor_ref=actor.ref)


def online_registration_confirm(*, actor, member_id):
    """The desk confirms an online registration after seeing the member's ID: the
    REGISTRATION block is lifted. Desk role."""
    actor.require_current_library()
    require_staff_role(actor, Role.DESK)
    now = timezone.now()
    with transaction.atomic():
        member = lock_row(locks.BORROWER, Member.objects.filter(pk=member_id, erased_at__isnull=True))
        registration = OnlineRegistration.objects.filter(member=member).first() if member else None
        if registration is None:
            raise ServiceError("online.not_registered_online")
        if registration.confirmed_at is not None:
            raise ServiceError("online.already_confirmed")
        registration.confirmed_at, registration.confirmed_by_ref = now, actor.ref
        registration.save(update_fields=["confirmed_at", "confirmed_by_ref"])
        _lift_registration_block(member, actor, now)
        audit_record(actor=actor, member=member, action=AuditEntry.Action.UPDATE,
                     detail={"fields": ["registration_confirmed"]})
    return registration


# --- a forgotten PIN --------------------------------------------------------------------

def _pin_fingerprint(member):
    return hashlib.sha256(f"{member.pk}:{member.pin_hash}".encode()).hexdigest()[:16]


def pin_reset_request(*, actor, card_number, email, reset_link):
    """Send a PIN reset link to the member's e-mail address when card and address
    belong together (and say nothing either way). `reset_link(token)` gives the page."""
    organisation = actor.require_current_library()
    actor.require_kind(ActorKind.SYSTEM)
    card = card_number_normalise(card_number)
    email = (email or "").strip()
    if not card or not email or len(card) > 20 or len(email) > 254:
        return
    member = Member.objects.filter(card_number=card, erased_at__isnull=True, merged_into__isnull=True).first()
    if member is None or not member.email or member.email.lower() != email.lower():
        return
    token = signing.dumps({"m": member.pk, "o": organisation.pk, "p": _pin_fingerprint(member)},
                          salt=PIN_RESET_SALT)
    link = reset_link(token)
    _library_mail(
        organisation, _("Nieuwe pincode voor %(library)s") % {"library": organisation.name},
        _("Beste %(name)s,\n\nMet deze link kiest u een nieuwe pincode (%(minutes)s minuten geldig, één keer "
          "te gebruiken):\n\n%(link)s\n\nHeeft u dit niet gevraagd? Dan kunt u dit bericht negeren.\n") % {
            "name": member.first_name, "minutes": pin_reset_token_minutes(), "link": link},
        member.email,
    )


def pin_reset_member(*, token):
    """The member a PIN reset link is for (ServiceError online.link_invalid /
    online.link_expired: also when it was used or the PIN changed since)."""
    try:
        data = signing.loads(token or "", salt=PIN_RESET_SALT,
                             max_age=datetime.timedelta(minutes=pin_reset_token_minutes()))
    except signing.SignatureExpired:
        raise ServiceError("online.link_expired")
    except signing.BadSignature:
        raise ServiceError("online.link_invalid")
    library = current_library()
    if not isinstance(data, dict) or library is None or data.get("o") != library.pk:
        raise ServiceError("online.link_invalid")
    member = Member.objects.filter(pk=data.get("m"), erased_at__isnull=True, merged_into__isnull=True).first()
    if member is None or _pin_fingerprint(member) != data.get("p"):
        raise ServiceError("online.link_invalid")
    return member


def pin_reset_complete(*, token, pin, pin_repeat):
    """Set a new PIN from a reset link, as the member themself (member_update)."""
    member = pin_reset_member(token=token)
    pin = (pin or "").strip()
    if not pin:
        raise ServiceError("member.pin_missing", field="pin")
    if pin != (pin_repeat or "").strip():
        raise ServiceError("online.pin_repeat_differs", field="pin_repeat")
    return member_update(actor=Actor.member(member.pk), member_id=member.pk, expected_version=member.version,
                         pin=pin)

"""Members and everything personal (tenant schema: private to one library organisation).

Only the card number crosses tenants, through tenants.CardIndex. Money is in
euro cents. Staff, branches and titles live in the public schema and are
referenced without a database constraint (see collection.models).
"""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

CARD_NUMBER_PATTERN = r"^[0-9A-Za-z]{6,20}$"
PIN_MIN_LENGTH = 4


class SubscriptionType(models.Model):
    """An abonnement the library offers, with its annual fee and what it includes."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("naam"), max_length=100)
    annual_fee_cents = models.PositiveIntegerField(_("jaarbijdrage (cent)"), default=0)
    max_loans = models.PositiveSmallIntegerField(_("maximaal aantal leningen"), default=20)
    includes = models.TextField(_("inbegrepen"), blank=True, help_text=_("Wat het abonnement omvat"))
    # By law membership is free under 18: only free subscription types may be youth types.
    for_youth = models.BooleanField(_("jeugdabonnement"), default=False)
    is_active = models.BooleanField(_("actief"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("abonnement")
        verbose_name_plural = _("abonnementen")
        constraints = [
            models.CheckConstraint(
                condition=Q(for_youth=False) | Q(annual_fee_cents=0), name="youth_subscription_is_free"
            ),
        ]

    def __str__(self):
        return self.name


class MemberCategory(models.Model):
    """A category of member (jeugd, volwassene, ...) with the ages it covers.

    A member's category follows their age; a youth category (max_age < 18) only
    allows youth subscriptions."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("naam"), max_length=100)
    min_age = models.PositiveSmallIntegerField(_("vanaf leeftijd"), default=0)
    max_age = models.PositiveSmallIntegerField(_("tot en met leeftijd"), null=True, blank=True)
    default_subscription = models.ForeignKey(
        SubscriptionType, on_delete=models.PROTECT, related_name="+", verbose_name=_("standaardabonnement")
    )

    class Meta:
        ordering = ["min_age", "name"]
        verbose_name = _("ledencategorie")
        verbose_name_plural = _("ledencategorieën")

    def __str__(self):
        return self.name

    @property
    def is_youth(self):
        return self.max_age is not None and self.max_age < 18


class MemberRules(models.Model):
    """The library's own rules for members (one row per library schema)."""

    balance_block_cents = models.PositiveIntegerField(
        _("blokkeren vanaf openstaand saldo (cent)"), default=1000
    )
    block_when_expired = models.BooleanField(_("blokkeren als het lidmaatschap verlopen is"), default=True)
    loan_history_retention_days = models.PositiveIntegerField(
        _("leenhistorie bewaren (dagen) zonder toestemming"), default=30
    )
    # The most another library may put on one of our members' accounts per charge
    # (a guest's fee, fine or lost item: members.outbox.guest_charge).
    guest_charge_max_cents = models.PositiveIntegerField(
        _("maximaal bedrag per kostenpost van een andere bibliotheek (cent)"), default=7500
    )

    class OnlineConfirmation(models.TextChoices):
        EMAIL = "email", _("Bevestigd e-mailadres is genoeg")
        DESK = "desk", _("Eerst langskomen aan de balie met legitimatie")

    # When a member who registered online (the OPAC) may borrow and reserve.
    online_confirmation = models.CharField(
        _("online inschrijving actief na"), max_length=8, choices=OnlineConfirmation.choices,
        default=OnlineConfirmation.EMAIL,
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("ledenregels")
        verbose_name_plural = _("ledenregels")


class Member(models.Model):
    card_number = models.CharField(_("pasnummer"), max_length=20, unique=True)
    first_name = models.CharField(_("voornaam"), max_length=80)
    name_prefix = models.CharField(_("tussenvoegsel"), max_length=20, blank=True)
    last_name = models.CharField(_("achternaam"), max_length=120)
    date_of_birth = models.DateField(_("geboortedatum"), null=True, blank=True)
    street = models.CharField(_("straat"), max_length=120, blank=True)
    house_number = models.CharField(_("huisnummer"), max_length=10, blank=True)
    postcode = models.CharField(_("postcode"), max_length=7, blank=True)
    city = models.CharField(_("plaats"), max_length=80, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("telefoon"), max_length=20, blank=True)
    preferred_branch = models.ForeignKey(
        "tenants.Branch", on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True,
        related_name="+", verbose_name=_("voorkeursvestiging"),
    )
    category = models.ForeignKey(MemberCategory, on_delete=models.PROTECT, related_name="members")
    subscription = models.ForeignKey(SubscriptionType, on_delete=models.PROTECT, related_name="members")
    expires_on = models.DateField(_("lid tot en met"), null=True, blank=True)
    pin_hash = models.CharField(max_length=128, blank=True)  # Django password hasher; never shown
    guardian = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="wards",
        verbose_name=_("ouder/verzorger"),
    )
    notes = models.TextField(_("notities"), blank=True)
    # Opt-in consents, each separately, with when they were given.
    consent_loan_history_at = models.DateTimeField(_("toestemming leenhistorie"), null=True, blank=True)
    consent_newsletter_at = models.DateTimeField(_("toestemming nieuwsbrief"), null=True, blank=True)
    consent_suggestions_at = models.DateTimeField(_("toestemming leestips"), null=True, blank=True)
    merged_into = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="Set on a duplicate record after a merge; it is then kept only for its history.",
    )
    erased_at = models.DateTimeField(null=True, blank=True)
    # Kept after erasure as an anonymous statistic: the first year of the member's
    # five-year birth bucket (1980 for 1980-1984). Empty while not erased.
    birth_year_bucket = models.PositiveSmallIntegerField(null=True, blank=True)
    # Optimistic locking: a save based on an older version is refused, so two desks
    # editing the same member cannot silently overwrite each other.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("lid")
        verbose_name_plural = _("leden")
        indexes = [
            models.Index(fields=["last_name", "first_name"], name="member_name"),
            models.Index(fields=["date_of_birth"], name="member_birth"),
            models.Index(fields=["postcode", "house_number"], name="member_address"),
            models.Index(fields=["email"], name="member_email"),
        ]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self):
        return " ".join(part for part in (self.first_name, self.name_prefix, self.last_name) if part)


class FormerCard(models.Model):
    """A card number the member used before (lost, replaced): blocked, history kept."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="former_cards")
    card_number = models.CharField(max_length=20, unique=True)
    reason = models.CharField(max_length=120)
    replaced_at = models.DateTimeField(auto_now_add=True)
    replaced_by_id = models.BigIntegerField(null=True, blank=True)
    actor_ref = models.CharField(max_length=40, blank=True, default="")  # who replaced it (Actor.ref)


class Block(models.Model):
    """Why a member may not borrow or reserve. Automatic blocks are set and lifted
    by the rules; manual ones by staff."""

    class Kind(models.TextChoices):
        MANUAL = "manual", _("Handmatig")
        BALANCE = "balance", _("Openstaand saldo")
        EXPIRED = "expired", _("Lidmaatschap verlopen")
        LOST_CARD = "lost_card", _("Pas verloren")
        # An online registration the library has not yet confirmed (members.services.online).
        REGISTRATION = "registration", _("Inschrijving nog niet bevestigd")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="blocks")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    reason = models.TextField(_("reden"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True,
        related_name="+",
    )
    # Who set the block (core.actors.Actor.ref: staff:12, system:member_rules, ...) and who lifted it.
    actor_ref = models.CharField(max_length=40, blank=True, default="")
    lifted_actor_ref = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # At most one active automatic block of each kind per member.
            models.UniqueConstraint(
                fields=["member", "kind"], condition=Q(lifted_at__isnull=True) & ~Q(kind="manual"),
                name="block_one_active_automatic_per_kind",
            ),
        ]


class LedgerEntry(models.Model):
    """One line of a member's account: a charge, a payment or a waiver, in cents.

    Entries are never changed or deleted; a mistake is corrected by a waiver.
    Balance = charges - payments - waivers."""

    class Kind(models.TextChoices):
        CHARGE = "charge", _("Kosten")
        PAYMENT = "payment", _("Betaling")
        WAIVER = "waiver", _("Kwijtschelding")

    class ChargeType(models.TextChoices):
        SUBSCRIPTION = "subscription", _("Abonnement")
        FINE = "fine", _("Te-laat-boete")
        LOAN_FEE = "loan_fee", _("Leengeld")
        LOST_ITEM = "lost_item", _("Vergoeding verloren exemplaar")
        RESERVATION_FEE = "reservation_fee", _("Reserveringskosten")
        CARD_REPLACEMENT = "card_replacement", _("Vervangende pas")
        OTHER = "other", _("Overig")

    class PaymentMethod(models.TextChoices):
        CASH = "cash", _("Contant")
        PIN = "pin", _("Pin")
        ONLINE = "online", _("Online")

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    charge_type = models.CharField(max_length=20, choices=ChargeType.choices, blank=True)
    payment_method = models.CharField(max_length=8, choices=PaymentMethod.choices, blank=True)
    amount_cents = models.PositiveIntegerField()
    description = models.CharField(max_length=200, blank=True)
    # A waiver names the charge it (partly) cancels.
    waives = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="waivers")
    # What the charge is about, for circulation/IBL: e.g. "loan:123". Opaque here.
    reference = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True,
        related_name="+",
    )
    # Who booked it (core.actors.Actor.ref): staff:12, member:812 (OPAC), machine:3@5, system:nightly.
    actor_ref = models.CharField(max_length=40, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="ledger_amount_positive"),
            models.CheckConstraint(
                condition=(Q(kind="charge") & ~Q(charge_type="") & Q(payment_method=""))
                | (Q(kind="payment") & Q(charge_type="") & ~Q(payment_method=""))
                | (Q(kind="waiver") & Q(payment_method="") & Q(waives__isnull=False)),
                name="ledger_entry_fields_by_kind",
            ),
        ]
        indexes = [models.Index(fields=["member", "-created_at"], name="ledger_member")]


class GuestCharge(models.Model):
    """A charge another library asked for on one of our members' accounts (a fee,
    fine or lost item of a guest loan there), as asked and as booked: capped by
    MemberRules.guest_charge_max_cents. The library sees each one with the library
    that asked, so it can dispute it (and waive the entry)."""

    member = models.ForeignKey("Member", on_delete=models.PROTECT, related_name="guest_charges")
    entry = models.ForeignKey("LedgerEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    lending_organisation_id = models.BigIntegerField(help_text="The registry's LibraryOrganisation pk")
    lending_name = models.CharField(max_length=200)
    charge_type = models.CharField(max_length=20)
    asked_cents = models.PositiveIntegerField()
    charged_cents = models.PositiveIntegerField()
    reference = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["-created_at"], name="guest_charge_recent")]

    @property
    def capped(self):
        return self.charged_cents < self.asked_cents

    @property
    def charge_type_label(self):
        return LedgerEntry.ChargeType(self.charge_type).label if self.charge_type in LedgerEntry.ChargeType.values \
            else self.charge_type


class AuditEntry(models.Model):
    """Every read or change of a member's personal data by someone other than the
    member (staff, a self-service machine, the system) and every change by the
    member themself (AVG/GDPR). `actor_ref` says who; `staff_user` is the staff
    account when it was staff."""

    class Action(models.TextChoices):
        VIEW = "view", _("Bekeken")
        SEARCH = "search", _("Gezocht")
        CREATE = "create", _("Ingeschreven")
        UPDATE = "update", _("Gewijzigd")
        BLOCK = "block", _("Blokkade")
        MONEY = "money", _("Saldo")
        CARD = "card", _("Pas vervangen")
        MERGE = "merge", _("Samengevoegd")
        EXPORT = "export", _("Gegevens uitgevoerd")
        ERASE = "erase", _("Gewist")
        IMPORT = "import", _("Geïmporteerd")
        # Another library's desk or machine looked up the card (guest lending): which
        # library, branch and account are in detail (members.outbox.guest_lookup).
        GUEST_LOOKUP = "guest", _("Opgezocht door andere bibliotheek")

    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True,
        related_name="+",
    )
    # Who read or changed (core.actors.Actor.ref): staff:12, member:812, machine:3@5, system:nightly.
    actor_ref = models.CharField(max_length=40, blank=True, default="")
    member_id_ref = models.BigIntegerField(null=True, blank=True, help_text="Member id; kept after erasure")
    action = models.CharField(max_length=8, choices=Action.choices)
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["member_id_ref", "-at"], name="audit_member"),
            models.Index(fields=["staff_user", "-at"], name="audit_staff"),
            # Finds the searches whose results showed a member (detail @> {"member_ids": [id]}).
            GinIndex(fields=["detail"], opclasses=["jsonb_path_ops"], name="audit_search_members",
                     condition=Q(action="search")),
        ]


class CardSignIn(models.Model):
    """Failed sign-ins with a card (OPAC, SIP2, API) and the lock they lead to.

    One row per card that has failed; a successful sign-in clears the count. The
    desk sees why a card is locked (how many failures, until when, from which
    channel) and can unlock it."""

    card_number = models.CharField(max_length=20, unique=True)
    failures = models.PositiveIntegerField(default=0)
    first_failure_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_channel = models.CharField(max_length=10, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    unlocked_by = models.CharField(max_length=40, blank=True)  # actor_ref of the last unlock

    class Meta:
        verbose_name = _("aanmeldpoging met pas")


class OnlineRegistration(models.Model):
    """A member who registered themself online (the OPAC): their e-mail address is
    verified by a link, and the library confirms them (MemberRules.online_confirmation:
    the verified address is enough, or a first visit to the desk with ID). Until
    then a REGISTRATION block keeps them from borrowing and reserving."""

    member = models.OneToOneField(Member, on_delete=models.CASCADE, related_name="online_registration")
    guardian_email = models.EmailField(_("e-mail ouder/verzorger"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    email_verified_at = models.DateTimeField(_("e-mailadres bevestigd"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("inschrijving bevestigd"), null=True, blank=True)
    confirmed_by_ref = models.CharField(max_length=40, blank=True, default="")  # Actor.ref

    class Meta:
        verbose_name = _("online inschrijving")
        verbose_name_plural = _("online inschrijvingen")

"""Circulation (tenant schema): loan rules, loans, transfers between branches,
holds, and the library's circulation settings.

Every write goes through circulation.services; every rule lives there once.
Staff, branches and titles live in the public schema and are referenced without
a database constraint (see collection.models). Money is in euro cents.
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from collection.models import ItemType


class BorrowerKind(models.TextChoices):
    """Who a loan or hold belongs to (see circulation.borrowers)."""

    MEMBER = "member", _("eigen lid")
    GUEST = "guest", _("gastlener")
    # The lending side of interlibrary loan: another library organisation borrows
    # the copy for one of its members (known there only).
    LIBRARY = "library", _("bibliotheek (IBL)")


class GuestAgeGroup(models.TextChoices):
    """A guest's age group, as their home library tells it from the member's category
    there (never a birth date): guest rules may be for one of them."""

    YOUTH = "youth", _("jeugd")
    ADULT = "adult", _("volwassenen")


class LoanRule(models.Model):
    """One cell of the loan-rule matrix: member category × item type × branch.

    An empty dimension is a wildcard. For a checkout the most specific matching
    rule wins (see circulation.rules). Guests (cards of another library
    organisation) match only rules for guests, library organisations borrowing
    for interlibrary loan only rules for libraries; own members only the others.
    A library pays no fee or fine here (nobody is charged; settling between
    libraries is interlibrary loan's)."""

    for_guests = models.BooleanField(_("voor gastleners"), default=False)
    # A guest rule for young guests or adults only (empty: every guest).
    guest_age_group = models.CharField(_("leeftijdsgroep gastleners"), max_length=8, choices=GuestAgeGroup.choices,
                                       blank=True)
    for_libraries = models.BooleanField(_("voor bibliotheken (IBL)"), default=False)
    member_category = models.ForeignKey(
        "members.MemberCategory", on_delete=models.CASCADE, null=True, blank=True, related_name="+",
        verbose_name=_("ledencategorie"),
    )
    item_type = models.CharField(_("soort materiaal"), max_length=20, choices=ItemType.choices, blank=True)
    branch = models.ForeignKey(
        "tenants.Branch", on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True,
        related_name="+", verbose_name=_("vestiging"),
    )
    loan_days = models.PositiveSmallIntegerField(_("uitleentermijn (dagen)"), default=21)
    max_renewals = models.PositiveSmallIntegerField(_("maximaal aantal verlengingen"), default=2)
    max_loans_total = models.PositiveSmallIntegerField(
        _("maximaal aantal leningen in totaal"), null=True, blank=True,
        help_text=_("Leeg: het maximum van het abonnement"),
    )
    max_loans_of_type = models.PositiveSmallIntegerField(
        _("maximaal aantal leningen van deze soort"), null=True, blank=True, help_text=_("Leeg: geen apart maximum")
    )
    loan_fee_cents = models.PositiveIntegerField(_("leengeld (cent)"), default=0)
    fine_per_day_cents = models.PositiveIntegerField(_("boete per opendag (cent)"), default=0)
    fine_max_cents = models.PositiveIntegerField(_("maximale boete (cent)"), default=0)
    holdable = models.BooleanField(_("reserveerbaar"), default=True)
    hold_fee_cents = models.PositiveIntegerField(_("reserveringskosten (cent)"), default=0)
    hold_shelf_days = models.PositiveSmallIntegerField(_("dagen op de reserveringsplank"), default=7)
    max_holds = models.PositiveSmallIntegerField(
        _("maximaal aantal reserveringen"), null=True, blank=True,
        help_text=_("Lopende reserveringen van een lid tegelijk; leeg: geen maximum"),
    )
    no_show_fee_cents = models.PositiveIntegerField(_("kosten niet opgehaalde reservering (cent)"), default=0)
    auto_renew = models.BooleanField(_("automatisch verlengen"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("uitleenregel")
        verbose_name_plural = _("uitleenregels")
        constraints = [
            models.UniqueConstraint(
                fields=["for_guests", "guest_age_group", "for_libraries", "member_category", "item_type", "branch"],
                nulls_distinct=False, name="loanrule_unique_cell",
            ),
            models.CheckConstraint(condition=Q(guest_age_group="") | Q(for_guests=True),
                                   name="loanrule_age_group_guests_only"),
            models.CheckConstraint(
                condition=Q(for_guests=False) | Q(member_category__isnull=True), name="loanrule_guest_no_category"
            ),
            models.CheckConstraint(
                condition=Q(for_libraries=False) | Q(for_guests=False, member_category__isnull=True),
                name="loanrule_library_no_category",
            ),
            models.CheckConstraint(condition=Q(loan_days__gte=1), name="loanrule_loan_days_positive"),
        ]

    def __str__(self):
        who = (f"gasten{' (' + self.get_guest_age_group_display() + ')' if self.guest_age_group else ''}"
               if self.for_guests else "bibliotheken" if self.for_libraries
               else str(self.member_category) if self.member_category_id else "iedereen")
        what = self.get_item_type_display() if self.item_type else "alle soorten"
        return f"{who} / {what} / {self.branch_id or 'alle vestigingen'}"


class CirculationSettings(models.Model):
    """The library's circulation settings (one row per library schema, pk=1)."""

    floating_item_types = ArrayField(
        models.CharField(max_length=20, choices=ItemType.choices), default=list, blank=True,
        verbose_name=_("zwevende collectie"),
        help_text=_("Exemplaren van deze soorten blijven na inname in de vestiging waar ze zijn ingeleverd."),
    )
    transfer_days = models.PositiveSmallIntegerField(
        _("dagen transport tussen vestigingen"), default=2,
        help_text=_("Gebruikt tot er genoeg gemeten transporten zijn"),
    )
    # When a copy reported lost turns up, its replacement charge is reversed but for this
    # processing fee (at most the charge).
    lost_found_fee_cents = models.PositiveIntegerField(
        _("verwerkingskosten bij een teruggevonden verloren exemplaar (cent)"), default=0,
        help_text=_("Blijft staan als de vergoeding voor een verloren exemplaar wordt teruggeboekt"),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("uitleeninstellingen")
        verbose_name_plural = _("uitleeninstellingen")


# Which borrower fields a loan or hold of each kind has (the others are empty).
# History unlinked after the retention period (anonymised_at) has lost its member
# or guest card; a library is no person and keeps its reference.
_MEMBER_FIELDS = Q(guest_card_number="", guest_organisation_id__isnull=True, borrowing_library_id__isnull=True,
                   borrowing_library_ref="")
_LIBRARY_FIELDS = Q(member__isnull=True, guest_card_number="", guest_organisation_id__isnull=True,
                    borrowing_library_id__isnull=False)


class Loan(models.Model):
    """One lending of one item, to an own member, a guest or a library organisation.

    Open while ended_at is empty; at most one open loan per item (a unique index:
    two desks lending the same copy at once cannot both succeed). A guest is
    known here only by card number and home library: their personal data stays
    at home. A library organisation (the lending side of interlibrary loan) is
    known by its id in the national registry and the reference of its request;
    the member it borrows for is known only there."""

    class Ending(models.TextChoices):
        RETURNED = "returned", _("Ingeleverd")
        LOST = "lost", _("Verloren")
        CLAIMS_RETURNED = "claims_returned", _("Volgens lid ingeleverd")

    item = models.ForeignKey("collection.Item", on_delete=models.PROTECT, related_name="loans")
    title_id = models.BigIntegerField(help_text="The item's title, kept for holds and history")
    borrower_kind = models.CharField(max_length=8, choices=BorrowerKind.choices, default=BorrowerKind.MEMBER)
    member = models.ForeignKey(
        "members.Member", on_delete=models.PROTECT, null=True, blank=True, related_name="loans"
    )
    guest_card_number = models.CharField(max_length=20, blank=True)
    guest_organisation_id = models.BigIntegerField(null=True, blank=True)
    borrowing_library_id = models.BigIntegerField(
        null=True, blank=True, help_text="The borrowing library organisation (tenants.LibraryOrganisation, public schema)"
    )
    borrowing_library_ref = models.CharField(
        max_length=64, blank=True, help_text="The borrowing library's reference, e.g. its interlibrary loan request"
    )
    rule = models.ForeignKey(LoanRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # The fine terms at checkout: a later change of the rules does not change an open loan.
    fine_per_day_cents = models.PositiveIntegerField(default=0)
    fine_max_cents = models.PositiveIntegerField(default=0)
    branch_id = models.BigIntegerField(help_text="Branch where it was lent")
    loaned_at = models.DateTimeField()
    due_on = models.DateField()
    renewals = models.PositiveSmallIntegerField(default=0)
    ended_at = models.DateTimeField(null=True, blank=True)
    ending = models.CharField(max_length=16, choices=Ending.choices, blank=True)
    ended_branch_id = models.BigIntegerField(null=True, blank=True)
    fine_cents = models.PositiveIntegerField(default=0, help_text="Overdue fine charged at the end")
    # The highest overdue notice (1-3) sent for this loan; reset by a renewal.
    overdue_level = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True,
        related_name="+",
    )
    # Who did it (core.actors.Actor.ref: staff:12, member:812, machine:3@5, system:nightly).
    actor_ref = models.CharField(max_length=40, blank=True, default="")
    override_reason = models.CharField(max_length=200, blank=True)
    # Set when the history is unlinked from the member (privacy retention).
    anonymised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("uitlening")
        verbose_name_plural = _("uitleningen")
        constraints = [
            models.UniqueConstraint(fields=["item"], condition=Q(ended_at__isnull=True), name="loan_one_open_per_item"),
            # Exactly the borrower fields of its kind: a member, a guest card (with its
            # home library) or a library organisation; only history unlinked after the
            # retention period has lost its member or card.
            models.CheckConstraint(
                condition=Q(borrower_kind=BorrowerKind.MEMBER) & _MEMBER_FIELDS
                & (Q(member__isnull=False) | Q(anonymised_at__isnull=False, ended_at__isnull=False))
                | Q(borrower_kind=BorrowerKind.GUEST, member__isnull=True, guest_organisation_id__isnull=False,
                    borrowing_library_id__isnull=True, borrowing_library_ref="")
                & (~Q(guest_card_number="") | Q(anonymised_at__isnull=False, ended_at__isnull=False))
                | Q(borrower_kind=BorrowerKind.LIBRARY) & _LIBRARY_FIELDS,
                name="loan_borrower_by_kind",
            ),
            models.CheckConstraint(
                condition=(Q(ended_at__isnull=True) & Q(ending=""))
                | (Q(ended_at__isnull=False) & ~Q(ending="")),
                name="loan_ending_when_ended",
            ),
        ]
        indexes = [
            models.Index(fields=["member", "due_on"], condition=Q(ended_at__isnull=True), name="loan_open_member"),
            models.Index(fields=["guest_card_number"], condition=Q(ended_at__isnull=True) & ~Q(guest_card_number=""),
                         name="loan_open_guest"),
            models.Index(fields=["borrowing_library_id", "due_on"],
                         condition=Q(ended_at__isnull=True, borrowing_library_id__isnull=False),
                         name="loan_open_library"),
            models.Index(fields=["due_on"], condition=Q(ended_at__isnull=True), name="loan_open_due"),
            models.Index(fields=["title_id"], condition=Q(ended_at__isnull=True), name="loan_open_title"),
            models.Index(fields=["member", "-loaned_at"], name="loan_member_history"),
            models.Index(fields=["ended_at"], condition=Q(anonymised_at__isnull=True, ended_at__isnull=False),
                         name="loan_to_anonymise"),
        ]

    def __str__(self):
        borrower = self.member_id or self.guest_card_number or f"bibliotheek {self.borrowing_library_id}"
        return f"{self.item_id} → {borrower} tot {self.due_on}"

    @property
    def is_open(self):
        return self.ended_at is None

    @property
    def is_guest_loan(self):
        return self.borrower_kind == BorrowerKind.GUEST

    @property
    def is_library_loan(self):
        return self.borrower_kind == BorrowerKind.LIBRARY

    @property
    def borrower_label(self):
        """Who borrowed it, for a desk line (a library by its name and request)."""
        return _borrower_label(self)


class Transfer(models.Model):
    """An item on its way from one branch to another (home, or to a hold's pickup
    branch); received when it is checked in at the destination."""

    class Reason(models.TextChoices):
        HOME = "home", _("Terug naar eigen vestiging")
        HOLD = "hold", _("Voor een reservering")

    item = models.ForeignKey("collection.Item", on_delete=models.PROTECT, related_name="transfers")
    from_branch_id = models.BigIntegerField()
    to_branch_id = models.BigIntegerField()
    reason = models.CharField(max_length=8, choices=Reason.choices)
    hold = models.ForeignKey("Hold", on_delete=models.SET_NULL, null=True, blank=True, related_name="transfers")
    sent_at = models.DateTimeField()
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True,
        related_name="+",
    )
    # Who did it (core.actors.Actor.ref: staff:12, member:812, machine:3@5, system:nightly).
    actor_ref = models.CharField(max_length=40, blank=True, default="")
    received_at = models.DateTimeField(null=True, blank=True)
    received_branch_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("transport")
        verbose_name_plural = _("transporten")
        constraints = [
            models.UniqueConstraint(fields=["item"], condition=Q(received_at__isnull=True),
                                    name="transfer_one_open_per_item"),
        ]
        indexes = [
            models.Index(fields=["to_branch_id", "sent_at"], condition=Q(received_at__isnull=True),
                         name="transfer_open_to"),
            models.Index(fields=["-received_at"], condition=Q(received_at__isnull=False), name="transfer_received"),
        ]


class HoldStatus(models.TextChoices):
    WAITING = "waiting", _("Wacht")
    IN_TRANSIT = "in_transit", _("Onderweg naar ophaalvestiging")
    READY = "ready", _("Ligt klaar")
    FULFILLED = "fulfilled", _("Opgehaald")
    CANCELLED = "cancelled", _("Geannuleerd")
    EXPIRED = "expired", _("Niet opgehaald")


ACTIVE_HOLD_STATUSES = (HoldStatus.WAITING, HoldStatus.IN_TRANSIT, HoldStatus.READY)


class Hold(models.Model):
    """A reservation of a member: on a title (any holdable copy of this library)
    or on one specific item, to be picked up at a branch. A library organisation
    may hold a copy too (the lending side of interlibrary loan reserving a copy
    for the borrowing library's request): then its pickup branch is the branch
    that sends it, and nobody here is notified. Guests reserve at their home
    library (a guest hold is not a kind here).

    The queue is per title, ordered by queue_at (the time it was placed, unless a
    staff member moved it, which is logged in HoldEvent)."""

    borrower_kind = models.CharField(max_length=8, choices=BorrowerKind.choices, default=BorrowerKind.MEMBER)
    member = models.ForeignKey(
        "members.Member", on_delete=models.PROTECT, null=True, blank=True, related_name="holds"
    )
    borrowing_library_id = models.BigIntegerField(
        null=True, blank=True, help_text="The borrowing library organisation (tenants.LibraryOrganisation, public schema)"
    )
    borrowing_library_ref = models.CharField(
        max_length=64, blank=True, help_text="The borrowing library's reference, e.g. its interlibrary loan request"
    )
    title_id = models.BigIntegerField()
    item = models.ForeignKey(
        "collection.Item", on_delete=models.PROTECT, null=True, blank=True, related_name="item_holds",
        help_text="Set for a hold on one specific copy",
    )
    pickup_branch_id = models.BigIntegerField()
    status = models.CharField(max_length=12, choices=HoldStatus.choices, default=HoldStatus.WAITING)
    placed_at = models.DateTimeField()
    queue_at = models.DateTimeField()
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True,
        related_name="+",
    )
    # Who did it (core.actors.Actor.ref: staff:12, member:812, machine:3@5, system:nightly).
    actor_ref = models.CharField(max_length=40, blank=True, default="")
    suspended_until = models.DateField(null=True, blank=True)
    # The copy that fills it, from the moment it is trapped (in transit or ready).
    assigned_item = models.ForeignKey(
        "collection.Item", on_delete=models.PROTECT, null=True, blank=True, related_name="assigned_holds"
    )
    ready_at = models.DateTimeField(null=True, blank=True)
    shelf_until = models.DateField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)
    # The member's last day of interest: after it the hold is not filled and ends by itself.
    not_needed_after = models.DateField(null=True, blank=True)
    expected_on = models.DateField(null=True, blank=True)
    expected_position = models.PositiveIntegerField(null=True, blank=True)
    expected_computed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("reservering")
        verbose_name_plural = _("reserveringen")
        constraints = [
            # A copy fills at most one hold at a time.
            models.UniqueConstraint(
                fields=["assigned_item"], condition=Q(status__in=["in_transit", "ready"]),
                name="hold_one_per_assigned_item",
            ),
            # A member holds a title once (while active).
            models.UniqueConstraint(
                fields=["member", "title_id"], condition=Q(status__in=["waiting", "in_transit", "ready"]),
                name="hold_one_active_per_member_title",
            ),
            # A library's request (its reference) holds a title once (while active).
            models.UniqueConstraint(
                fields=["borrowing_library_id", "borrowing_library_ref", "title_id"],
                condition=Q(status__in=["waiting", "in_transit", "ready"], borrowing_library_id__isnull=False),
                name="hold_one_active_per_library_request",
            ),
            # Exactly the borrower fields of its kind: a member, or a library organisation.
            models.CheckConstraint(
                condition=Q(borrower_kind=BorrowerKind.MEMBER, member__isnull=False, borrowing_library_id__isnull=True,
                            borrowing_library_ref="")
                | Q(borrower_kind=BorrowerKind.LIBRARY, member__isnull=True, borrowing_library_id__isnull=False),
                name="hold_borrower_by_kind",
            ),
            models.CheckConstraint(
                condition=Q(status="waiting", assigned_item__isnull=True)
                | Q(status__in=["in_transit", "ready"], assigned_item__isnull=False)
                | Q(status__in=["fulfilled", "cancelled", "expired"], ended_at__isnull=False),
                name="hold_assignment_by_status",
            ),
        ]
        indexes = [
            models.Index(fields=["title_id", "queue_at"], condition=Q(status="waiting"), name="hold_queue"),
            models.Index(fields=["member", "status"], name="hold_member"),
            models.Index(fields=["borrowing_library_id", "status"], condition=Q(borrowing_library_id__isnull=False),
                         name="hold_library"),
            models.Index(fields=["pickup_branch_id", "status", "shelf_until"],
                         condition=Q(status__in=["in_transit", "ready"]), name="hold_shelf"),
        ]

    def __str__(self):
        return f"reservering {self.pk} ({self.get_status_display()})"

    @property
    def is_active(self):
        return self.status in ACTIVE_HOLD_STATUSES

    @property
    def is_library_hold(self):
        return self.borrower_kind == BorrowerKind.LIBRARY

    @property
    def borrower_label(self):
        """For whom it is held, for a desk line (a library by its name and request)."""
        return _borrower_label(self)


def _borrower_label(row):
    if row.borrower_kind == BorrowerKind.LIBRARY:
        from tenants.models import LibraryOrganisation

        name = (LibraryOrganisation.objects.filter(pk=row.borrowing_library_id).values_list("name", flat=True).first()
                or f"bibliotheek {row.borrowing_library_id}")
        return f"{name} (IBL {row.borrowing_library_ref})" if row.borrowing_library_ref else f"{name} (IBL)"
    if row.borrower_kind == BorrowerKind.GUEST:
        return f"Gastlener, pas {row.guest_card_number}" if row.guest_card_number else "Gastlener"
    if row.member_id is None:
        return "Geanonimiseerd"
    return f"{row.member.full_name} (pas {row.member.card_number})"


class CirculationEvent(models.Model):
    """Staff decisions worth keeping: overrides of a refusal, queue changes, lost
    and claims-returned, checkins of items that were not on loan."""

    class Kind(models.TextChoices):
        OVERRIDE = "override", _("Uitzondering toegestaan")
        QUEUE = "queue", _("Wachtrij gewijzigd")
        LOST = "lost", _("Verloren gemeld")
        CLAIMS_RETURNED = "claims_returned", _("Volgens lid ingeleverd")
        CHECKIN_REPAIR = "checkin_repair", _("Status hersteld bij inname")
        HOLD = "hold", _("Reservering")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, null=True, blank=True, related_name="events")
    hold = models.ForeignKey(Hold, on_delete=models.CASCADE, null=True, blank=True, related_name="events")
    item_id_ref = models.BigIntegerField(null=True, blank=True)
    detail = models.TextField()
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True,
        related_name="+",
    )
    # Who did it (core.actors.Actor.ref: staff:12, member:812, machine:3@5, system:nightly).
    actor_ref = models.CharField(max_length=40, blank=True, default="")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]

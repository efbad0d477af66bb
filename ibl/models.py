"""Interlibrary loan (IBL) in the public schema: requests between library
organisations, the lenders asked, the transport legs the POIs drive with their
runs and crates, the van routes, each library's IBL terms, the POI hubs' staff,
and the costs between libraries.

Opaque references only: the member a request is for is known here by their id in
the requesting library's schema (never a name, card or address); loans and items
are ids in their own library's schema; the lender's copy by its barcode. What
happens to them there (the lender's loan to the requesting library, the member's
hold and loan at the requesting library) is circulation's, in each library's own
schema, reached through the outbox (tenants.outbox) or the library's own desk.
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from collection.models import ItemType

# What a library offers for IBL unless it says otherwise.
DEFAULT_IBL_ITEM_TYPES = [ItemType.BOOK, ItemType.LARGE_PRINT, ItemType.AUDIOBOOK, ItemType.SHEET_MUSIC,
                          ItemType.MUSIC_CD]
MUSIC_ITEM_TYPES = [ItemType.MUSIC_CD, ItemType.SHEET_MUSIC]


def default_ibl_item_types():
    return [str(item_type) for item_type in DEFAULT_IBL_ITEM_TYPES]


class IblTerms(models.Model):
    """A library organisation's interlibrary-loan terms. As lender: whether it
    lends, which item types, and not titles newer than N months; the loan period and
    renewals are its loan rules for libraries (circulation, 'Bibliotheken (IBL)').
    As requester: the fee its members pay per request. A library without a row has
    the defaults."""

    organisation = models.OneToOneField("tenants.LibraryOrganisation", on_delete=models.CASCADE,
                                        related_name="ibl_terms", primary_key=True)
    lends = models.BooleanField(_("leent uit via IBL"), default=True)
    item_types = ArrayField(models.CharField(max_length=20, choices=ItemType.choices),
                            default=default_ibl_item_types, blank=True, verbose_name=_("soorten materiaal"))
    new_title_months = models.PositiveSmallIntegerField(
        _("nieuwe titels niet uitlenen (maanden)"), default=0,
        help_text=_("Titels die korter dan dit aantal maanden in de landelijke catalogus staan, worden niet "
                    "uitgeleend (0: geen uitzondering)."))
    request_fee_cents = models.PositiveIntegerField(
        _("IBL-kosten per aanvraag (cent)"), default=0,
        help_text=_("Op de rekening van het lid wanneer het exemplaar binnenkomt."))
    is_music_library = models.BooleanField(
        _("landelijke muziekbibliotheek"), default=False,
        help_text=_("Wordt voor muziek gevraagd nadat de bibliotheken in en buiten de provincie zijn gevraagd."))
    # Fair spread: the lender asked longest ago goes first among equals.
    last_asked_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    actor_ref = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        verbose_name = _("IBL-voorwaarden")
        verbose_name_plural = _("IBL-voorwaarden")

    def __str__(self):
        return f"IBL-voorwaarden {self.organisation}"


class RequestState(models.TextChoices):
    REQUESTED = "requested", _("Aangevraagd")
    ASKED = "asked", _("Gevraagd aan uitlener")
    SENT = "sent", _("Verstuurd")
    ARRIVED = "arrived", _("Ligt klaar")
    LENT = "lent", _("Uitgeleend aan het lid")
    RETURNING = "returning", _("Onderweg terug")
    COMPLETED = "completed", _("Afgerond")
    CANCELLED = "cancelled", _("Geannuleerd")
    UNFILLED = "unfilled", _("Niet leverbaar")
    LOST = "lost", _("Verloren")
    DAMAGED = "damaged", _("Beschadigd")


ACTIVE_STATES = (RequestState.REQUESTED, RequestState.ASKED, RequestState.SENT, RequestState.ARRIVED,
                 RequestState.LENT, RequestState.RETURNING)
# The copy is with transport or the requesting library: it has a barcode and legs.
MOVING_STATES = (RequestState.SENT, RequestState.ARRIVED, RequestState.LENT, RequestState.RETURNING)
ENDED_STATES = (RequestState.COMPLETED, RequestState.CANCELLED, RequestState.UNFILLED, RequestState.LOST,
                RequestState.DAMAGED)


class Scope(models.TextChoices):
    """Where the lender is, seen from the requesting library (the national statistics' columns)."""

    PROVINCE = "province", _("Binnen de provincie")
    OTHER_PROVINCE = "other_province", _("Uit een andere provincie")
    MUSIC = "music", _("Muziekbibliotheek")


class IblRequest(models.Model):
    """One member's request for a title their library lacks, lent by another
    library organisation: from the request to the copy back on the lender's shelf."""

    requesting_organisation = models.ForeignKey("tenants.LibraryOrganisation", on_delete=models.PROTECT,
                                                related_name="+", verbose_name=_("aanvragende bibliotheek"))
    pickup_branch = models.ForeignKey("tenants.Branch", on_delete=models.PROTECT, related_name="+",
                                      verbose_name=_("ophaalvestiging"))
    # The member in the requesting library's schema: an opaque id, nothing personal.
    member_id = models.BigIntegerField(_("lid (referentie)"))
    title = models.ForeignKey("catalogue.Title", on_delete=models.PROTECT, related_name="+", verbose_name=_("titel"))
    state = models.CharField(_("status"), max_length=10, choices=RequestState.choices,
                             default=RequestState.REQUESTED)
    lender = models.ForeignKey("tenants.LibraryOrganisation", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+", verbose_name=_("uitlener"))
    lending_branch = models.ForeignKey("tenants.Branch", on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="+", verbose_name=_("uitlenende vestiging"))
    scope = models.CharField(_("herkomst"), max_length=16, choices=Scope.choices, blank=True)
    item_barcode = models.CharField(_("barcode"), max_length=20, blank=True)
    lender_loan_id = models.BigIntegerField(null=True, blank=True, help_text="The loan in the lender's schema")
    lender_due_on = models.DateField(_("terug bij de uitlener uiterlijk"), null=True, blank=True)
    requester_item_id = models.BigIntegerField(null=True, blank=True,
                                               help_text="The stand-in item in the requesting library's schema")
    expected_on = models.DateField(_("verwacht"), null=True, blank=True)
    fee_cents = models.PositiveIntegerField(_("IBL-kosten (cent)"), default=0)
    override_reason = models.CharField(_("reden uitzondering"), max_length=200, blank=True)
    not_collected = models.BooleanField(_("niet opgehaald"), default=False)
    recalled_at = models.DateTimeField(_("teruggeroepen"), null=True, blank=True)
    end_reason = models.CharField(_("reden"), max_length=200, blank=True)
    actor_ref = models.CharField(max_length=40, blank=True, default="")
    created_at = models.DateTimeField(_("aangevraagd"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(_("verstuurd"), null=True, blank=True)
    arrived_at = models.DateTimeField(_("binnengekomen"), null=True, blank=True)
    lent_at = models.DateTimeField(_("uitgeleend"), null=True, blank=True)
    handed_in_at = models.DateTimeField(_("ingeleverd"), null=True, blank=True)
    handed_in_branch = models.ForeignKey("tenants.Branch", on_delete=models.PROTECT, null=True, blank=True,
                                         related_name="+", help_text="Where the requesting library handed it back")
    ended_at = models.DateTimeField(_("afgesloten"), null=True, blank=True)

    class Meta:
        verbose_name = _("IBL-aanvraag")
        verbose_name_plural = _("IBL-aanvragen")
        constraints = [
            # A member asks for a title once at a time.
            models.UniqueConstraint(fields=["requesting_organisation", "member_id", "title"],
                                    condition=Q(state__in=[s.value for s in ACTIVE_STATES]),
                                    name="iblrequest_one_active_per_member_title"),
            models.CheckConstraint(condition=~Q(lender=models.F("requesting_organisation")),
                                   name="iblrequest_lender_not_requester"),
        ]
        indexes = [
            models.Index(fields=["requesting_organisation", "state"], name="iblrequest_requester"),
            models.Index(fields=["lender", "state"], name="iblrequest_lender"),
            models.Index(fields=["requesting_organisation", "member_id"], name="iblrequest_member"),
            models.Index(fields=["item_barcode"], condition=Q(state__in=[s.value for s in MOVING_STATES]),
                         name="iblrequest_moving_barcode"),
            models.Index(fields=["-created_at"], name="iblrequest_recent"),
            # Circulation asks about a stand-in (requesting side) and a library loan (lender side).
            models.Index(fields=["requester_item_id"], condition=Q(requester_item_id__isnull=False),
                         name="iblrequest_standin"),
            models.Index(fields=["lender_loan_id"], condition=Q(lender_loan_id__isnull=False),
                         name="iblrequest_lender_loan"),
        ]

    def __str__(self):
        return self.reference

    @property
    def reference(self):
        """The reference in the libraries' schemas (a library's loan or hold): ibl:<id>."""
        return f"ibl:{self.pk}"

    @property
    def is_active(self):
        return self.state in ACTIVE_STATES


class IblEvent(models.Model):
    """Every change of a request: when, by whom (an actor reference), from which state."""

    request = models.ForeignKey(IblRequest, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    from_state = models.CharField(max_length=10, blank=True)
    to_state = models.CharField(max_length=10, blank=True)
    detail = models.CharField(max_length=300, blank=True)
    organisation = models.ForeignKey("tenants.LibraryOrganisation", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    actor_ref = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["request", "at"], name="iblevent_request")]


class Ask(models.Model):
    """One lender asked for one request, and its answer: sent, declined (with a
    reason), timed out after N working days, or withdrawn (the request was cancelled)."""

    class Outcome(models.TextChoices):
        PENDING = "pending", _("Wacht op antwoord")
        SENT = "sent", _("Verstuurd")
        DECLINED = "declined", _("Kan niet leveren")
        TIMED_OUT = "timed_out", _("Geen antwoord op tijd")
        WITHDRAWN = "withdrawn", _("Ingetrokken")

    class Reason(models.TextChoices):
        NOT_ON_SHELF = "not_on_shelf", _("Niet op de plank")
        DAMAGED = "damaged", _("Beschadigd")
        RESERVED = "reserved", _("Gereserveerd door eigen leden")
        NOT_FOR_IBL = "not_for_ibl", _("Niet voor IBL")
        NO_HOLDABLE_COPY = "no_holdable_copy", _("Geen exemplaar dat voor IBL gereserveerd kan worden")
        OTHER = "other", _("Anders")

    request = models.ForeignKey(IblRequest, on_delete=models.CASCADE, related_name="asks")
    lender = models.ForeignKey("tenants.LibraryOrganisation", on_delete=models.PROTECT, related_name="+")
    branch = models.ForeignKey("tenants.Branch", on_delete=models.PROTECT, related_name="+")
    scope = models.CharField(max_length=16, choices=Scope.choices)
    asked_at = models.DateTimeField()
    answer_due_at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    reason = models.CharField(max_length=20, choices=Reason.choices, blank=True)
    reason_text = models.CharField(max_length=200, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    actor_ref = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["request", "lender"], name="ask_once_per_lender")]
        indexes = [
            models.Index(fields=["answer_due_at"], condition=Q(outcome="pending"), name="ask_pending_due"),
            models.Index(fields=["lender", "outcome"], name="ask_lender"),
        ]


class VanRoute(models.Model):
    """A POI's van route: the days of the week its van visits the route's branches
    (collecting and delivering IBL parcels), from and to the POI's hub."""

    poi = models.ForeignKey("tenants.Poi", on_delete=models.CASCADE, related_name="van_routes")
    name = models.CharField(_("naam"), max_length=80)
    weekdays = ArrayField(models.PositiveSmallIntegerField(), verbose_name=_("dagen"),
                          help_text=_("0 = maandag … 6 = zondag"))

    class Meta:
        ordering = ["poi__name", "name"]
        constraints = [models.UniqueConstraint(fields=["poi", "name"], name="vanroute_unique_name")]
        verbose_name = _("IBL-route")
        verbose_name_plural = _("IBL-routes")

    def __str__(self):
        return f"{self.name} ({self.poi})"


class VanStop(models.Model):
    """A branch on a van route (each branch on one route)."""

    route = models.ForeignKey(VanRoute, on_delete=models.CASCADE, related_name="stops")
    branch = models.OneToOneField("tenants.Branch", on_delete=models.CASCADE, related_name="ibl_stop")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["route", "position", "pk"]
        verbose_name = _("halte")
        verbose_name_plural = _("haltes")


class RunKind(models.TextChoices):
    VAN = "van", _("Bus van de POI")
    CARRIER = "carrier", _("Nachtvervoerder")


class Run(models.Model):
    """One scheduled trip: a POI's van on its route on a day, or the night carrier
    between the hubs. Runs are advanced by a daily task (ibl.tasks.runs_advance);
    legs not loaded when their run has gone move to the next run."""

    class State(models.TextChoices):
        PLANNED = "planned", _("Gepland")
        DONE = "done", _("Gereden")

    kind = models.CharField(max_length=8, choices=RunKind.choices)
    poi = models.ForeignKey("tenants.Poi", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    route = models.ForeignKey(VanRoute, on_delete=models.CASCADE, null=True, blank=True, related_name="runs")
    date = models.DateField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.PLANNED)
    manifest = models.JSONField(default=dict, blank=True)
    manifest_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["date", "kind", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "poi", "route", "date"], nulls_distinct=False,
                                    name="run_unique_per_day"),
        ]
        verbose_name = _("rit")
        verbose_name_plural = _("ritten")

    def __str__(self):
        what = self.route.name if self.route_id else ("nachtvervoer" if self.kind == RunKind.CARRIER else "bus")
        return f"{what} {self.date:%d-%m-%Y}"


class Crate(models.Model):
    """A crate with a label, sorted at a hub for one destination (a branch or
    another hub): scanning its label moves every item in it."""

    class State(models.TextChoices):
        OPEN = "open", _("Wordt gevuld")
        SENT = "sent", _("Onderweg")
        ARRIVED = "arrived", _("Aangekomen")

    code = models.CharField(_("label"), max_length=20, unique=True)
    hub = models.ForeignKey("tenants.PoiHub", on_delete=models.PROTECT, related_name="+",
                            help_text="Where it is filled")
    to_branch = models.ForeignKey("tenants.Branch", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    to_hub = models.ForeignKey("tenants.PoiHub", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(to_branch__isnull=True, to_hub__isnull=False)
                                   | Q(to_branch__isnull=False, to_hub__isnull=True), name="crate_one_destination"),
            # One open crate per hub and destination.
            models.UniqueConstraint(fields=["hub", "to_branch", "to_hub"], condition=Q(state="open"),
                                    nulls_distinct=False, name="crate_one_open_per_destination"),
        ]
        verbose_name = _("krat")
        verbose_name_plural = _("kratten")

    def __str__(self):
        return self.code


class StrayCopy(models.Model):
    """A library's own copy found at a POI hub outside interlibrary loan (a member
    handed it in at another library, whose desk put it in the IBL crate): the
    national item index says whose it is, and it goes home on legs planned like a
    request's (ibl.planning), from the hub where it was found to the branch that
    owns it. Nothing personal: the barcode, the owner and where it goes."""

    class State(models.TextChoices):
        IN_TRANSIT = "in_transit", _("Onderweg naar huis")
        HOME = "home", _("Terug bij de eigenaar")

    barcode = models.CharField(_("barcode"), max_length=20)
    owner = models.ForeignKey("tenants.LibraryOrganisation", on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("eigenaar"))
    owner_item_id = models.BigIntegerField(help_text="The item in the owner's schema (the national item index)")
    to_branch = models.ForeignKey("tenants.Branch", on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("naar vestiging"))
    found_hub = models.ForeignKey("tenants.PoiHub", on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("gevonden in"))
    found_at = models.DateTimeField(_("gevonden"))
    state = models.CharField(_("status"), max_length=10, choices=State.choices, default=State.IN_TRANSIT)
    home_at = models.DateTimeField(_("thuis"), null=True, blank=True)
    actor_ref = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        constraints = [
            # A copy is on its way home once at a time.
            models.UniqueConstraint(fields=["owner", "barcode"], condition=Q(state="in_transit"),
                                    name="straycopy_one_open_per_copy"),
        ]
        indexes = [models.Index(fields=["barcode"], condition=Q(state="in_transit"), name="straycopy_open_barcode")]
        verbose_name = _("verdwaald exemplaar")
        verbose_name_plural = _("verdwaalde exemplaren")

    def __str__(self):
        return f"{self.barcode} ({self.owner})"

    @property
    def reference(self):
        return f"terug:{self.pk}"


class Leg(models.Model):
    """One stretch a copy travels: lending branch -> hub (van), hub -> hub (night
    carrier), hub -> requesting branch (van), and back. Planned from the van
    routes and the carrier's nights (ibl.planning); scanned out where it starts and
    in where it ends."""

    class Direction(models.TextChoices):
        OUT = "out", _("Heen")
        BACK = "back", _("Terug")

    class State(models.TextChoices):
        PLANNED = "planned", _("Gepland")
        IN_TRANSIT = "in_transit", _("Onderweg")
        ARRIVED = "arrived", _("Aangekomen")
        REROUTED = "rerouted", _("Omgeleid")
        LOST = "lost", _("Verloren")
        DAMAGED = "damaged", _("Beschadigd")
        CANCELLED = "cancelled", _("Vervallen")

    # A request's copy, or (request empty) a stray copy going home.
    request = models.ForeignKey(IblRequest, on_delete=models.CASCADE, null=True, blank=True, related_name="legs")
    stray = models.ForeignKey(StrayCopy, on_delete=models.CASCADE, null=True, blank=True, related_name="legs")
    direction = models.CharField(max_length=4, choices=Direction.choices)
    sequence = models.PositiveSmallIntegerField()
    mode = models.CharField(max_length=8, choices=RunKind.choices)
    poi = models.ForeignKey("tenants.Poi", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                            help_text="Who drives it (the night carrier: none)")
    from_branch = models.ForeignKey("tenants.Branch", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    from_hub = models.ForeignKey("tenants.PoiHub", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+")
    to_branch = models.ForeignKey("tenants.Branch", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    to_hub = models.ForeignKey("tenants.PoiHub", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    run = models.ForeignKey(Run, on_delete=models.SET_NULL, null=True, blank=True, related_name="legs")
    crate = models.ForeignKey(Crate, on_delete=models.SET_NULL, null=True, blank=True, related_name="legs")
    planned_on = models.DateField(_("vertrek gepland"))
    planned_arrival_on = models.DateField(_("aankomst gepland"))
    state = models.CharField(max_length=10, choices=State.choices, default=State.PLANNED)
    scanned_out_at = models.DateTimeField(null=True, blank=True)
    out_by_ref = models.CharField(max_length=40, blank=True, default="")
    scanned_in_at = models.DateTimeField(null=True, blank=True)
    in_by_ref = models.CharField(max_length=40, blank=True, default="")
    late_since = models.DateField(null=True, blank=True)
    delayed = models.PositiveSmallIntegerField(default=0, help_text="How often it missed its run")
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["request", "direction", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["request", "direction", "sequence"], name="leg_unique_sequence"),
            models.UniqueConstraint(fields=["stray", "sequence"], condition=Q(stray__isnull=False),
                                    name="leg_unique_stray_sequence"),
            models.CheckConstraint(condition=Q(request__isnull=True, stray__isnull=False)
                                   | Q(request__isnull=False, stray__isnull=True), name="leg_one_parcel"),
            models.CheckConstraint(condition=Q(from_branch__isnull=True, from_hub__isnull=False)
                                   | Q(from_branch__isnull=False, from_hub__isnull=True), name="leg_one_origin"),
            models.CheckConstraint(condition=Q(to_branch__isnull=True, to_hub__isnull=False)
                                   | Q(to_branch__isnull=False, to_hub__isnull=True), name="leg_one_destination"),
        ]
        indexes = [
            models.Index(fields=["planned_arrival_on"], condition=Q(state__in=["planned", "in_transit"]),
                         name="leg_open_arrival"),
            models.Index(fields=["to_hub", "state"], name="leg_to_hub"),
            models.Index(fields=["from_hub", "state"], name="leg_from_hub"),
            models.Index(fields=["run"], name="leg_run"),
        ]
        verbose_name = _("transportdeel")
        verbose_name_plural = _("transportdelen")

    @property
    def is_open(self):
        return self.state in (self.State.PLANNED, self.State.IN_TRANSIT)

    @property
    def origin(self):
        return self.from_branch or self.from_hub

    @property
    def destination(self):
        return self.to_branch or self.to_hub


class Scan(models.Model):
    """Every scan at a hub or an IBL desk, also of parcels nobody knows: nothing
    in transit goes unaccounted for."""

    at = models.DateTimeField(auto_now_add=True)
    hub = models.ForeignKey("tenants.PoiHub", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    branch = models.ForeignKey("tenants.Branch", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    code = models.CharField(max_length=40)
    outcome = models.CharField(max_length=40)
    request = models.ForeignKey(IblRequest, on_delete=models.SET_NULL, null=True, blank=True, related_name="scans")
    stray = models.ForeignKey(StrayCopy, on_delete=models.SET_NULL, null=True, blank=True, related_name="scans")
    crate = models.ForeignKey(Crate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    actor_ref = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["hub", "-at"], name="scan_hub_recent")]


class HubStaff(models.Model):
    """A staff account that works at a POI hub: it signs in on the national site
    and scans parcels in and out on the hub screen. (POI administrators may work at
    their POI's hubs too.) Granted by the POI's administrators in the admin."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ibl_hubs")
    hub = models.ForeignKey("tenants.PoiHub", on_delete=models.CASCADE, related_name="ibl_staff")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "hub"], name="hubstaff_unique")]
        verbose_name = _("medewerker sorteercentrum")
        verbose_name_plural = _("medewerkers sorteercentrum")

    def __str__(self):
        return f"{self.user} ({self.hub})"


class Settlement(models.Model):
    """A cost between two parties of interlibrary loan, for settlement: a lender's
    compensation for a copy lost or damaged, owed by the requesting library, a POI
    or the carrier (whoever had it: the leg it happened on)."""

    class Kind(models.TextChoices):
        LOST = "lost", _("Verloren")
        DAMAGED = "damaged", _("Beschadigd")

    class Party(models.TextChoices):
        LIBRARY = "library", _("Aanvragende bibliotheek")
        POI = "poi", _("POI")
        CARRIER = "carrier", _("Nachtvervoerder")
        LENDER = "lender", _("Uitlenende bibliotheek")

    request = models.ForeignKey(IblRequest, on_delete=models.PROTECT, related_name="settlements")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    payee = models.ForeignKey("tenants.LibraryOrganisation", on_delete=models.PROTECT, related_name="+")
    payer = models.ForeignKey("tenants.LibraryOrganisation", on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", help_text="The requesting library, when it is the one to pay")
    payer_party = models.CharField(max_length=8, choices=Party.choices)
    payer_poi = models.ForeignKey("tenants.Poi", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    leg = models.ForeignKey(Leg, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    amount_cents = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    actor_ref = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["request", "kind"], name="settlement_once_per_request")]
        verbose_name = _("verrekening")
        verbose_name_plural = _("verrekeningen")


# A leg whose parcel is still on its way: a request's copy sent or coming back, or a
# stray copy going home (the hub's expected count and the late flags ask the same).
LEG_PARCEL_IN_TRANSPORT = (Q(request__state__in=[RequestState.SENT, RequestState.RETURNING])
                           | Q(stray__state=StrayCopy.State.IN_TRANSIT))

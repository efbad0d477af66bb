"""Acquisitions (tenant schema): suppliers, funds (budgets), order lists and
orders with their lines, deliveries received into items, invoices, and the
EDIFACT messages exchanged with suppliers.

Money is integer euro cents everywhere (core.money); percentages are basis
points (900 = 9 %). References into the public schema (titles, branches, staff)
carry no database constraint (see collection.models); the services check them.

A fund's committed and spent amounts are kept on the fund row, changed only by
the services under the fund's row lock, and every change is a FundEntry: the
committed amount of a fund is what its sent order lines will still cost
(unit cost x copies neither cancelled nor invoiced), the spent amount what its
approved invoice lines cost (ordering.selectors.fund_totals_check compares them).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from collection.models import CollectionKind, ItemType


class TargetGroup(models.TextChoices):
    """Doelgroepgericht collectioneren: collection budget spent on a target group
    (norm: at least 20 % of the collection budget)."""

    YOUTH_READING = "youth_reading", _("Leesbevordering jeugd")
    LOW_LITERACY = "low_literacy", _("Laaggeletterdheid en makkelijk lezen")
    NEWCOMERS = "newcomers", _("Nieuwkomers en NT2")
    SENIORS = "seniors", _("Ouderen")
    READING_DISABILITY = "reading_disability", _("Mensen met een leesbeperking")


class EdiIdQualifier(models.TextChoices):
    EAN = "14", _("EAN/GLN (14)")
    SAN = "31B", _("SAN (31B)")
    ZZZ = "ZZZ", _("Onderling afgesproken (ZZZ)")


class Supplier(models.Model):
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("naam"), max_length=200)
    contact_name = models.CharField(_("contactpersoon"), max_length=200, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("telefoon"), max_length=40, blank=True)
    address = models.TextField(_("adres"), blank=True)
    default_discount_bp = models.PositiveIntegerField(_("standaardkorting (basispunten)"), default=0)
    vat_bp = models.PositiveIntegerField(_("btw (basispunten)"), default=900)
    delivery_days = models.PositiveSmallIntegerField(_("levertijd (dagen)"), default=14)
    # EDIFACT (EDItEUR library profile)
    edi_enabled = models.BooleanField(_("bestellen via EDIFACT"), default=False)
    edi_id = models.CharField(_("EDIFACT-code leverancier (EAN/SAN)"), max_length=35, blank=True)
    edi_id_qualifier = models.CharField(_("soort code"), max_length=3, choices=EdiIdQualifier.choices,
                                        default=EdiIdQualifier.EAN)
    buyer_edi_id = models.CharField(_("onze EDIFACT-code bij deze leverancier"), max_length=35, blank=True)
    shelf_ready = models.BooleanField(_("levert kant-en-klaar (met barcodes)"), default=False)
    # MARC 003 of the title descriptions built from this supplier's CSV title lists.
    catalogue_source = models.CharField(_("bron voor titels uit CSV-lijsten (MARC 003)"), max_length=64, blank=True)
    is_active = models.BooleanField(_("actief"), default=True)
    actor_ref = models.CharField(max_length=40, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("leverancier")
        verbose_name_plural = _("leveranciers")
        constraints = [
            models.CheckConstraint(condition=Q(default_discount_bp__lte=10000), name="supplier_discount_max"),
            models.CheckConstraint(condition=Q(vat_bp__lte=10000), name="supplier_vat_max"),
        ]

    def __str__(self):
        return self.name


class SupplierAccount(models.Model):
    """The library's customer account at a supplier for one branch, with the
    branch's delivery location code (EAN/GLN)."""

    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="accounts")
    branch = models.ForeignKey("tenants.Branch", on_delete=models.DO_NOTHING, db_constraint=False,
                               related_name="+")
    account_number = models.CharField(_("klantnummer"), max_length=40)
    delivery_location = models.CharField(_("afleverlocatie (EAN/GLN)"), max_length=35, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["supplier", "branch"], name="supplier_account_branch")]


class Fund(models.Model):
    """A budget of one year, possibly under a parent fund (youth -> picture books)."""

    year = models.PositiveSmallIntegerField(_("jaar"))
    code = models.CharField(_("code"), max_length=20)
    name = models.CharField(_("naam"), max_length=120)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children",
                               verbose_name=_("valt onder"))
    allocated_cents = models.BigIntegerField(_("toegekend (cent)"), default=0)
    committed_cents = models.BigIntegerField(_("vastgelegd (cent)"), default=0)
    spent_cents = models.BigIntegerField(_("uitgegeven (cent)"), default=0)
    target_group = models.CharField(_("doelgroep"), max_length=24, choices=TargetGroup.choices, blank=True)
    ledger_account = models.CharField(_("grootboekrekening"), max_length=20, blank=True)
    is_active = models.BooleanField(_("actief"), default=True)
    # The fund of the previous year this one was rolled over from.
    rolled_from = models.OneToOneField("self", on_delete=models.SET_NULL, null=True, blank=True,
                                       related_name="rolled_to")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["year", "code"]
        verbose_name = _("fonds")
        verbose_name_plural = _("fondsen")
        constraints = [
            models.UniqueConstraint(fields=["year", "code"], name="fund_year_code"),
            models.CheckConstraint(condition=Q(allocated_cents__gte=0), name="fund_allocated_not_negative"),
            models.CheckConstraint(condition=Q(committed_cents__gte=0), name="fund_committed_not_negative"),
            models.CheckConstraint(condition=Q(spent_cents__gte=0), name="fund_spent_not_negative"),
        ]

    def __str__(self):
        return f"{self.code} {self.name} ({self.year})"

    @property
    def left_cents(self):
        return self.allocated_cents - self.committed_cents - self.spent_cents


class FundEntryKind(models.TextChoices):
    ALLOCATE = "allocate", _("Toekenning")
    COMMIT = "commit", _("Vastgelegd")
    SPEND = "spend", _("Uitgegeven")


class FundEntry(models.Model):
    """One change of a fund's allocated, committed or spent amount (signed cents)."""

    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=10, choices=FundEntryKind.choices)
    amount_cents = models.BigIntegerField()
    order_line = models.ForeignKey("OrderLine", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    invoice_line = models.ForeignKey("InvoiceLine", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    reason = models.CharField(max_length=200, blank=True)
    staff_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False,
                                   null=True, blank=True, related_name="+")
    actor_ref = models.CharField(max_length=40, blank=True, default="")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["fund", "kind", "at"], name="fundentry_fund_kind_at")]


class OrderingSettings(models.Model):
    """The library's acquisitions settings (one row, pk=1)."""

    # Purchase suggestions: titles with more waiting holds per copy than this.
    holds_per_copy = models.DecimalField(_("reserveringen per exemplaar"), max_digits=5, decimal_places=2,
                                         default=3)
    # A line not delivered this many days after its expected date is flagged for a claim.
    claim_grace_days = models.PositiveSmallIntegerField(_("dagen na verwachte levering tot rappel"), default=7)
    last_order_number = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)


class OrderStatus(models.TextChoices):
    DRAFT = "draft", _("Bestellijst")
    ORDERED = "ordered", _("Besteld")
    CLOSED = "closed", _("Afgerond")
    CANCELLED = "cancelled", _("Geannuleerd")


class Order(models.Model):
    """An order list (draft) and, once sent, the order at one supplier."""

    number = models.CharField(_("bestelnummer"), max_length=20, unique=True)
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="orders")
    name = models.CharField(_("omschrijving"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=OrderStatus.choices, default=OrderStatus.DRAFT)
    note = models.TextField(_("opmerking voor de leverancier"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False,
                                   null=True, blank=True, related_name="+")
    actor_ref = models.CharField(max_length=40, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(_("verstuurd op"), null=True, blank=True)
    sent_by_ref = models.CharField(max_length=40, blank=True, default="")
    expected_on = models.DateField(_("verwacht op"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("bestelling")
        verbose_name_plural = _("bestellingen")

    def __str__(self):
        return self.number


class SupplierStatus(models.TextChoices):
    ACCEPTED = "accepted", _("Geaccepteerd")
    BACKORDERED = "backordered", _("In nalevering")
    CANCELLED = "cancelled", _("Geannuleerd door leverancier")
    CHANGED = "changed", _("Gewijzigd door leverancier")
    NOT_FOUND = "not_found", _("Onbekend bij leverancier")


class LineSource(models.TextChoices):
    SEARCH = "search", _("Catalogus")
    SUPPLIER_LIST = "supplier_list", _("Titellijst leverancier")
    SUGGESTION = "suggestion", _("Aanschafsuggestie")


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveIntegerField()
    title = models.ForeignKey("catalogue.Title", on_delete=models.DO_NOTHING, db_constraint=False,
                              related_name="+")
    # What the order and the supplier's messages show (a snapshot of the title).
    isbn = models.CharField(_("ISBN/EAN"), max_length=13, blank=True)
    description = models.CharField(_("titel"), max_length=300)
    author = models.CharField(_("auteur"), max_length=200, blank=True)
    quantity = models.PositiveIntegerField(_("aantal"))
    list_price_cents = models.PositiveIntegerField(_("prijs per exemplaar (cent, incl. btw)"))
    discount_bp = models.PositiveIntegerField(_("korting (basispunten)"), default=0)
    vat_bp = models.PositiveIntegerField(_("btw (basispunten)"), default=900)
    # list price less discount, rounded to the cent: what one copy costs the fund.
    unit_cost_cents = models.PositiveIntegerField(_("kosten per exemplaar (cent)"))
    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="lines")
    item_type = models.CharField(_("soort"), max_length=20, choices=ItemType.choices, default=ItemType.BOOK)
    collection = models.CharField(_("collectie"), max_length=20, choices=CollectionKind.choices,
                                  default=CollectionKind.ADULT)
    source = models.CharField(max_length=16, choices=LineSource.choices, default=LineSource.SEARCH)
    note = models.CharField(_("opmerking"), max_length=200, blank=True)
    quantity_cancelled = models.PositiveIntegerField(default=0)
    quantity_received = models.PositiveIntegerField(default=0)
    quantity_invoiced = models.PositiveIntegerField(default=0)
    supplier_status = models.CharField(max_length=12, choices=SupplierStatus.choices, blank=True)
    supplier_status_code = models.CharField(max_length=8, blank=True)
    supplier_status_text = models.CharField(max_length=200, blank=True)
    supplier_available_on = models.DateField(null=True, blank=True)
    expected_on = models.DateField(_("verwacht op"), null=True, blank=True)
    # Set by the daily late-lines task, cleared when a claim is sent or the line is complete.
    claim_flagged_on = models.DateField(null=True, blank=True)
    claims_sent = models.PositiveSmallIntegerField(default=0)
    last_claimed_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["order", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_number"], name="orderline_number"),
            models.CheckConstraint(condition=Q(list_price_cents__gt=0), name="orderline_price_positive"),
            models.CheckConstraint(condition=Q(discount_bp__lt=10000), name="orderline_discount_below_100"),
            models.CheckConstraint(
                condition=Q(quantity_cancelled__lte=F("quantity") - F("quantity_received")),
                name="orderline_cancelled_within_open"),
            models.CheckConstraint(condition=Q(quantity_received__lte=F("quantity") - F("quantity_cancelled")),
                                   name="orderline_received_within_ordered"),
            models.CheckConstraint(condition=Q(quantity_invoiced__lte=F("quantity") - F("quantity_cancelled")),
                                   name="orderline_invoiced_within_ordered"),
        ]
        indexes = [models.Index(fields=["claim_flagged_on"], name="orderline_claim",
                                condition=Q(claim_flagged_on__isnull=False))]

    def __str__(self):
        return f"{self.order.number}/{self.line_number}"

    @property
    def reference(self):
        """The buyer's line reference in EDIFACT (RFF+LI): order number / line number."""
        return f"{self.order.number}/{self.line_number}"

    @property
    def quantity_open(self):
        """Copies still to come."""
        return self.quantity - self.quantity_cancelled - self.quantity_received

    @property
    def quantity_to_invoice(self):
        return self.quantity - self.quantity_cancelled - self.quantity_invoiced

    @property
    def committed_cents(self):
        """What this line still commits of its fund once the order is sent."""
        return self.unit_cost_cents * self.quantity_to_invoice


class LineCopies(models.Model):
    """Where a line's copies go: so many to this branch and shelf location."""

    line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="copies")
    branch = models.ForeignKey("tenants.Branch", on_delete=models.DO_NOTHING, db_constraint=False,
                               related_name="+")
    shelf_location = models.CharField(_("plaats"), max_length=80, blank=True)
    quantity = models.PositiveIntegerField()
    quantity_received = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["line", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="linecopies_quantity_positive"),
            models.CheckConstraint(condition=Q(quantity_received__lte=F("quantity")),
                                   name="linecopies_received_within"),
        ]


class DeliveryStatus(models.TextChoices):
    ANNOUNCED = "announced", _("Aangekondigd (kant-en-klaar)")
    RECEIVED = "received", _("Ontvangen")


class Delivery(models.Model):
    """What arrived from a supplier in one go (a delivery note), or, for a
    shelf-ready supplier, what its invoice announced with barcodes."""

    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="deliveries")
    reference = models.CharField(_("pakbon"), max_length=35, blank=True)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.RECEIVED)
    invoice = models.ForeignKey("Invoice", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="deliveries")
    received_at = models.DateTimeField(null=True, blank=True)
    staff_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False,
                                   null=True, blank=True, related_name="+")
    actor_ref = models.CharField(max_length=40, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["supplier", "reference"], condition=~Q(reference=""),
                                    name="delivery_supplier_reference"),
        ]


class ReceivedCopy(models.Model):
    """One copy of a delivery: received into an item (barcode), or for an
    announced shelf-ready delivery, expected with its barcode."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="copies")
    line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="received_copies")
    copies = models.ForeignKey(LineCopies, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    barcode = models.CharField(_("barcode"), max_length=20)
    received = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["barcode"], name="receivedcopy_barcode")]


class InvoiceStatus(models.TextChoices):
    REGISTERED = "registered", _("Geregistreerd")
    APPROVED = "approved", _("Betaalbaar gesteld")


class Invoice(models.Model):
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="invoices")
    number = models.CharField(_("factuurnummer"), max_length=35)
    invoice_date = models.DateField(_("factuurdatum"))
    status = models.CharField(max_length=12, choices=InvoiceStatus.choices, default=InvoiceStatus.REGISTERED)
    # The total the supplier states (incl. VAT); the lines must add up to it.
    total_cents = models.BigIntegerField(_("totaal (cent, incl. btw)"))
    edi_message = models.ForeignKey("EdiMessage", on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    actor_ref = models.CharField(max_length=40, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_on = models.DateField(null=True, blank=True)  # the journal's day
    approved_by_ref = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        ordering = ["-invoice_date", "-pk"]
        constraints = [models.UniqueConstraint(fields=["supplier", "number"], name="invoice_supplier_number")]

    def __str__(self):
        return self.number


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="invoice_lines")
    quantity = models.PositiveIntegerField()
    amount_cents = models.BigIntegerField(_("bedrag (cent, incl. btw)"))
    vat_cents = models.BigIntegerField(_("btw (cent)"), default=0)

    class Meta:
        ordering = ["invoice", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="invoiceline_quantity_positive"),
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="invoiceline_amount_positive"),
        ]


class EdiDirection(models.TextChoices):
    OUT = "out", _("Verstuurd")
    IN = "in", _("Ontvangen")


class EdiMessage(models.Model):
    """An EDIFACT interchange sent (ORDERS) or read (ORDRSP, INVOIC), kept as it was."""

    direction = models.CharField(max_length=3, choices=EdiDirection.choices)
    kind = models.CharField(max_length=6)
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="edi_messages")
    order = models.ForeignKey(Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="edi_messages")
    interchange_ref = models.CharField(max_length=14)
    file_name = models.CharField(max_length=200, blank=True)
    content = models.TextField()
    summary = models.TextField(blank=True)
    actor_ref = models.CharField(max_length=40, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

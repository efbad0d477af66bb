"""What the API takes and gives: input serializers check only the shape of a
request (types, lengths, patterns: what the OpenAPI schema documents); the rules
are the services'. Output serializers are the documented response bodies; views
build them from the services' and selectors' results (api/presenters.py)."""

from rest_framework import serializers

from catalogue.models import Audience, MaterialType
from circulation.models import HoldStatus
from collection.models import CollectionKind, ItemStatus, ItemType
from core.money import MAX_AMOUNT_CENTS
from members.models import LedgerEntry

from .fields import (
    FullMatch,
    StrictCharField,
    StrictChoiceField,
    StrictDateField,
    StrictIntegerField,
    StrictQueryIntegerField,
    barcode_field,
    card_field,
    id_field,
)

ROUTES = ["shelf", "transit", "hold_shelf", "hold_transit", "keep"]
MACHINE_PAYMENT_METHODS = [LedgerEntry.PaymentMethod.PIN, LedgerEntry.PaymentMethod.CASH]


# --- errors -------------------------------------------------------------------------------

class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable code, declared in an app's errors.py (docs/error-codes.md)")
    field = serializers.CharField(allow_null=True, help_text="The request field the refusal is about, if any")
    params = serializers.DictField(help_text="The values the message names")
    message = serializers.CharField(help_text="The sentence, in the request's language (Dutch by default)")


class ErrorResponseSerializer(serializers.Serializer):
    errors = ErrorSerializer(many=True)


# --- self-service input --------------------------------------------------------------------

class PatronCheckIn(serializers.Serializer):
    card_number = card_field()
    pin = StrictCharField(min_length=1, max_length=32, trim_whitespace=False, help_text="PIN of the card")


class CheckoutIn(serializers.Serializer):
    card_number = card_field()
    barcode = barcode_field()
    pin = StrictCharField(min_length=1, max_length=32, trim_whitespace=False, required=False,
                          help_text="The card's PIN, checked first (with the sign-in lock-out); required when "
                                    "the machine requires the PIN (403 api.pin_required)")


class CheckinIn(serializers.Serializer):
    barcode = barcode_field()


class RenewIn(serializers.Serializer):
    card_number = card_field()
    barcode = barcode_field()
    pin = StrictCharField(min_length=1, max_length=32, trim_whitespace=False, required=False,
                          help_text="The card's PIN, checked first (with the sign-in lock-out); required when "
                                    "the machine requires the PIN (403 api.pin_required)")


class RenewAllIn(serializers.Serializer):
    card_number = card_field()
    pin = StrictCharField(min_length=1, max_length=32, trim_whitespace=False, required=False,
                          help_text="The card's PIN, checked first (with the sign-in lock-out); required when "
                                    "the machine requires the PIN (403 api.pin_required)")


class PaymentIn(serializers.Serializer):
    card_number = card_field()
    amount_cents = StrictIntegerField(min_value=1, max_value=MAX_AMOUNT_CENTS, help_text="Amount paid, in euro cents")
    method = StrictChoiceField(choices=MACHINE_PAYMENT_METHODS, help_text="pin (card terminal) or cash")
    pin = StrictCharField(min_length=1, max_length=32, trim_whitespace=False, required=False,
                          help_text="The card's PIN, checked first (with the sign-in lock-out); required when "
                                    "the machine requires the PIN (403 api.pin_required)")


# --- integration input ---------------------------------------------------------------------

class HoldPlaceIn(serializers.Serializer):
    member_id = id_field()
    title_id = id_field(required=False, help_text="Reserve the title (any copy); or give item_barcode")
    item_barcode = barcode_field(required=False, help_text="Reserve this copy (its title_id need not be given); "
                                                           "without title_id and item_barcode: 409 hold.title_missing")
    pickup_branch_id = id_field()


class HoldCancelIn(serializers.Serializer):
    reason = StrictCharField(max_length=200, required=False, allow_blank=True)


class PageQuery(serializers.Serializer):
    limit = StrictQueryIntegerField(min_value=1, max_value=100, default=20, required=False)
    offset = StrictQueryIntegerField(min_value=0, max_value=10_000, default=0, required=False)


class MemberSearchQuery(PageQuery):
    q = serializers.CharField(max_length=100, required=False, allow_blank=True,
                              help_text="One search box: card number, e-mail, date of birth (dd-mm-jjjj), "
                                        "postcode with house number, or a name")
    card_number = serializers.CharField(max_length=20, required=False, allow_blank=True)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    postcode = serializers.CharField(max_length=7, required=False, allow_blank=True)
    house_number = serializers.CharField(max_length=10, required=False, allow_blank=True)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    date_of_birth = StrictDateField(required=False)


class TitleSearchQuery(PageQuery):
    q = serializers.CharField(max_length=200, required=False, allow_blank=True,
                              help_text="Words, an ISBN or EAN; without q, the filters list titles newest first")
    material_type = serializers.ChoiceField(choices=MaterialType.choices, required=False)
    language = serializers.CharField(min_length=3, max_length=3, required=False, trim_whitespace=False,
                                     validators=[FullMatch(r"^[a-z]{3}$")], help_text="MARC language code, e.g. dut")
    audience = serializers.ChoiceField(choices=Audience.choices, required=False)
    year_from = StrictQueryIntegerField(min_value=0, max_value=9999, required=False)
    year_to = StrictQueryIntegerField(min_value=0, max_value=9999, required=False)


# --- output ------------------------------------------------------------------------------

class LoanOut(serializers.Serializer):
    id = serializers.IntegerField()
    barcode = serializers.CharField()
    title_id = serializers.IntegerField()
    title = serializers.CharField()
    loaned_at = serializers.DateTimeField()
    due_on = serializers.DateField()
    renewals = serializers.IntegerField()
    overdue_days = serializers.IntegerField()
    branch_id = serializers.IntegerField(help_text="Branch where it was lent")


class HoldOut(serializers.Serializer):
    id = serializers.IntegerField()
    member_id = serializers.IntegerField(allow_null=True)
    title_id = serializers.IntegerField()
    title = serializers.CharField()
    item_barcode = serializers.CharField(allow_null=True, help_text="Set for a hold on one copy")
    pickup_branch_id = serializers.IntegerField()
    pickup_branch_name = serializers.CharField()
    status = serializers.ChoiceField(choices=HoldStatus.choices)
    placed_at = serializers.DateTimeField()
    expected_on = serializers.DateField(allow_null=True, help_text="When it is expected to be ready")
    expected_position = serializers.IntegerField(allow_null=True, help_text="Place in the queue")
    shelf_until = serializers.DateField(allow_null=True, help_text="Last day to pick it up (when ready)")


class MemberSummaryOut(serializers.Serializer):
    id = serializers.IntegerField()
    card_number = serializers.CharField()
    full_name = serializers.CharField()
    date_of_birth = serializers.DateField(allow_null=True)
    postcode = serializers.CharField()
    city = serializers.CharField()


class MemberOut(MemberSummaryOut):
    first_name = serializers.CharField()
    name_prefix = serializers.CharField()
    last_name = serializers.CharField()
    street = serializers.CharField()
    house_number = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    category = serializers.CharField(help_text="Member category code")
    subscription = serializers.CharField(help_text="Subscription type code")
    expires_on = serializers.DateField(allow_null=True)
    preferred_branch_id = serializers.IntegerField(allow_null=True)
    may_borrow = serializers.BooleanField()
    reasons = ErrorSerializer(many=True, help_text="Why the member may not borrow now (codes)")
    balance_cents = serializers.IntegerField(help_text="Open balance; negative is a credit")


class PatronOut(serializers.Serializer):
    member_id = serializers.IntegerField()
    card_number = serializers.CharField()
    name = serializers.CharField()
    may_borrow = serializers.BooleanField()
    reasons = ErrorSerializer(many=True)
    balance_cents = serializers.IntegerField()
    overdue_count = serializers.IntegerField()
    holds_ready_count = serializers.IntegerField()
    loans = LoanOut(many=True)
    holds = HoldOut(many=True)


class CheckoutOut(serializers.Serializer):
    loan = LoanOut()
    renewed = serializers.BooleanField(help_text="The card already had this copy: it was renewed")
    fee_cents = serializers.IntegerField()


class NoteOut(serializers.Serializer):
    code = serializers.CharField()
    params = serializers.DictField()
    message = serializers.CharField()


class CheckinOut(serializers.Serializer):
    barcode = serializers.CharField()
    title_id = serializers.IntegerField()
    title = serializers.CharField()
    route = serializers.ChoiceField(choices=ROUTES, help_text="Where the copy goes: the sorting bin")
    code = serializers.CharField(help_text="route.* code of the routing")
    params = serializers.DictField()
    message = serializers.CharField(help_text="The routing sign")
    destination_branch_id = serializers.IntegerField(allow_null=True)
    hold_id = serializers.IntegerField(allow_null=True)
    loan_ended = serializers.BooleanField()
    fine_cents = serializers.IntegerField()
    notes = NoteOut(many=True)


class RenewOutcomeOut(serializers.Serializer):
    loan = LoanOut()
    renewed = serializers.BooleanField()
    errors = ErrorSerializer(many=True)


class RenewAllOut(serializers.Serializer):
    results = RenewOutcomeOut(many=True)


class PaymentOut(serializers.Serializer):
    id = serializers.IntegerField()
    amount_cents = serializers.IntegerField()
    method = serializers.CharField()
    balance_cents = serializers.IntegerField()


class ItemOut(serializers.Serializer):
    barcode = serializers.CharField()
    title_id = serializers.IntegerField()
    title = serializers.CharField()
    item_type = serializers.ChoiceField(choices=ItemType.choices)
    collection = serializers.ChoiceField(choices=CollectionKind.choices)
    status = serializers.ChoiceField(choices=ItemStatus.choices)
    status_label = serializers.CharField()
    not_for_loan = serializers.BooleanField()
    owning_branch_id = serializers.IntegerField()
    current_branch_id = serializers.IntegerField()
    shelf_location = serializers.CharField()
    call_number = serializers.CharField()
    due_on = serializers.DateField(allow_null=True, help_text="When lent: the due date")


class HoldingCountsOut(serializers.Serializer):
    total = serializers.IntegerField()
    available = serializers.IntegerField()


class TitleOut(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    subtitle = serializers.CharField()
    responsibility = serializers.CharField()
    contributors = serializers.CharField(help_text="Authors and other makers")
    year = serializers.IntegerField(allow_null=True)
    isbns = serializers.ListField(child=serializers.CharField())
    publisher = serializers.CharField()
    series = serializers.CharField()
    language = serializers.CharField()
    material_type = serializers.ChoiceField(choices=MaterialType.choices)
    audience = serializers.ChoiceField(choices=Audience.choices)
    here = HoldingCountsOut(help_text="Copies of this library")
    elsewhere = HoldingCountsOut(help_text="Copies of other libraries in LSB")


class BranchAvailabilityOut(serializers.Serializer):
    branch_id = serializers.IntegerField()
    branch_name = serializers.CharField()
    total = serializers.IntegerField()
    available = serializers.IntegerField()


class LibraryAvailabilityOut(serializers.Serializer):
    organisation_id = serializers.IntegerField()
    name = serializers.CharField()
    province = serializers.CharField()
    total = serializers.IntegerField()
    available = serializers.IntegerField()


class AvailabilityOut(serializers.Serializer):
    title_id = serializers.IntegerField()
    here = BranchAvailabilityOut(many=True, help_text="This library's copies per owning branch")
    elsewhere = LibraryAvailabilityOut(many=True, help_text="Other libraries (national holdings index)")
    elsewhere_total = serializers.IntegerField()
    elsewhere_available = serializers.IntegerField()


def page_of(item_serializer, name):
    """A page of a list: `results` with limit, offset, has_more and the next page's URL."""
    return type(name, (serializers.Serializer,), {
        "limit": serializers.IntegerField(),
        "offset": serializers.IntegerField(),
        "has_more": serializers.BooleanField(),
        "next": serializers.URLField(allow_null=True),
        "results": item_serializer(many=True),
    })


def list_of(item_serializer, name):
    return type(name, (serializers.Serializer,), {"results": item_serializer(many=True)})


MemberPageOut = page_of(MemberSummaryOut, "MemberPage")
TitlePageOut = page_of(TitleOut, "TitlePage")
LoanListOut = list_of(LoanOut, "LoanList")
HoldListOut = list_of(HoldOut, "HoldList")
ItemListOut = list_of(ItemOut, "ItemList")


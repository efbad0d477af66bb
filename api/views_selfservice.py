"""Self-service (machine keys): patron check, checkout, checkin with routing,
renew, renew all, pay; and item information (any key). Each calls the same
service as the desk and SIP2, as the machine at its branch."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from circulation.borrowers import borrower_find, guest_lookups_audited
from circulation.selectors import member_holds, member_loans, title_texts
from circulation.selectors_items import item_open_loan
from circulation.services.loans import checkin, checkout, renew, renew_all
from collection.selectors import item_get
from core.errors import ServiceError
from members.selectors.access import member_shown
from members.selectors.ledger import member_balance_cents, member_may_borrow
from members.selectors.registration import member_by_card
from members.services.auth import member_authenticate
from members.services.ledger import ledger_payment

from . import presenters
from .exceptions import ApiRefusal
from .permissions import HasApiKey, MachineKey
from .serializers import (
    CheckinIn,
    CheckinOut,
    CheckoutIn,
    CheckoutOut,
    ItemOut,
    LoanOut,
    PatronCheckIn,
    PatronOut,
    PaymentIn,
    PaymentOut,
    RenewAllIn,
    RenewAllOut,
    RenewIn,
)
from .views_base import BODY_ERRORS, ApiView, errors

TAG = ["self-service"]


def _client_address(request):
    return request.META.get("REMOTE_ADDR") or None


def _loan_with_title(loan):
    loan.title = type("TitleText", (), {"title": title_texts([loan.title_id]).get(loan.title_id, "")})()
    return loan


class MachineView(ApiView):
    permission_classes = [MachineKey]

    def body(self, serializer_class):
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def patron_pin(self, data):
        """The card's PIN, checked as everywhere (member_authenticate, with its lock-out)
        when given; a machine that requires the PIN (as in SIP2) refuses without one."""
        if "pin" in data:
            member_authenticate(card_number=data["card_number"], pin=data["pin"],
                                address=_client_address(self.request), channel="api")
        elif getattr(self.request.auth.account, "patron_pin_required", True):
            raise ApiRefusal("api.pin_required", field="pin")


class PatronCheckView(MachineView):
    @extend_schema(
        tags=TAG, operation_id="selfservice_patron_check", request=PatronCheckIn,
        responses={200: PatronOut, **errors(*BODY_ERRORS)},
        summary="Check a card and PIN; the patron's status, loans and holds",
        description="The PIN is checked with the same lock-out as the OPAC and SIP2 (auth.invalid, auth.locked, "
                    "auth.address_locked: 403). The read is in the member's audit log under the machine.",
    )
    def post(self, request):
        data = self.body(PatronCheckIn)
        member = member_authenticate(card_number=data["card_number"], pin=data["pin"],
                                     address=_client_address(request), channel="api")
        member_shown(self.actor, member, purpose="api_patron_check")
        may_borrow, reasons = member_may_borrow(member)
        loans = member_loans(member)
        holds = member_holds(member)
        body = {
            "member_id": member.pk,
            "card_number": member.card_number,
            "name": member.full_name,
            "may_borrow": may_borrow,
            "reasons": presenters.errors_of(reasons),
            "balance_cents": member_balance_cents(member),
            "overdue_count": sum(1 for loan in loans if loan.overdue_days),
            "holds_ready_count": sum(1 for hold in holds if hold.status == "ready"),
            "loans": [presenters.loan(loan) for loan in loans],
            "holds": [presenters.hold(hold) for hold in holds],
        }
        return Response(PatronOut(body).data)


class CheckoutView(MachineView):
    @extend_schema(
        tags=TAG, operation_id="selfservice_checkout", request=CheckoutIn,
        responses={201: CheckoutOut, 200: OpenApiResponse(CheckoutOut, description="The card had it: renewed"),
                   **errors(*BODY_ERRORS, 404, 409, 422)},
        summary="Lend a copy to a card at the machine's branch",
        description="A refused checkout lists every reason (409, codes such as checkout.limit_total, "
                    "member.balance_too_high, checkout.held_for_other). Scanning a copy the card already has "
                    "renews it (200).",
    )
    def post(self, request):
        data = self.body(CheckoutIn)
        self.patron_pin(data)
        result = checkout(actor=self.actor, card_number=data["card_number"], barcode=data["barcode"])
        body = {"loan": presenters.loan(_loan_with_title(result.loan)), "renewed": result.renewed,
                "fee_cents": result.fee_cents}
        return Response(CheckoutOut(body).data, status=status.HTTP_200_OK if result.renewed else status.HTTP_201_CREATED)


class CheckinView(MachineView):
    @extend_schema(
        tags=TAG, operation_id="selfservice_checkin", request=CheckinIn,
        responses={200: CheckinOut, **errors(*BODY_ERRORS, 404, 409, 422)},
        summary="Take a copy back at the machine's branch; where it goes next",
        description="`route` is the sorting bin: shelf (back on this branch's shelf), transit (to another "
                    "branch: destination_branch_id), hold_shelf (a hold here), hold_transit (a hold at another "
                    "branch), keep (put aside). `code`/`params` are the route.* code; notes (checkin.*) e.g. a "
                    "fine charged.",
    )
    def post(self, request):
        data = self.body(CheckinIn)
        result = checkin(actor=self.actor, barcode=data["barcode"])
        title_text = title_texts([result.item.title_id]).get(result.item.title_id, "")
        return Response(CheckinOut(presenters.checkin(result, barcode=data["barcode"], title_text=title_text)).data)


class RenewView(MachineView):
    @extend_schema(
        tags=TAG, operation_id="selfservice_renew", request=RenewIn,
        responses={200: LoanOut, **errors(*BODY_ERRORS, 404, 409, 422)},
        summary="Renew one copy lent to a card",
        description="Refused renewals answer 409 with the reasons (loan.max_renewals, loan.held_for_other, ...).",
    )
    def post(self, request):
        data = self.body(RenewIn)
        self.patron_pin(data)
        # A guest card's lookup is told to its home library with the answer (may borrow,
        # categories), as at the desk and in SIP2: so it is looked up with its checks.
        with guest_lookups_audited(self.actor):
            borrower = borrower_find(organisation=self.library, card_number=data["card_number"])
        item = item_get(barcode=data["barcode"])
        loan = item_open_loan(item.pk) if item is not None else None
        if loan is None or not borrower.owns_loan(loan):
            raise ApiRefusal("api.loan_not_of_card", status_code=status.HTTP_409_CONFLICT, field="barcode",
                             barcode=data["barcode"])
        loan = renew(actor=self.actor, loan_id=loan.pk)
        return Response(LoanOut(presenters.loan(_loan_with_title(loan))).data)


class RenewAllView(MachineView):
    @extend_schema(
        tags=TAG, operation_id="selfservice_renew_all", request=RenewAllIn,
        responses={200: RenewAllOut, **errors(*BODY_ERRORS, 404, 409, 422)},
        summary="Renew everything lent to a card; each loan on its own",
    )
    def post(self, request):
        data = self.body(RenewAllIn)
        self.patron_pin(data)
        outcomes = renew_all(actor=self.actor, card_number=data["card_number"])
        results = []
        for outcome in outcomes:
            codes = outcome.codes or []
            results.append({
                "loan": presenters.loan(_loan_with_title(outcome.loan)),
                "renewed": outcome.renewed,
                "errors": [{"code": code, "field": None, "params": {}, "message": reason}
                           for code, reason in zip(codes, outcome.reasons)],
            })
        return Response(RenewAllOut({"results": results}).data)


class PaymentView(MachineView):
    @extend_schema(
        tags=TAG, operation_id="selfservice_payment", request=PaymentIn,
        responses={201: PaymentOut, **errors(*BODY_ERRORS, 404, 409, 422)},
        summary="Record a payment at a payment kiosk (pin or cash)",
        description="Booked on the member's account under the machine (members.services.ledger.ledger_payment); "
                    "paying more than is open leaves a credit.",
    )
    def post(self, request):
        data = self.body(PaymentIn)
        self.patron_pin(data)
        found = member_by_card(data["card_number"])
        if found is None:
            raise ApiRefusal("api.card_unknown", status_code=status.HTTP_404_NOT_FOUND, field="card_number",
                             card=data["card_number"])
        if found.is_old_card:
            raise ServiceError("borrower.card_replaced", field="card_number", card=data["card_number"],
                               reason=found.former_card.reason)
        entry = ledger_payment(actor=self.actor, member=found.member, amount_cents=data["amount_cents"],
                               method=data["method"], description="Betaald aan een automaat (REST API)")
        body = {"id": entry.pk, "amount_cents": entry.amount_cents, "method": entry.payment_method,
                "balance_cents": member_balance_cents(found.member)}
        return Response(PaymentOut(body).data, status=status.HTTP_201_CREATED)


class ItemView(ApiView):
    permission_classes = [HasApiKey]

    @extend_schema(
        tags=["items"], operation_id="item_get", responses={200: ItemOut, **errors(404)},
        summary="One copy of this library by barcode: status, where it is, due date when lent",
    )
    def get(self, request, barcode):
        item = item_get(barcode=str(barcode).strip())
        if item is None:
            raise ServiceError("item.not_found", barcode=str(barcode)[:40])
        loan = item_open_loan(item.pk)
        body = presenters.item(item, title_text=item.title.title, due_on=loan.due_on if loan else None)
        return Response(ItemOut(body).data)


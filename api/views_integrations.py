"""Integrations (staff keys, with the staff member's roles as on the screens):
members (search, details, loans, holds: every read through members.selectors.access,
so it is in the member's audit log), holds (place, cancel), and the national
catalogue with availability here and elsewhere (any key)."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from catalogue.models import Title
from catalogue.selectors import holdings_summaries, title_get, title_search
from circulation.selectors import member_holds, member_loans
from circulation.selectors_items import hold_get, item_open_loan
from circulation.services.holds import hold_cancel, hold_place
from collection.selectors import national_availability, title_items_per_branch
from core.errors import ServiceError
from members.selectors.access import member_for_actor, member_shown, members_search_for_actor
from members.selectors.ledger import member_balance_cents, member_may_borrow

from . import presenters
from .permissions import HasApiKey, StaffKeyDesk
from .serializers import (
    AvailabilityOut,
    HoldCancelIn,
    HoldListOut,
    HoldOut,
    HoldPlaceIn,
    ItemListOut,
    LoanListOut,
    MemberOut,
    MemberPageOut,
    MemberSearchQuery,
    TitleOut,
    TitlePageOut,
    TitleSearchQuery,
)
from .views_base import BODY_ERRORS, ApiView, errors, parse_id, path_id

MEMBER_ID = path_id("member_id", "Member id in this library")
HOLD_ID = path_id("hold_id", "Hold id in this library")
TITLE_ID = path_id("title_id", "Title id in the national catalogue")


def _member_or_404(actor, member_id, purpose):
    member_id = parse_id(member_id, "member.not_found")
    member = member_for_actor(actor, member_id, purpose=purpose)
    if member is None:
        raise ServiceError("member.not_found")
    return member


# --- members ----------------------------------------------------------------------------------

class MemberListView(ApiView):
    permission_classes = [StaffKeyDesk]
    query_serializer = MemberSearchQuery

    @extend_schema(
        tags=["members"], operation_id="members_search", parameters=[MemberSearchQuery],
        responses={200: MemberPageOut, **errors(400)},
        summary="Search this library's members (desk role); audited",
        description="Every criterion given must match (as the desk's member search). Without any criterion the "
                    "list is empty. The search and the ids found are in the audit log.",
    )
    def get(self, request):
        query = self.query()
        limit, offset = query.pop("limit"), query.pop("offset")
        criteria = {key: value for key, value in query.items() if value not in ("", None)}
        text = criteria.pop("q", "")
        found = members_search_for_actor(self.actor, purpose="api_members_search", query=text, limit=limit + 1,
                                         offset=offset, **criteria)
        results = [presenters.member_summary(member) for member in found[:limit]]
        return Response(MemberPageOut(self.page(results, limit=limit, offset=offset,
                                                has_more=len(found) > limit)).data)


class MemberView(ApiView):
    permission_classes = [StaffKeyDesk]

    @extend_schema(tags=["members"], operation_id="member_get", parameters=[MEMBER_ID],
                   responses={200: MemberOut, **errors(404)},
                   summary="One member's details, whether they may borrow and their balance (desk role); audited")
    def get(self, request, member_id):
        member = _member_or_404(self.actor, member_id, "api_member")
        may_borrow, reasons = member_may_borrow(member)
        body = presenters.member(member, may_borrow=may_borrow, reasons=reasons,
                                 balance_cents=member_balance_cents(member))
        return Response(MemberOut(body).data)


class MemberLoansView(ApiView):
    permission_classes = [StaffKeyDesk]

    @extend_schema(tags=["members"], operation_id="member_loans", parameters=[MEMBER_ID],
                   responses={200: LoanListOut, **errors(404)},
                   summary="A member's open loans, soonest due first (desk role); audited")
    def get(self, request, member_id):
        member = _member_or_404(self.actor, member_id, "api_member_loans")
        return Response(LoanListOut({"results": [presenters.loan(loan) for loan in member_loans(member)]}).data)


class MemberHoldsView(ApiView):
    permission_classes = [StaffKeyDesk]

    @extend_schema(tags=["members"], operation_id="member_holds", parameters=[MEMBER_ID],
                   responses={200: HoldListOut, **errors(404)},
                   summary="A member's active holds with queue place and expected date (desk role); audited")
    def get(self, request, member_id):
        member = _member_or_404(self.actor, member_id, "api_member_holds")
        return Response(HoldListOut({"results": [presenters.hold(hold) for hold in member_holds(member)]}).data)


# --- holds ------------------------------------------------------------------------------------

def _hold_out(actor, hold_id, purpose):
    hold = hold_get(hold_id)
    if hold is None:
        raise ServiceError("hold.not_found")
    if hold.member_id is not None:
        member_shown(actor, hold.member, purpose=purpose)
    return presenters.hold(hold)


class HoldsView(ApiView):
    permission_classes = [StaffKeyDesk]

    @extend_schema(
        tags=["holds"], operation_id="hold_place", request=HoldPlaceIn,
        responses={201: HoldOut, **errors(*BODY_ERRORS, 404, 409, 422)},
        summary="Place a hold for a member: a title (any copy) or one copy (desk role)",
        description="Refusals keep the hold service's codes (hold.duplicate, hold.no_holdable_copies, "
                    "hold.member_may_not_reserve with the member's reasons, branch.other_library, ...).",
    )
    def post(self, request):
        serializer = HoldPlaceIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        member = _member_or_404(self.actor, data["member_id"], "api_hold_place")
        hold = hold_place(actor=self.actor, member=member, title_id=data.get("title_id"),
                          item_barcode=data.get("item_barcode"), pickup_branch_id=data["pickup_branch_id"])
        return Response(HoldOut(_hold_out(self.actor, hold.pk, "api_hold")).data, status=status.HTTP_201_CREATED)


class HoldView(ApiView):
    permission_classes = [StaffKeyDesk]

    @extend_schema(tags=["holds"], operation_id="hold_get", parameters=[HOLD_ID],
                   responses={200: HoldOut, **errors(404)}, summary="One hold (desk role); audited")
    def get(self, request, hold_id):
        return Response(HoldOut(_hold_out(self.actor, parse_id(hold_id, "hold.not_found"), "api_hold")).data)


class HoldCancelView(ApiView):
    permission_classes = [StaffKeyDesk]

    @extend_schema(tags=["holds"], operation_id="hold_cancel", parameters=[HOLD_ID], request=HoldCancelIn,
                   responses={200: HoldOut, **errors(*BODY_ERRORS, 404, 409, 422)},
                   summary="Cancel an active hold (desk role)")
    def post(self, request, hold_id):
        hold_id = parse_id(hold_id, "hold.not_found")
        serializer = HoldCancelIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        hold_cancel(actor=self.actor, hold_id=hold_id, reason=serializer.validated_data.get("reason", ""))
        return Response(HoldOut(_hold_out(self.actor, hold_id, "api_hold")).data)


# --- catalogue and availability ------------------------------------------------------------------

def _title_or_404(title_id):
    title_id = parse_id(title_id, "title.unknown", title_id=str(title_id)[:20])
    try:
        return title_get(title_id)
    except Title.DoesNotExist:
        raise ServiceError("title.unknown", title_id=title_id) from None


class TitleListView(ApiView):
    permission_classes = [HasApiKey]
    query_serializer = TitleSearchQuery

    @extend_schema(
        tags=["catalogue"], operation_id="titles_search", parameters=[TitleSearchQuery],
        responses={200: TitlePageOut, **errors(400)},
        summary="Search the national catalogue, with copies here and elsewhere",
        description="Words (typos forgiven), an ISBN or EAN, with filters. `here`/`elsewhere` come from the "
                    "national holdings index.",
    )
    def get(self, request):
        query = self.query()
        limit, offset = query.pop("limit"), query.pop("offset")
        result = title_search(query=query.get("q", ""), material_type=query.get("material_type"),
                              language=query.get("language"), year_from=query.get("year_from"),
                              year_to=query.get("year_to"), audience=query.get("audience"),
                              limit=limit, offset=offset)
        summaries = holdings_summaries(title_ids=[title.pk for title in result.titles], organisation=self.library)
        results = [presenters.title(title, summaries[title.pk]) for title in result.titles]
        return Response(TitlePageOut(self.page(results, limit=limit, offset=offset, has_more=result.has_more)).data)


class TitleView(ApiView):
    permission_classes = [HasApiKey]

    @extend_schema(tags=["catalogue"], operation_id="title_get", parameters=[TITLE_ID],
                   responses={200: TitleOut, **errors(404)}, summary="One title of the national catalogue")
    def get(self, request, title_id):
        title = _title_or_404(title_id)
        summary = holdings_summaries(title_ids=[title.pk], organisation=self.library)[title.pk]
        return Response(TitleOut(presenters.title(title, summary)).data)


class TitleAvailabilityView(ApiView):
    permission_classes = [HasApiKey]

    @extend_schema(tags=["catalogue"], operation_id="title_availability", parameters=[TITLE_ID],
                   responses={200: AvailabilityOut, **errors(404)},
                   summary="Copies of a title here (per branch) and at the other libraries in LSB")
    def get(self, request, title_id):
        title = _title_or_404(title_id)
        here = [{"branch_id": group.branch.pk, "branch_name": group.branch.name, "total": len(group.items),
                 "available": group.available} for group in title_items_per_branch(title_id=title.pk)]
        national = national_availability(title_id=title.pk, organisation=self.library)
        elsewhere = [{"organisation_id": row["organisation_id"], "name": row["name"], "province": row["province"] or "",
                      "total": row["total"], "available": row["available"]} for row in national.libraries]
        body = {"title_id": title.pk, "here": here, "elsewhere": elsewhere, "elsewhere_total": national.total,
                "elsewhere_available": national.available}
        return Response(AvailabilityOut(body).data)


class TitleItemsView(ApiView):
    permission_classes = [HasApiKey]

    @extend_schema(tags=["items"], operation_id="title_items", parameters=[TITLE_ID],
                   responses={200: ItemListOut, **errors(404)},
                   summary="This library's copies of a title (not withdrawn), with status and due date")
    def get(self, request, title_id):
        title = _title_or_404(title_id)
        results = []
        for group in title_items_per_branch(title_id=title.pk):
            for item in group.items:
                loan = item_open_loan(item.pk) if item.status == "on_loan" else None
                results.append(presenters.item(item, title_text=title.title, due_on=loan.due_on if loan else None))
        return Response(ItemListOut({"results": results}).data)


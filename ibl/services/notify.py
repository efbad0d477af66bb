"""Telling the member (in the requesting library's schema): no library could lend
what they asked for. Their own library's notice (e-mail or letter), sent once."""

from catalogue.models import Title
from members.models import Member
from notices.models import NoticeKind
from notices.services import notice_queue

from ..models import IblRequest


def member_tell_unfilled(*, actor, request_id, member_id):
    actor.require_current_library()
    request = IblRequest.objects.filter(pk=request_id, requesting_organisation=actor.organisation).first()
    member = Member.objects.filter(pk=member_id).first()
    if request is None or member is None:
        return None
    title = Title.objects.filter(pk=request.title_id).first()
    return notice_queue(actor=actor, member=member, kind=NoticeKind.IBL_UNFILLED,
                        dedupe_key=f"ibl_unfilled:{request.pk}",
                        context={"titel": title.title if title else "", "auteur": title.contributors_text if title
                                 else ""},
                        branch=request.pickup_branch_id)

"""IBL screens on the national site, for the POIs:

    /ibl/inloggen/                 sign-in (hub staff, POI administrators)
    /ibl/sorteercentrum/           the hubs this account works at
    /ibl/sorteercentrum/<hub>/     the hub screen: scan copies and crate labels (keyboard and scanner
                                   first: the scan field is focused, the big sign says where it goes)
    /ibl/poi/                      POI overview: the requests and legs of their provinces, late ones
                                   first; daily volumes per hub and van route; today's runs
    /ibl/poi/statistiek/           national and provincial figures (?formaat=csv for CSV)
    /ibl/ritten/<run>/             a run's manifest (printable)

Who: hub staff (ibl.HubStaff) at their hub; POI administrators at their POI's hubs
and over their provinces; the national administrator everywhere. Thin: every rule
is in ibl.services / ibl.selectors / ibl.statistics.
"""

import datetime

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.actors import Actor
from core.csv import csv_download
from staff.selectors import is_poi_administrator, organisations_administered_by, provinces_administered_by
from tenants.models import Poi, PoiHub

from . import selectors, statistics
from .models import Run
from .services.exceptions import ibl_report_loss
from .services.transport import hub_scan, hubs_of, manifest_of, may_work_at_hub


class SignInView(auth_views.LoginView):
    template_name = "ibl/sign_in.html"
    authentication_form = AuthenticationForm
    redirect_authenticated_user = False

    def get_default_redirect_url(self):
        return reverse("ibl_national:hubs")


class SignOutView(auth_views.LogoutView):
    next_page = "ibl_national:sign-in"


def _signed_in(view):
    def guarded(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("ibl_national:sign-in"))
        return view(request, *args, **kwargs)

    guarded.__name__ = view.__name__
    guarded.__doc__ = view.__doc__
    return guarded


def _forbidden(request, what):
    return render(request, "ibl/forbidden.html", {"what": what}, status=403)


@_signed_in
def hubs(request):
    mine = list(hubs_of(request.user))
    if len(mine) == 1:
        return redirect("ibl_national:hub", hub_id=mine[0].pk)
    return render(request, "ibl/hubs.html", {"hubs": mine, "poi_admin": _may_see_poi(request.user)})


def _hub_or_forbidden(request, hub_id):
    hub = PoiHub.objects.select_related("poi").filter(pk=hub_id).first()
    if hub is None:
        raise Http404("Dit sorteercentrum bestaat niet.")
    if not may_work_at_hub(request.user, hub):
        return hub, _forbidden(request, hub.name)
    return hub, None


def _hub_page(request, hub, *, sign=None, errors=(), status=200):
    return render(request, "ibl/hub.html", {
        "hub": hub, "sign": sign, "errors": list(errors), "overview": selectors.hub_overview(hub),
        "canonical_url": reverse("ibl_national:hub", kwargs={"hub_id": hub.pk}),
        "poi_admin": _may_see_poi(request.user),
    }, status=status)


@_signed_in
def hub(request, hub_id):
    hub_, refused = _hub_or_forbidden(request, hub_id)
    return refused or _hub_page(request, hub_)


@require_POST
@_signed_in
def hub_scan_view(request, hub_id):
    hub_, refused = _hub_or_forbidden(request, hub_id)
    if refused:
        return refused
    try:
        result = hub_scan(actor=Actor.staff(request.user), hub=hub_, code=request.POST.get("code"))
    except ValidationError as error:
        return _hub_page(request, hub_, errors=error.messages, status=422)
    sign = {"message": result.message, "colour": result.colour, "notes": result.note_texts,
            "barcode": request.POST.get("code", "").strip(), "crate": result.crate.code if result.crate else ""}
    return _hub_page(request, hub_, sign=sign)


# --- the POI ------------------------------------------------------------------------

def _may_see_poi(user):
    return user.is_authenticated and user.is_active and (user.is_superuser or is_poi_administrator(user))


def _scope(user):
    provinces = list(provinces_administered_by(user))
    pois = list(Poi.objects.filter(provinces__in=provinces).distinct())
    return provinces, pois


@_signed_in
def poi_overview(request):
    if not _may_see_poi(request.user):
        return _forbidden(request, "het POI-overzicht")
    provinces, pois = _scope(request.user)
    today = timezone.localdate()
    return render(request, "ibl/poi.html", {
        "provinces": provinces, "pois": pois, "requests": selectors.poi_requests(provinces, today=today),
        "legs": selectors.poi_legs(provinces, pois=pois, today=today),
        "volumes": selectors.poi_daily_volumes(pois, today=today), "runs": selectors.runs_of(pois, day=today),
        "today": today,
    })


def _period(request):
    today = timezone.localdate()
    try:
        start = datetime.date.fromisoformat(request.GET.get("van") or f"{today.year}-01-01")
        end = datetime.date.fromisoformat(request.GET.get("tot") or today.isoformat())
    except ValueError:
        return None, None
    if end < start or (end - start).days > 3660:
        return None, None
    return start, end


@_signed_in
def poi_statistics(request):
    if not _may_see_poi(request.user):
        return _forbidden(request, "de IBL-cijfers")
    provinces, pois = _scope(request.user)
    start, end = _period(request)
    if start is None:
        today = timezone.localdate()
        return render(request, "ibl/statistics.html", {
            "errors": ["Geef een periode als jjjj-mm-dd tot jjjj-mm-dd (hoogstens tien jaar)."],
            "start": datetime.date(today.year, 1, 1), "end": today}, status=422)
    result = statistics.figures(provinces=provinces, organisations=organisations_administered_by(request.user),
                                pois=None if request.user.is_superuser else pois, start=start, end=end)
    if request.GET.get("formaat") == "csv":
        return csv_download(f"ibl-cijfers-{start}-{end}.csv", statistics.figures_csv(result))
    return render(request, "ibl/statistics.html", {"figures": result, "start": start, "end": end,
                                                   "norm_own": statistics.NORM_OWN_PERCENT,
                                                   "norm_province": statistics.NORM_PROVINCE_PERCENT})


@_signed_in
def run_manifest(request, run_id):
    run = Run.objects.select_related("route", "poi").filter(pk=run_id).first()
    if run is None:
        raise Http404("Deze rit bestaat niet.")
    allowed = request.user.is_superuser or (
        _may_see_poi(request.user) and (run.poi_id is None or run.poi_id in {p.pk for p in _scope(request.user)[1]}))
    if not allowed and not any(hub.poi_id == run.poi_id for hub in hubs_of(request.user)):
        return _forbidden(request, "deze rit")
    manifest = run.manifest if run.manifest else manifest_of(run)
    return render(request, "ibl/manifest.html", {"run": run, "manifest": manifest,
                                                 "live": not run.manifest})


@require_POST
@_signed_in
def loss_report(request, request_id):
    """Hub staff or a POI administrator report a copy lost or damaged on its way."""
    from django.contrib import messages

    try:
        ibl_report_loss(actor=Actor.staff(request.user), request_id=request_id, kind=request.POST.get("wat", ""),
                        note=request.POST.get("toelichting", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Vastgelegd, met de kosten voor de uitlener voor de verrekening.")
    return redirect(request.POST.get("terug") if request.POST.get("terug", "").startswith("/ibl/")
                    else reverse("ibl_national:poi"))

"""National and provincial IBL figures, in the layout of the public IBL statistics:

- per province (of the requesting library): copies received from inside the
  province, from other provinces, from the music library, and in total (requests
  filled: sent by a lender in the period), with the requests made and unfilled;
- per library: loans to its members from its own collection and through IBL (from
  inside and outside the province), and the shares the libraries' norms are about:
  from its own collection (norm >= 95 %) and from within the province (>= 99.9 %);
- fill rate (requests filled of those decided; per lender: sent of those asked and
  answered) and turnaround per leg (hours from scan out to scan in, per kind of leg
  and POI).

Own loans are counted in each library's schema with one statement over all the
schemas asked (a UNION ALL), the rest in the public schema.
"""

import datetime
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Avg, Count, F, Q
from django.utils import timezone
from django_tenants.utils import schema_exists

from collection.models import Item
from core.csv import csv_text
from circulation.models import Loan

from .models import Ask, IblRequest, Leg, RequestState, Scope

NORM_OWN_PERCENT = 95.0
NORM_PROVINCE_PERCENT = 99.9


def period_bounds(start, end):
    """[start, end] as dates -> aware datetimes [start 00:00, day after end 00:00)."""
    tz = timezone.get_current_timezone()
    begin = datetime.datetime.combine(start, datetime.time.min, tzinfo=tz)
    finish = datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
    return begin, finish


@dataclass
class ProvinceRow:
    province: str
    code: str
    inside: int = 0
    other_provinces: int = 0
    music: int = 0
    requested: int = 0
    unfilled: int = 0

    @property
    def total(self):
        return self.inside + self.other_provinces + self.music

    @property
    def fill_rate(self):
        decided = self.total + self.unfilled
        return round(100.0 * self.total / decided, 1) if decided else None


def province_figures(*, provinces, start, end):
    """[ProvinceRow] for these provinces (the requesting library's province)."""
    begin, finish = period_bounds(start, end)
    rows = {province.pk: ProvinceRow(province.name, province.code) for province in provinces}
    sent = (IblRequest.objects.filter(requesting_organisation__province__in=provinces, sent_at__gte=begin,
                                      sent_at__lt=finish)
            .values("requesting_organisation__province_id", "scope").annotate(count=Count("pk")))
    for row in sent:
        target = rows[row["requesting_organisation__province_id"]]
        if row["scope"] == Scope.PROVINCE:
            target.inside += row["count"]
        elif row["scope"] == Scope.MUSIC:
            target.music += row["count"]
        else:
            target.other_provinces += row["count"]
    made = (IblRequest.objects.filter(requesting_organisation__province__in=provinces, created_at__gte=begin,
                                      created_at__lt=finish)
            .values("requesting_organisation__province_id")
            .annotate(count=Count("pk"), unfilled=Count("pk", filter=Q(state=RequestState.UNFILLED))))
    for row in made:
        target = rows[row["requesting_organisation__province_id"]]
        target.requested = row["count"]
        target.unfilled = row["unfilled"]
    return sorted(rows.values(), key=lambda row: row.province)


@dataclass
class LibraryRow:
    library: str
    province: str
    own_loans: int = 0
    ibl_inside: int = 0
    ibl_outside: int = 0
    lent_to_others: int = 0
    asked: int = 0
    answered_sent: int = 0

    @property
    def total(self):
        return self.own_loans + self.ibl_inside + self.ibl_outside

    @property
    def share_own(self):
        return round(100.0 * self.own_loans / self.total, 2) if self.total else None

    @property
    def share_province(self):
        return round(100.0 * (self.own_loans + self.ibl_inside) / self.total, 2) if self.total else None

    @property
    def meets_own_norm(self):
        return self.share_own is None or self.share_own >= NORM_OWN_PERCENT

    @property
    def meets_province_norm(self):
        return self.share_province is None or self.share_province >= NORM_PROVINCE_PERCENT

    @property
    def lender_fill_rate(self):
        return round(100.0 * self.answered_sent / self.asked, 1) if self.asked else None


def own_loans(organisations, *, start, end):
    """{organisation id: loans to its members of its own copies in the period}, one
    statement over every library schema."""
    begin, finish = period_bounds(start, end)
    parts, params = [], []
    for organisation in organisations:
        if not schema_exists(organisation.schema_name):
            continue
        schema = connection.ops.quote_name(organisation.schema_name)
        parts.append(
            f"SELECT %s, count(*) FROM {schema}.{Loan._meta.db_table} AS loan"
            f" JOIN {schema}.{Item._meta.db_table} AS item ON item.id = loan.item_id"
            f" WHERE loan.loaned_at >= %s AND loan.loaned_at < %s AND loan.borrower_kind = 'member'"
            f" AND item.ibl_owner_id IS NULL"
        )
        params += [organisation.pk, begin, finish]
    if not parts:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        return dict(cursor.fetchall())


def library_figures(*, organisations, start, end):
    """[LibraryRow] for these library organisations."""
    organisations = list(organisations.select_related("province"))
    begin, finish = period_bounds(start, end)
    rows = {o.pk: LibraryRow(o.name, o.province.name) for o in organisations}
    for organisation_id, count in own_loans(organisations, start=start, end=end).items():
        rows[organisation_id].own_loans = count
    received = (IblRequest.objects.filter(requesting_organisation__in=organisations, lent_at__gte=begin,
                                          lent_at__lt=finish)
                .values("requesting_organisation_id", "scope").annotate(count=Count("pk")))
    for row in received:
        target = rows[row["requesting_organisation_id"]]
        if row["scope"] == Scope.PROVINCE:
            target.ibl_inside += row["count"]
        else:
            target.ibl_outside += row["count"]
    lent = (IblRequest.objects.filter(lender__in=organisations, sent_at__gte=begin, sent_at__lt=finish)
            .values("lender_id").annotate(count=Count("pk")))
    for row in lent:
        rows[row["lender_id"]].lent_to_others = row["count"]
    asks = (Ask.objects.filter(lender__in=organisations, asked_at__gte=begin, asked_at__lt=finish)
            .exclude(outcome__in=[Ask.Outcome.PENDING, Ask.Outcome.WITHDRAWN])
            .values("lender_id").annotate(count=Count("pk"), sent=Count("pk", filter=Q(outcome=Ask.Outcome.SENT))))
    for row in asks:
        rows[row["lender_id"]].asked = row["count"]
        rows[row["lender_id"]].answered_sent = row["sent"]
    return sorted(rows.values(), key=lambda row: (row.province, row.library))


@dataclass
class LegTurnaround:
    what: str
    legs: int
    hours: float | None
    late: int = 0


def turnaround(*, pois=None, start, end):
    """Per kind of leg (and POI for the vans): how many legs arrived in the period,
    their mean hours from scan out to scan in, and how many were late."""
    begin, finish = period_bounds(start, end)
    legs = Leg.objects.filter(state=Leg.State.ARRIVED, scanned_in_at__gte=begin, scanned_in_at__lt=finish)
    if pois is not None:
        legs = legs.filter(Q(poi__in=pois) | Q(from_hub__poi__in=pois) | Q(to_hub__poi__in=pois))
    rows = (legs.values("mode", "poi__name")
            .annotate(count=Count("pk"), mean=Avg(F("scanned_in_at") - F("scanned_out_at")),
                      late=Count("pk", filter=Q(scanned_in_at__date__gt=F("planned_arrival_on"))))
            .order_by("mode", "poi__name"))
    result = []
    for row in rows:
        what = "Nachtvervoer tussen sorteercentra" if row["mode"] == "carrier" else f"Bus {row['poi__name']}"
        hours = round(row["mean"].total_seconds() / 3600, 1) if row["mean"] is not None else None
        result.append(LegTurnaround(what, row["count"], hours, row["late"]))
    return result


@dataclass
class Figures:
    start: datetime.date
    end: datetime.date
    provinces: list = field(default_factory=list)
    libraries: list = field(default_factory=list)
    legs: list = field(default_factory=list)

    @property
    def national(self):
        total = ProvinceRow("Totaal", "NL")
        for row in self.provinces:
            total.inside += row.inside
            total.other_provinces += row.other_provinces
            total.music += row.music
            total.requested += row.requested
            total.unfilled += row.unfilled
        return total


def figures(*, provinces, organisations, pois, start, end):
    return Figures(start=start, end=end, provinces=province_figures(provinces=provinces, start=start, end=end),
                   libraries=library_figures(organisations=organisations, start=start, end=end),
                   legs=turnaround(pois=pois, start=start, end=end))


def figures_csv(result):
    """The figures as CSV (semicolon-separated, as Dutch spreadsheets expect; core.csv)."""
    rows = [[f"IBL-cijfers {result.start:%d-%m-%Y} t/m {result.end:%d-%m-%Y}"], [],
            ["provincie", "binnen de provincie", "uit andere provincies", "muziekbibliotheek", "totaal",
             "aanvragen", "niet leverbaar", "vervuld %"]]
    for row in result.provinces + [result.national]:
        rows.append([row.province, row.inside, row.other_provinces, row.music, row.total, row.requested,
                     row.unfilled, _decimal(row.fill_rate)])
    rows += [[], ["bibliotheek", "provincie", "eigen uitleningen", "IBL binnen provincie", "IBL van buiten",
                  "aandeel eigen collectie %", "norm 95 %", "aandeel binnen provincie %", "norm 99,9 %",
                  "uitgeleend aan anderen", "gevraagd (beantwoord)", "geleverd %"]]
    for row in result.libraries:
        rows.append([row.library, row.province, row.own_loans, row.ibl_inside, row.ibl_outside,
                     _decimal(row.share_own), "ja" if row.meets_own_norm else "nee",
                     _decimal(row.share_province), "ja" if row.meets_province_norm else "nee",
                     row.lent_to_others, row.asked, _decimal(row.lender_fill_rate)])
    rows += [[], ["transportdeel", "aantal", "gemiddeld uren", "te laat"]]
    for row in result.legs:
        rows.append([row.what, row.legs, _decimal(row.hours), row.late])
    return csv_text(rows)


def _decimal(value):
    return "" if value is None else str(value).replace(".", ",")

"""Participation figures: dual registration and the organization report (双报到双服务), a
party member's service record, and the figures the dashboards read for a subtree.

Each figure is computed here once, in a fixed number of queries whatever the number of
rows, and is read by the API, the admin and (with the dashboards issue) the dashboards.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from grids import scoping
from grids.models import Grid, PartyOrganization
from residents.models import PartyMember, Visit
from tickets.models import EventKind, Ticket, TicketStatus
from volunteers.models import (
    ATTENDED,
    Activity,
    ActivityStatus,
    DualRegistration,
    PointsEntry,
    Signup,
    SignupStatus,
    UnitPairing,
)
from volunteers.selectors.points import earned_q, redeemed_q
from volunteers.selectors.reach import any_of, period_bounds, subtree_q

ZERO_HOURS = Decimal("0.00")


def registration_list(*, user) -> QuerySet[DualRegistration]:
    """Registrations with a community in the user's scope, or of a unit in it."""
    scope = scoping.scope_for(user)
    return DualRegistration.objects.filter(
        scope.q(via="grid") | scope.q(via="organization__grid")
    ).select_related(
        "party_member__resident", "party_member__user", "grid", "organization", "created_by"
    )


def pairing_list(*, user) -> QuerySet[UnitPairing]:
    scope = scoping.scope_for(user)
    return UnitPairing.objects.filter(
        scope.q(via="community") | scope.q(via="organization__grid")
    ).select_related("organization__grid", "community", "created_by")


def party_member_list(*, user) -> QuerySet[PartyMember]:
    """Party members whose organization or home is in the user's scope, those registered
    with a community in it (双报到), and the user's own membership."""
    if user is None or not user.is_authenticated:
        return PartyMember.objects.none()
    scope = scoping.scope_for(user)
    registered = DualRegistration.objects.filter(scope.q(via="grid"), party_member=OuterRef("pk"))
    condition = any_of(
        scope.q(via="organization__grid"),
        scope.q(via="resident__household__grid"),
        Exists(registered),
        Q(user=user),
    )
    return PartyMember.objects.filter(condition).select_related("resident", "user", "organization")


def active_between(start: datetime.date, end: datetime.date, *, via: str = "") -> Q:
    """Registrations (or pairings, with ``starts_on``/``ends_on``) running at some point
    of the period."""
    prefix = f"{via}__" if via else ""
    return Q(**{f"{prefix}registered_on__lte": end}) & (
        Q(**{f"{prefix}ended_on__isnull": True}) | Q(**{f"{prefix}ended_on__gte": start})
    )


def _claimed_and_closed(since: datetime.datetime, until: datetime.datetime) -> QuerySet[Ticket]:
    """Tickets closed in the period by someone who took them from the claim board."""
    return Ticket.objects.filter(
        status=TicketStatus.CLOSED,
        closed_at__gte=since,
        closed_at__lt=until,
        assignee__isnull=False,
        events__kind=EventKind.CLAIMED,
        events__actor=F("assignee"),
    )


@dataclass
class Participation:
    tickets: int = 0
    activities: int = 0
    hours: Decimal = ZERO_HOURS
    points: int = 0


def member_participation(
    members: list[PartyMember], start: datetime.date, end: datetime.date
) -> dict[int, Participation]:
    """For each party member: claimed tickets closed, activities attended, confirmed hours
    and points earned in the period. Three queries whatever the number of members."""
    since, until = period_bounds(start, end)
    result = {m.pk: Participation() for m in members}
    by_user = {m.user_id: m.pk for m in members if m.user_id is not None}
    by_resident = {m.resident_id: m.pk for m in members if m.resident_id is not None}
    if by_user:
        tickets = (
            _claimed_and_closed(since, until)
            .filter(assignee_id__in=list(by_user))
            .values("assignee_id")
            .annotate(n=Count("pk", distinct=True))
        )
        for row in tickets:
            result[by_user[row["assignee_id"]]].tickets = row["n"]
    people = Q(volunteer__user_id__in=list(by_user)) | Q(
        volunteer__resident_id__in=list(by_resident)
    )
    signups = (
        Signup.objects.filter(
            people,
            status__in=ATTENDED,
            activity__starts_at__gte=since,
            activity__starts_at__lt=until,
        )
        .values("volunteer__user_id", "volunteer__resident_id")
        .annotate(n=Count("pk"), hours=Sum("hours", filter=Q(status=SignupStatus.CONFIRMED)))
    )
    for row in signups:
        member = by_resident.get(row["volunteer__resident_id"]) or by_user.get(
            row["volunteer__user_id"]
        )
        if member is not None:
            result[member].activities += row["n"]
            result[member].hours += row["hours"] or ZERO_HOURS
    points = (
        PointsEntry.objects.filter(
            earned_q(),
            account__party_member_id__in=list(result),
            posted_at__gte=since,
            posted_at__lt=until,
        )
        .values("account__party_member_id")
        .annotate(points=Sum("amount"))
    )
    for row in points:
        result[row["account__party_member_id"]].points = row["points"] or 0
    return result


@dataclass
class MemberRow:
    registration: DualRegistration
    name: str
    participation: Participation


@dataclass
class OrganizationReport:
    organization: PartyOrganization
    start: datetime.date
    end: datetime.date
    pairings: list[UnitPairing]
    members: list[MemberRow]
    totals: Participation = field(default_factory=Participation)

    @property
    def active_members(self) -> int:
        p = [m.participation for m in self.members]
        return sum(1 for x in p if x.tickets or x.activities or x.points)


def organization_report(
    *, organization: PartyOrganization, start: datetime.date, end: datetime.date
) -> OrganizationReport:
    """A unit's members registered with communities (its organization and those below
    it), each with what they did in the period, and the unit's pairings. Five queries."""
    in_unit = Q(
        organization__tree_id=organization.tree_id,
        organization__lft__gte=organization.lft,
        organization__rght__lte=organization.rght,
    )
    registrations = list(
        DualRegistration.objects.filter(in_unit, active_between(start, end))
        .select_related("party_member__resident", "party_member__user", "grid")
        .order_by("grid__tree_id", "grid__lft", "pk")
    )
    pairings = list(
        UnitPairing.objects.filter(in_unit)
        .filter(Q(starts_on__lte=end) & (Q(ends_on__isnull=True) | Q(ends_on__gte=start)))
        .select_related("community", "organization")
        .order_by("community__tree_id", "community__lft", "pk")
    )
    figures = member_participation([r.party_member for r in registrations], start, end)
    report = OrganizationReport(organization, start, end, pairings, [])
    counted: set[int] = set()
    for registration in registrations:
        participation = figures[registration.party_member_id]
        report.members.append(
            MemberRow(registration, str(registration.party_member), participation)
        )
        if registration.party_member_id in counted:
            continue  # re-registered in the period: count the member once
        counted.add(registration.party_member_id)
        report.totals.tickets += participation.tickets
        report.totals.activities += participation.activities
        report.totals.hours += participation.hours
        report.totals.points += participation.points
    return report


@dataclass
class ServiceRecord:
    party_member: PartyMember
    start: datetime.date
    end: datetime.date
    tickets: list[Ticket]
    signups: list[Signup]
    visits: int
    participation: Participation


def party_member_service_record(
    *, party_member: PartyMember, start: datetime.date, end: datetime.date, limit: int = 100
) -> ServiceRecord:
    """A party member's service in the period: tickets claimed from the board and closed,
    activities attended with their hours, visits made, points earned."""
    since, until = period_bounds(start, end)
    tickets: list[Ticket] = []
    visits = 0
    if party_member.user_id is not None:
        tickets = list(
            _claimed_and_closed(since, until)
            .filter(assignee_id=party_member.user_id)
            .select_related("grid", "category")
            .distinct()
            .order_by("-closed_at")[:limit]
        )
        visits = Visit.objects.filter(
            visitor_id=party_member.user_id, visited_at__gte=since, visited_at__lt=until
        ).count()
    people = Q(pk__in=[])
    if party_member.user_id is not None:
        people |= Q(volunteer__user_id=party_member.user_id)
    if party_member.resident_id is not None:
        people |= Q(volunteer__resident_id=party_member.resident_id)
    signups = list(
        Signup.objects.filter(
            people,
            status__in=ATTENDED,
            activity__starts_at__gte=since,
            activity__starts_at__lt=until,
        )
        .select_related("activity__grid")
        .order_by("-activity__starts_at")[:limit]
    )
    participation = member_participation([party_member], start, end)[party_member.pk]
    return ServiceRecord(party_member, start, end, tickets, signups, visits, participation)


def participation_figures(
    *,
    grid: Grid,
    start: datetime.date,
    end: datetime.date,
    user=None,
    now: datetime.datetime | None = None,
) -> dict[str, object]:
    """The participation figures of a grid's subtree for a period, for the dashboards:

    - ``volunteer_hours``: confirmed hours of activities starting in the period;
    - ``attendances`` and ``volunteers``: people who came (checked out or confirmed), and
      how many different volunteers they were;
    - ``activities_held``: activities starting in the period, not cancelled, already over;
    - ``points_earned`` / ``points_redeemed``: points posted on the subtree in the period,
      net of reversals (a cancelled redemption gives its points back);
    - ``dual_registered`` / ``dual_registered_active``: registrations on the subtree that ran
      during the period, and those whose member attended an activity, closed a claimed
      ticket or earned points in it.

    Four queries whatever the subtree's size. When ``user`` is given, a grid outside their
    scope is refused (``PermissionDenied``).
    """
    if user is not None and not scoping.can_view(user, grid):
        raise PermissionDenied
    now = now or timezone.now()
    since, until = period_bounds(start, end)
    in_period = {"activity__starts_at__gte": since, "activity__starts_at__lt": until}
    attended = Q(status__in=ATTENDED)
    people = Signup.objects.filter(subtree_q(grid, via="activity__grid"), **in_period).aggregate(
        hours=Sum("hours", filter=Q(status=SignupStatus.CONFIRMED)),
        attendances=Count("pk", filter=attended),
        volunteers=Count("volunteer", filter=attended, distinct=True),
    )
    held = Activity.objects.filter(
        subtree_q(grid),
        status=ActivityStatus.OPEN,
        starts_at__gte=since,
        starts_at__lt=until,
        ends_at__lte=now,
    ).count()
    points = PointsEntry.objects.filter(
        subtree_q(grid), posted_at__gte=since, posted_at__lt=until
    ).aggregate(
        earned=Sum("amount", filter=earned_q()), redeemed=Sum("amount", filter=redeemed_q())
    )
    member = OuterRef("party_member")
    attended_any = Signup.objects.filter(
        Q(volunteer__resident_id=OuterRef("party_member__resident_id"))
        | Q(volunteer__user_id=OuterRef("party_member__user_id")),
        attended,
        **in_period,
    )
    closed_any = _claimed_and_closed(since, until).filter(
        assignee_id=OuterRef("party_member__user_id")
    )
    earned_any = PointsEntry.objects.filter(
        earned_q(), account__party_member=member, posted_at__gte=since, posted_at__lt=until
    )
    active = Q(Exists(attended_any)) | Q(Exists(closed_any)) | Q(Exists(earned_any))
    registrations = DualRegistration.objects.filter(
        subtree_q(grid), active_between(start, end)
    ).aggregate(
        registered=Count("party_member", distinct=True),
        active=Count("party_member", filter=active, distinct=True),
    )
    return {
        "volunteer_hours": people["hours"] or ZERO_HOURS,
        "attendances": people["attendances"],
        "volunteers": people["volunteers"],
        "activities_held": held,
        "points_earned": points["earned"] or 0,
        "points_redeemed": -(points["redeemed"] or 0),
        "dual_registered": registrations["registered"],
        "dual_registered_active": registrations["active"],
    }

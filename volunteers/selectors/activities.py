"""Scoped reads of volunteers, teams, activities and sign-ups."""

from __future__ import annotations

import datetime

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from grids import scoping
from volunteers.models import (
    TAKING_PLACE,
    Activity,
    ActivityStatus,
    Signup,
    SignupStatus,
    Volunteer,
    VolunteerTeam,
)
from volunteers.selectors.reach import any_of, reach_q, volunteer_for_user


def volunteer_list(*, user) -> QuerySet[Volunteer]:
    """Volunteers on grids in the user's scope, the user's own registration, and the
    members of teams the user leads (so a team leader can sign them up)."""
    if user is None or not user.is_authenticated:
        return Volunteer.objects.none()
    led = VolunteerTeam.objects.filter(leader__user=user, memberships__volunteer=OuterRef("pk"))
    condition = any_of(scoping.scope_for(user).q(via="grid"), Q(user=user), Exists(led))
    return Volunteer.objects.select_related("grid", "user", "resident").filter(condition)


def team_list(*, user) -> QuerySet[VolunteerTeam]:
    """Teams the user reaches, with their member counts."""
    return (
        VolunteerTeam.objects.filter(reach_q(user, via="grid"))
        .select_related("grid", "kind", "leader")
        .annotate(member_count=Count("memberships", distinct=True))
    )


def activity_list(*, user) -> QuerySet[Activity]:
    """Activities the user reaches or organises, with how many places are taken."""
    if user is None or not user.is_authenticated:
        return Activity.objects.none()
    taken = Count("signups", filter=Q(signups__status__in=TAKING_PLACE), distinct=True)
    return (
        Activity.objects.filter(any_of(reach_q(user, via="grid"), Q(organiser=user)))
        .select_related("grid", "team", "organiser")
        .annotate(taken=taken)
    )


def activities_upcoming(*, user, now: datetime.datetime | None = None) -> QuerySet[Activity]:
    """Open activities not yet over, soonest first: "activities near me"."""
    now = now or timezone.now()
    return (
        activity_list(user=user)
        .filter(status=ActivityStatus.OPEN, ends_at__gt=now)
        .order_by("starts_at", "pk")
    )


def signup_list(*, user) -> QuerySet[Signup]:
    """Sign-ups of activities in the user's grid scope or organised by them, and the
    user's own."""
    if user is None or not user.is_authenticated:
        return Signup.objects.none()
    condition = any_of(
        scoping.scope_for(user).q(via="activity__grid"),
        Q(activity__organiser=user),
        Q(volunteer__user=user),
    )
    return Signup.objects.filter(condition).select_related(
        "activity__grid", "activity__organiser", "volunteer"
    )


def my_signups(*, user) -> QuerySet[Signup]:
    """The user's own sign-ups, the next activity first and past ones after."""
    volunteer = volunteer_for_user(user)
    if volunteer is None:
        return Signup.objects.none()
    return (
        Signup.objects.filter(volunteer=volunteer)
        .select_related("activity__grid", "volunteer")
        .order_by("-activity__starts_at", "-pk")
    )


def attendance(*, activity: Activity) -> QuerySet[Signup]:
    """Everyone on an activity, for its organiser (the caller has checked the right)."""
    return (
        activity.signups.select_related("volunteer", "volunteer__grid")
        .exclude(status=SignupStatus.CANCELLED)
        .order_by("volunteer__name", "pk")
    )

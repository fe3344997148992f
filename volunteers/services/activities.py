"""Activities and their sign-ups: create, sign up (capacity), cancel before the cut-off,
check in and out (the organiser, or the volunteer with the code shown at the venue),
confirm hours once, which posts the points.

Every write to a sign-up locks its activity row first, then the sign-up: the activity's
lock is what makes "is there a place left?" and "take it" one step when many volunteers
sign up at once (seed 001's popular clean-ups), so capacity holds under concurrency.
"""

from __future__ import annotations

import datetime
import secrets
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from governance.errors import Conflict
from grids.models import Grid
from volunteers import permissions, selectors
from volunteers.models import (
    TAKING_PLACE,
    Activity,
    ActivityStatus,
    PointsBasis,
    Signup,
    SignupStatus,
    Volunteer,
    VolunteerTeam,
)
from volunteers.services.common import (
    inside,
    refuse_unknown,
    require,
    required_text,
    territorial_grid,
)
from volunteers.services.ledger import points_post_for_signup

# Volunteers may use the venue's code from a little before the start (to check in) until a
# little after the end (to check out); the organiser records attendance at any time.
CODE_OPENS_BEFORE = datetime.timedelta(hours=1)
CODE_CLOSES_AFTER = datetime.timedelta(hours=2)
QUARTER_HOUR = 900  # seconds; hours are credited to the nearest quarter hour

ACTIVITY_FIELDS = (
    "title",
    "description",
    "place",
    "starts_at",
    "ends_at",
    "signup_closes_at",
    "capacity",
    "organiser",
    "points_basis",
    "attendance_points",
)


def _new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def _check_activity(activity: Activity) -> None:
    errors: dict[str, str] = {}
    if activity.ends_at <= activity.starts_at:
        errors["ends_at"] = _("The end must come after the start.")
    if activity.signup_closes_at > activity.ends_at:
        errors["signup_closes_at"] = _("Sign-up must close before the activity ends.")
    if activity.capacity is not None and activity.capacity < 1:
        errors["capacity"] = _("Give at least one place, or leave it empty for no limit.")
    if activity.points_basis not in PointsBasis.values:
        errors["points_basis"] = _("Choose how the activity earns points.")
    elif activity.points_basis == PointsBasis.ATTENDANCE and not activity.attendance_points:
        errors["attendance_points"] = _("Give the points each attendance earns.")
    if activity.organiser is not None and not activity.organiser.is_active:
        errors["organiser"] = _("This account is disabled.")
    if errors:
        raise ValidationError(errors)


def _check_team(team: VolunteerTeam | None, grid: Grid) -> None:
    if team is None:
        return
    if not team.is_active:
        raise ValidationError({"team": _("This team is no longer active.")})
    if not inside(grid, team.grid):
        raise ValidationError({"team": _("The activity must take place on the team's grids.")})


@transaction.atomic
def activity_create(
    *,
    actor,
    grid: Grid,
    title: str,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    place: str = "",
    description: str = "",
    capacity: int | None = None,
    team: VolunteerTeam | None = None,
    organiser=None,
    signup_closes_at: datetime.datetime | None = None,
    points_basis: str = PointsBasis.HOURS,
    attendance_points: int = 0,
) -> Activity:
    """Staff of the grid, or the leader of the team, publish an activity open for sign-up.
    Sign-up closes at the start unless an earlier cut-off is given."""
    grid = territorial_grid(grid)
    if team is not None:
        team = VolunteerTeam.objects.select_related("grid", "leader").get(pk=team.pk)
    require(
        permissions.can_create_activity(actor, grid, team),
        _("You may not organise activities on this grid."),
    )
    _check_team(team, grid)
    activity = Activity(
        title=required_text(title, field="title", max_length=100),
        description=(description or "").strip(),
        grid=grid,
        place=(place or "").strip()[:200],
        starts_at=starts_at,
        ends_at=ends_at,
        signup_closes_at=signup_closes_at or starts_at,
        capacity=capacity,
        team=team,
        organiser=organiser or actor,
        points_basis=points_basis,
        attendance_points=attendance_points or 0,
        check_in_code=_new_code(),
        created_by=actor,
    )
    _check_activity(activity)
    activity.save()
    return activity


def lock_activity(activity: Activity | int) -> Activity:
    pk = activity.pk if isinstance(activity, Activity) else activity
    return (
        Activity.objects.select_for_update(of=("self",))
        .select_related("grid", "team__leader", "organiser")
        .get(pk=pk)
    )


def _taken(activity: Activity) -> int:
    return activity.signups.filter(status__in=TAKING_PLACE).count()


def _require_open(activity: Activity) -> None:
    if activity.status == ActivityStatus.CANCELLED:
        raise Conflict(_("This activity has been cancelled."), code="cancelled")


@transaction.atomic
def activity_update(*, actor, activity: Activity, **changes: Any) -> Activity:
    refuse_unknown(changes, ACTIVITY_FIELDS)
    activity = lock_activity(activity)
    require(permissions.can_organise(actor, activity), _("You may not change this activity."))
    _require_open(activity)
    for field, value in changes.items():
        setattr(activity, field, value)
    if "title" in changes:
        activity.title = required_text(activity.title, field="title", max_length=100)
    _check_activity(activity)
    if activity.capacity is not None and activity.capacity < _taken(activity):
        raise ValidationError(
            {"capacity": _("More people have signed up than that; cancel sign-ups first.")}
        )
    activity.save()
    return activity


@transaction.atomic
def activity_cancel(*, actor, activity: Activity, reason: str = "") -> Activity:
    activity = lock_activity(activity)
    require(permissions.can_organise(actor, activity), _("You may not cancel this activity."))
    _require_open(activity)
    if activity.ends_at <= timezone.now():
        raise Conflict(_("This activity is already over."), code="over")
    activity.status = ActivityStatus.CANCELLED
    activity.cancel_reason = (reason or "").strip()[:200]
    activity.save(update_fields=["status", "cancel_reason", "updated_at"])
    return activity


# --- sign-ups -------------------------------------------------------------------------------


@transaction.atomic
def signup_create(*, actor, activity: Activity, volunteer: Volunteer | None = None) -> Signup:
    """Sign a volunteer up: oneself until the cut-off, or someone else as the organiser
    (walk-ins) until the end. ``Conflict`` when the activity is full (``full``), closed to
    sign-up (``signup_closed``), over or cancelled, or the person is already on it."""
    activity = lock_activity(activity)
    _require_open(activity)
    now = timezone.now()
    own = selectors.volunteer_for_user(actor)
    if volunteer is None or (own is not None and volunteer.pk == own.pk):
        if own is None:
            raise ValidationError(
                {"volunteer": _("Register as a volunteer with your community first.")}
            )
        if not selectors.activity_list(user=actor).filter(pk=activity.pk).exists():
            raise PermissionDenied(_("This activity is not open to you."))
        volunteer = own
        if now > activity.signup_closes_at:
            raise Conflict(_("Sign-up for this activity has closed."), code="signup_closed")
    else:
        require(
            permissions.can_organise(actor, activity),
            _("You may not sign other people up for this activity."),
        )
        if not volunteer.is_active:
            raise ValidationError({"volunteer": _("This volunteer is no longer active.")})
        if not selectors.volunteer_list(user=actor).filter(pk=volunteer.pk).exists():
            raise ValidationError({"volunteer": _("Choose a volunteer of your grids.")})
    if now >= activity.ends_at:
        raise Conflict(_("This activity is already over."), code="over")
    existing = Signup.objects.filter(activity=activity, volunteer=volunteer).first()
    if existing is not None and existing.status != SignupStatus.CANCELLED:
        raise Conflict(_("Already signed up for this activity."), code="already_signed_up")
    if activity.capacity is not None and _taken(activity) >= activity.capacity:
        raise Conflict(_("This activity is full."), code="full")
    signup = existing or Signup(activity=activity, volunteer=volunteer)
    signup.status = SignupStatus.SIGNED_UP
    signup.signed_up_at = now
    signup.signed_up_by = actor
    signup.cancelled_at = None
    signup.save()
    return signup


def lock_signup(signup: Signup) -> tuple[Activity, Signup]:
    """The activity's lock, then the sign-up's (the order every sign-up write keeps)."""
    activity = lock_activity(signup.activity_id)
    locked = (
        Signup.objects.select_for_update(of=("self",)).select_related("volunteer").get(pk=signup.pk)
    )
    return activity, locked


@transaction.atomic
def signup_cancel(*, actor, signup: Signup) -> Signup:
    """The volunteer cancels until the cut-off; the organiser until check-in."""
    activity, signup = lock_signup(signup)
    organiser = permissions.can_organise(actor, activity)
    require(
        organiser or permissions.is_own_signup(actor, signup),
        _("You may not cancel this sign-up."),
    )
    if signup.status != SignupStatus.SIGNED_UP:
        raise Conflict(
            _("Only a sign-up not yet checked in can be cancelled."), code="invalid_state"
        )
    if not organiser and timezone.now() > activity.signup_closes_at:
        raise Conflict(_("The time to cancel has passed; ask the organiser."), code="signup_closed")
    signup.status = SignupStatus.CANCELLED
    signup.cancelled_at = timezone.now()
    signup.save(update_fields=["status", "cancelled_at"])
    return signup


def _attendance_right(actor, activity: Activity, signup: Signup, code: str) -> None:
    """The organiser needs no code; the volunteer types the venue's code while it is valid."""
    if permissions.can_organise(actor, activity) and not code:
        return
    if not permissions.is_own_signup(actor, signup):
        raise PermissionDenied(_("You may not record attendance for this activity."))
    if not code or not secrets.compare_digest(code.strip(), activity.check_in_code):
        raise ValidationError({"code": _("This is not the code shown at the venue.")})
    now = timezone.now()
    if not (activity.starts_at - CODE_OPENS_BEFORE <= now <= activity.ends_at + CODE_CLOSES_AFTER):
        raise Conflict(_("The venue's code is valid only around the activity."), code="not_now")


def derived_hours(
    activity: Activity, checked_in_at: datetime.datetime, checked_out_at: datetime.datetime
) -> Decimal:
    """Time served within the activity's window, to the nearest quarter hour (so checking
    in a few seconds after the start does not cost a quarter)."""
    start = max(checked_in_at, activity.starts_at)
    end = min(checked_out_at, activity.ends_at)
    seconds = max((end - start).total_seconds(), 0)
    quarters = (Decimal(seconds) / QUARTER_HOUR).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return (quarters / 4).quantize(Decimal("0.01"))


@transaction.atomic
def signup_check_in(*, actor, signup: Signup, code: str = "") -> Signup:
    activity, signup = lock_signup(signup)
    _require_open(activity)
    _attendance_right(actor, activity, signup, code)
    if signup.status != SignupStatus.SIGNED_UP:
        raise Conflict(
            _("Only a signed-up volunteer not yet checked in can check in."), code="invalid_state"
        )
    signup.status = SignupStatus.CHECKED_IN
    signup.checked_in_at = timezone.now()
    signup.checked_in_by = actor
    signup.save(update_fields=["status", "checked_in_at", "checked_in_by"])
    return signup


@transaction.atomic
def signup_check_out(*, actor, signup: Signup, code: str = "") -> Signup:
    """Check out after checking in; the hours served are derived at once and wait for the
    organiser's confirmation."""
    activity, signup = lock_signup(signup)
    _require_open(activity)
    _attendance_right(actor, activity, signup, code)
    if signup.status != SignupStatus.CHECKED_IN:
        raise Conflict(_("Check in before checking out."), code="not_checked_in")
    now = timezone.now()
    signup.status = SignupStatus.CHECKED_OUT
    signup.checked_out_at = max(now, signup.checked_in_at)
    signup.checked_out_by = actor
    signup.hours = derived_hours(activity, signup.checked_in_at, signup.checked_out_at)
    signup.save(update_fields=["status", "checked_out_at", "checked_out_by", "hours"])
    return signup


@transaction.atomic
def activity_check_in_with_code(*, actor, activity: Activity, code: str) -> Signup:
    """A volunteer at the venue types its code: checks them in, or out when they are in."""
    own = selectors.volunteer_for_user(actor)
    signup = Signup.objects.filter(activity=activity, volunteer=own).first() if own else None
    if signup is None or signup.status == SignupStatus.CANCELLED:
        raise Conflict(_("You have not signed up for this activity."), code="not_signed_up")
    if signup.status == SignupStatus.CHECKED_IN:
        return signup_check_out(actor=actor, signup=signup, code=code)
    return signup_check_in(actor=actor, signup=signup, code=code)


@transaction.atomic
def signup_confirm(
    *, actor, signup: Signup, hours: Decimal | None = None, note: str = ""
) -> Signup:
    """The organiser confirms the hours (the derived ones, or corrected ones within the
    activity's length), once; this posts the volunteer's points."""
    activity, signup = lock_signup(signup)
    require(permissions.can_organise(actor, activity), _("You may not confirm hours here."))
    if signup.status == SignupStatus.CONFIRMED:
        raise Conflict(_("These hours have already been confirmed."), code="already_confirmed")
    if signup.status != SignupStatus.CHECKED_OUT:
        raise Conflict(
            _("Hours are confirmed after the volunteer checks out."), code="not_checked_out"
        )
    if hours is not None:
        longest = Decimal((activity.ends_at - activity.starts_at).total_seconds()) / 3600
        hours = Decimal(hours)
        if hours < 0 or hours > longest:
            raise ValidationError(
                {
                    "hours": _("Between 0 and the activity's length (%(h)s hours).")
                    % {"h": f"{longest:.2f}"}
                }
            )
        signup.hours = hours.quantize(Decimal("0.01"))
    signup.status = SignupStatus.CONFIRMED
    signup.confirmed_at = timezone.now()
    signup.confirmed_by = actor
    signup.note = (note or "").strip()[:200]
    signup.save(update_fields=["status", "hours", "confirmed_at", "confirmed_by", "note"])
    points_post_for_signup(signup=signup, activity=activity, actor=actor)
    return signup


@transaction.atomic
def activity_confirm_all(*, actor, activity: Activity) -> int:
    """Confirm the derived hours of everyone checked out (the organiser's one tap)."""
    activity = lock_activity(activity)
    require(permissions.can_organise(actor, activity), _("You may not confirm hours here."))
    pending = list(activity.signups.filter(status=SignupStatus.CHECKED_OUT).order_by("pk"))
    for signup in pending:
        signup_confirm(actor=actor, signup=signup)
    return len(pending)

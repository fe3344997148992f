"""Phone pages for volunteers and organisers (360 px, weak connection): activities near me
with sign-up, my sign-ups and the venue's check-in code, an organiser's attendance sheet,
my points and their history, the points shop and my redemptions with pick-up codes.

Reads go through ``volunteers.selectors`` (an activity out of reach is a 404), writes
through ``volunteers.services``. A refusal because of the state (full, closed, not enough
points) answers 409 with the page and the reason; a missing right is a 403.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import OuterRef, Subquery
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from governance.errors import Conflict
from volunteers import permissions, selectors, services
from volunteers.forms import CodeForm, ConfirmForm, RedeemForm
from volunteers.models import (
    Activity,
    ActivityStatus,
    PointsEntry,
    RedemptionStatus,
    Signup,
    SignupStatus,
)

PAGE_SIZE = 20


def _page(request: HttpRequest, rows) -> Page:
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


def _activities(request: HttpRequest):
    """Activities in reach, with the user's own sign-up on each (one query per page)."""
    mine = Signup.objects.filter(activity=OuterRef("pk"), volunteer__user=request.user)
    return selectors.activity_list(user=request.user).annotate(
        my_signup=Subquery(mine.values("pk")[:1]),
        my_status=Subquery(mine.values("status")[:1]),
    )


def _activity_or_404(request: HttpRequest, pk: int) -> Activity:
    return get_object_or_404(_activities(request).select_related("team__leader"), pk=pk)


def _add_errors(form, exc: ValidationError) -> None:
    """A service's field errors on the form; others on top of it."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


# --- activities -------------------------------------------------------------------------------


@login_required
def activity_list(request: HttpRequest) -> HttpResponse:
    """Activities near me: my community's and the grids' above it, soonest first."""
    now = timezone.now()
    rows = (
        _activities(request)
        .filter(ends_at__gt=now, status=ActivityStatus.OPEN)
        .order_by("starts_at", "pk")
    )
    context = {
        "page": _page(request, rows),
        "volunteer": selectors.volunteer_for_user(request.user),
        "now": now,
    }
    return render(request, "volunteers/activity_list.html", context)


def _render_activity(
    request: HttpRequest,
    activity: Activity,
    *,
    code_form: CodeForm | None = None,
    conflict: str = "",
    status: int = 200,
) -> HttpResponse:
    signup = None
    if activity.my_signup:
        signup = Signup.objects.filter(pk=activity.my_signup).first()
    now = timezone.now()
    context: dict[str, Any] = {
        "activity": activity,
        "signup": signup,
        "volunteer": selectors.volunteer_for_user(request.user),
        "organiser": permissions.can_organise(request.user, activity),
        "can_sign_up": (
            activity.status == ActivityStatus.OPEN
            and now <= activity.signup_closes_at
            and (signup is None or signup.status == SignupStatus.CANCELLED)
        ),
        "can_cancel": (
            signup is not None
            and signup.status == SignupStatus.SIGNED_UP
            and now <= activity.signup_closes_at
        ),
        "uses_code": signup is not None
        and signup.status in (SignupStatus.SIGNED_UP, SignupStatus.CHECKED_IN),
        "code_form": code_form or CodeForm(),
        "conflict": conflict,
    }
    return render(request, "volunteers/activity_detail.html", context, status=status)


@login_required
def activity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_activity(request, _activity_or_404(request, pk))


def _attempt(
    request: HttpRequest,
    activity: Activity,
    write: Callable[[], object],
    success: str,
) -> HttpResponse:
    """Run a service for the activity page: success → back to it with a message; a state
    that does not allow it → the page again with the reason (409)."""
    try:
        write()
    except Conflict as exc:
        return _render_activity(request, activity, conflict=exc.message, status=409)
    except ValidationError as exc:
        return _render_activity(request, activity, conflict=" ".join(exc.messages), status=400)
    messages.success(request, success)
    return redirect("volunteers:activity_detail", pk=activity.pk)


@login_required
@require_POST
def activity_sign_up(request: HttpRequest, pk: int) -> HttpResponse:
    activity = _activity_or_404(request, pk)
    return _attempt(
        request,
        activity,
        lambda: services.signup_create(actor=request.user, activity=activity),
        _("You are signed up."),
    )


@login_required
@require_POST
def activity_cancel_sign_up(request: HttpRequest, pk: int) -> HttpResponse:
    activity = _activity_or_404(request, pk)
    signup = get_object_or_404(Signup, pk=activity.my_signup or 0)
    return _attempt(
        request,
        activity,
        lambda: services.signup_cancel(actor=request.user, signup=signup),
        _("Your sign-up is cancelled."),
    )


@login_required
@require_POST
def activity_code(request: HttpRequest, pk: int) -> HttpResponse:
    """The volunteer types the venue's code: in on arrival, out on leaving."""
    activity = _activity_or_404(request, pk)
    form = CodeForm(request.POST)
    if not form.is_valid():
        return _render_activity(request, activity, code_form=form)
    try:
        signup = services.activity_check_in_with_code(
            actor=request.user, activity=activity, code=form.cleaned_data["code"].strip()
        )
    except Conflict as exc:
        return _render_activity(request, activity, code_form=form, conflict=exc.message, status=409)
    except ValidationError as exc:
        _add_errors(form, exc)
        return _render_activity(request, activity, code_form=form)
    if signup.status == SignupStatus.CHECKED_OUT:
        messages.success(
            request, _("Checked out: %(hours)s hours served.") % {"hours": signup.hours}
        )
    else:
        messages.success(request, _("Checked in. Thank you for coming!"))
    return redirect("volunteers:activity_detail", pk=activity.pk)


# --- the organiser's sheet --------------------------------------------------------------------


def _organised_or_403(request: HttpRequest, pk: int) -> Activity:
    activity = _activity_or_404(request, pk)
    if not permissions.can_organise(request.user, activity):
        raise PermissionDenied
    return activity


def _render_attendance(
    request: HttpRequest, activity: Activity, *, conflict: str = "", status: int = 200
) -> HttpResponse:
    rows = list(selectors.attendance(activity=activity))
    context = {
        "activity": activity,
        "rows": rows,
        "checked_out": sum(1 for r in rows if r.status == SignupStatus.CHECKED_OUT),
        "confirm_form": ConfirmForm(),
        "conflict": conflict,
    }
    return render(request, "volunteers/attendance.html", context, status=status)


@login_required
def attendance(request: HttpRequest, pk: int) -> HttpResponse:
    """The organiser's sheet at the venue: the code to show, and everyone on the list."""
    return _render_attendance(request, _organised_or_403(request, pk))


ORGANISER_STEPS: dict[str, Callable[..., Signup]] = {
    "check-in": services.signup_check_in,
    "check-out": services.signup_check_out,
    "confirm": services.signup_confirm,
    "cancel": services.signup_cancel,
}


@login_required
@require_POST
def attendance_step(request: HttpRequest, pk: int, signup_pk: int, step: str) -> HttpResponse:
    activity = _organised_or_403(request, pk)
    service = ORGANISER_STEPS.get(step)
    if service is None:
        raise Http404
    signup = get_object_or_404(Signup, pk=signup_pk, activity=activity)
    extra: dict[str, Any] = {}
    if step == "confirm":
        form = ConfirmForm(request.POST)
        if form.is_valid() and form.cleaned_data["hours"] is not None:
            extra["hours"] = form.cleaned_data["hours"]
    try:
        service(actor=request.user, signup=signup, **extra)
    except Conflict as exc:
        return _render_attendance(request, activity, conflict=exc.message, status=409)
    except ValidationError as exc:
        return _render_attendance(request, activity, conflict=" ".join(exc.messages), status=400)
    return redirect("volunteers:attendance", pk=activity.pk)


@login_required
@require_POST
def attendance_confirm_all(request: HttpRequest, pk: int) -> HttpResponse:
    activity = _organised_or_403(request, pk)
    count = services.activity_confirm_all(actor=request.user, activity=activity)
    messages.success(request, _("Hours confirmed for %(n)d volunteers.") % {"n": count})
    return redirect("volunteers:attendance", pk=activity.pk)


# --- my sign-ups ------------------------------------------------------------------------------


@login_required
def my_signups(request: HttpRequest) -> HttpResponse:
    """My sign-ups: the next activities first, with where to type the venue's code."""
    rows = selectors.my_signups(user=request.user).exclude(status=SignupStatus.CANCELLED)
    now = timezone.now()
    context = {
        "upcoming": [s for s in rows if s.activity.ends_at > now][::-1],
        "page": _page(request, rows.filter(activity__ends_at__lte=now)),
        "volunteer": selectors.volunteer_for_user(request.user),
        "code_form": CodeForm(),
    }
    return render(request, "volunteers/my_signups.html", context)


# --- points -----------------------------------------------------------------------------------


@login_required
def my_points(request: HttpRequest) -> HttpResponse:
    """My accounts with their balance, and the history of the one chosen (the first)."""
    accounts = selectors.accounts_of_user(user=request.user)
    chosen = next(
        (a for a in accounts if str(a.pk) == request.GET.get("account")),
        accounts[0] if accounts else None,
    )
    history = (
        PointsEntry.objects.filter(account=chosen)
        .select_related("rule", "grid")
        .order_by("-posted_at", "-pk")
        if chosen
        else PointsEntry.objects.none()
    )
    context = {
        "accounts": accounts,
        "chosen": chosen,
        "chosen_param": f"account={chosen.pk}" if chosen else "",
        "page": _page(request, history),
    }
    return render(request, "volunteers/my_points.html", context)


# --- the shop ---------------------------------------------------------------------------------


def _render_shop(
    request: HttpRequest, *, conflict: str = "", errors: list[str] | None = None, status=200
) -> HttpResponse:
    now = timezone.now()
    items = [
        item
        for item in selectors.item_list(user=request.user).order_by("shop_id", "price", "pk")
        if item.is_available(now)
    ]
    accounts = selectors.accounts_of_user(user=request.user)
    context = {
        "items": items,
        "accounts": accounts,
        "conflict": conflict,
        "errors": errors or [],
    }
    return render(request, "volunteers/shop.html", context, status=status)


@login_required
def shop(request: HttpRequest) -> HttpResponse:
    """The points shop of my community: what is available now, and my balances."""
    return _render_shop(request)


@login_required
@require_POST
def redeem(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(selectors.item_list(user=request.user), pk=pk)
    accounts = selectors.accounts_of_user(user=request.user)
    form = RedeemForm(request.POST, accounts=accounts)
    if not accounts or not form.is_valid():
        errors = [e for errs in form.errors.values() for e in errs] if accounts else []
        return _render_shop(request, errors=errors or [_("You have no points account yet.")])
    try:
        redemption = services.redemption_create(
            actor=request.user,
            item=item,
            account=form.chosen_account(),
            quantity=form.cleaned_data["quantity"],
        )
    except Conflict as exc:
        return _render_shop(request, conflict=exc.message, status=409)
    except ValidationError as exc:
        return _render_shop(request, errors=exc.messages)
    messages.success(
        request,
        _("Redeemed. Show the pick-up code %(code)s at %(shop)s.")
        % {"code": redemption.pickup_code, "shop": item.shop.place or item.shop.name},
    )
    return redirect("volunteers:my_redemptions")


@login_required
def my_redemptions(request: HttpRequest) -> HttpResponse:
    """My redemptions with their pick-up codes; waiting ones first."""
    rows = (
        selectors.redemption_list(user=request.user)
        .filter(selectors.own_accounts_q(request.user, via="account"))
        .order_by("-created_at", "-pk")
    )
    context = {
        "waiting": list(rows.filter(status=RedemptionStatus.PENDING)),
        "page": _page(request, rows.exclude(status=RedemptionStatus.PENDING)),
    }
    return render(request, "volunteers/my_redemptions.html", context)


@login_required
@require_POST
def redemption_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    redemption = get_object_or_404(selectors.redemption_list(user=request.user), pk=pk)
    try:
        services.redemption_cancel(actor=request.user, redemption=redemption)
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("volunteers:my_redemptions")
    messages.success(request, _("Cancelled; the points are back in your account."))
    return redirect("volunteers:my_redemptions")


@login_required
def item_photo(request: HttpRequest, pk: int) -> FileResponse:
    """An item's photo, for those who reach its shop (photos are kept out of public media)."""
    item = get_object_or_404(selectors.item_list(user=request.user).exclude(photo=""), pk=pk)
    try:
        response = FileResponse(item.photo.open("rb"))
    except FileNotFoundError as exc:
        raise Http404 from exc
    patch_cache_control(response, private=True, max_age=86400)
    return response

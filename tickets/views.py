"""Pages of the tickets app, for a phone (360 px, weak connection): report a problem
(随手拍), my tickets, the claim board (党员接单), a ticket with its timeline and the
actions the user may take now, the rating page (闭环评事), and the private page of a
reporter without an account.

Reads go through ``tickets.selectors`` (a ticket one may not see is a 404), writes
through ``tickets.services``. A refused action is shown on the ticket's page as a
message with its status code — 400 with the form's errors, 403 "you may not", 409
"the ticket has moved on" — never as an error page.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from governance.errors import Conflict
from grids import scoping
from grids.models import AssignmentRole, Grid, GridAssignment, GridKind, GridLevel
from residents.personal_data import mask_phone
from tickets import duplicates, permissions, selectors, services, states
from tickets import photos as photo_rules
from tickets.deadlines import is_overdue
from tickets.forms import (
    DispatchForm,
    DuplicateForm,
    NoteForm,
    RateForm,
    RejectForm,
    ReplyForm,
    ReportForm,
    ResolveForm,
    WhistleForm,
)
from tickets.models import (
    Category,
    EventKind,
    Ticket,
    TicketEvent,
    TicketPhoto,
    TicketStatus,
    Whistle,
    WhistleStatus,
)
from tickets.services.steps import ACTION_NAMES

PAGE_SIZE = 25
REPORTER_LINK_SALT = "tickets.reporter-link"

# The actions a ticket's page offers, in the order it shows them. Re-routing stays in the
# admin and the API: it needs the whole category and grid trees, not a phone.
PAGE_ACTIONS: tuple[str, ...] = (
    "claim",
    "accept",
    "start",
    "resolve",
    "dispatch",
    "whistle",
    "deliberate",
    "duplicate",
    "reject",
    "return",
    "reopen",
)
WHISTLE_ACTIONS: tuple[str, ...] = ("report-in", "reply")

# What a reporter without an account sees of the timeline (no names, no internal notes).
PUBLIC_EVENTS = frozenset(
    {
        EventKind.OPENED,
        EventKind.DISPATCHED,
        EventKind.PUBLISHED,
        EventKind.CLAIMED,
        EventKind.ACCEPTED,
        EventKind.STARTED,
        EventKind.WHISTLED,
        EventKind.SENT_TO_DELIBERATION,
        EventKind.RESOLVED,
        EventKind.RATED,
        EventKind.REOPENED,
        EventKind.REJECTED,
        EventKind.RETURNED,
        EventKind.MARKED_DUPLICATE,
        EventKind.CLOSED,
    }
)
PUBLIC_NOTES = frozenset({EventKind.RESOLVED, EventKind.REJECTED, EventKind.RATED})


# --- shared pieces ------------------------------------------------------------------------------


def _page(request: HttpRequest, rows) -> Page:
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


def _visible_fields(form: forms.Form) -> set[str]:
    return {name for name, field in form.fields.items() if not field.widget.is_hidden}


def _add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """A service's field errors on the form's visible fields; the others on top of it."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    shown = _visible_fields(form)
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in shown else None, errors)


def _refusal(exc: PermissionDenied) -> str:
    return str(exc) or _("You may not do this.")


def _ticket_or_404(request: HttpRequest, pk: int) -> Ticket:
    return get_object_or_404(selectors.ticket_list(user=request.user), pk=pk)


def _serve(photo: TicketPhoto, *, thumbnail: bool) -> FileResponse:
    """A photo's file: private to the browser, never kept by a proxy."""
    field = photo.thumbnail if thumbnail else photo.image
    try:
        response = FileResponse(field.open("rb"), content_type="image/jpeg")
    except FileNotFoundError as exc:
        raise Http404 from exc
    patch_cache_control(response, private=True, max_age=3600)
    return response


def _photos_by_event(ticket: Ticket) -> tuple[list[TicketPhoto], dict[int, list[TicketPhoto]]]:
    """The report's photos, and the other photos by event id (one query)."""
    report: list[TicketPhoto] = []
    by_event: dict[int, list[TicketPhoto]] = {}
    for photo in ticket.photos.order_by("created_at", "pk"):
        if photo.event_id is None:
            report.append(photo)
        else:
            by_event.setdefault(photo.event_id, []).append(photo)
    return report, by_event


# --- the private link of a reporter without an account -----------------------------------------


def reporter_link_token(ticket: Ticket) -> str:
    """The signed token of a ticket's private page. It names the ticket and nothing else;
    it does not expire, as a ticket may take weeks to resolve and a week more to rate."""
    return signing.dumps(ticket.pk, salt=REPORTER_LINK_SALT)


def _ticket_from_link(token: str) -> Ticket:
    """The ticket a genuine link names, if its reporter has no account (others sign in)."""
    try:
        pk = signing.loads(token, salt=REPORTER_LINK_SALT)
    except signing.BadSignature as exc:
        raise Http404 from exc
    if not isinstance(pk, int):
        raise Http404
    return get_object_or_404(
        Ticket.objects.select_related("category", "grid", "duplicate_of"),
        pk=pk,
        reporter__isnull=True,
    )


def _link_url(request: HttpRequest, ticket: Ticket) -> str:
    return request.build_absolute_uri(
        reverse("tickets:follow", kwargs={"token": reporter_link_token(ticket)})
    )


# --- report a problem (随手拍) ------------------------------------------------------------------


def _report_grids(user) -> QuerySet[Grid]:
    """The grids offered when no position is shared: the user's own grids (their whole
    subtree); for a resident with no grid, the communities, which a resident knows by name
    (staff re-route to the estate when needed)."""
    territorial = Grid.objects.filter(is_active=True).exclude(kind=GridKind.INDUSTRY)
    if user.is_authenticated and not scoping.scope_for(user).is_empty:
        return scoping.filter_visible(territorial, user).order_by("tree_id", "lft")
    return territorial.filter(level=GridLevel.COMMUNITY).order_by("tree_id", "lft")


def _report_form(request: HttpRequest, *, bound: bool) -> ReportForm:
    anonymous = not request.user.is_authenticated
    categories = Category.objects.filter(is_active=True).order_by("tree_id", "lft")
    if anonymous:
        categories = categories.filter(allows_anonymous=True)
    return ReportForm(
        request.POST if bound else None,
        request.FILES if bound else None,
        categories=categories,
        grids=_report_grids(request.user),
        anonymous=anonymous,
    )


@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    """随手拍: anyone may report. Signed-in users report as themselves (the service picks
    patrol, unit head or resident web from their part on the grid); without an account,
    where the category allows, with a phone number, and they get a private link."""
    form = _report_form(request, bound=request.method == "POST")
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            signed_in = request.user.is_authenticated
            try:
                ticket = services.ticket_open(
                    actor=request.user if signed_in else None,
                    reporter=request.user if signed_in else None,
                    channel=None,
                    category=data["category"],
                    title=data["title"],
                    description=data["description"],
                    grid=data["grid"],
                    lat=data["lat"],
                    lng=data["lng"],
                    address=data["address"],
                    reporter_name=data.get("reporter_name", ""),
                    reporter_phone=data.get("reporter_phone", ""),
                    photos=data["photos"],
                )
            except ValidationError as exc:
                _add_service_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, _refusal(exc))
                status = 403
            else:
                messages.success(
                    request,
                    _("Reported. Your ticket number is %(number)s.") % {"number": ticket.number},
                )
                if signed_in:
                    return redirect("tickets:ticket_detail", pk=ticket.pk)
                return redirect("tickets:follow", token=reporter_link_token(ticket))
    context = {
        "form": form,
        "anonymous": not request.user.is_authenticated,
        "max_photos": photo_rules.MAX_PHOTOS,
    }
    return render(request, "tickets/report.html", context, status=status)


# --- lists --------------------------------------------------------------------------------------


def _with_overdue(page: Page) -> list[tuple[Ticket, bool]]:
    now = timezone.now()
    return [(ticket, is_overdue(ticket, now)) for ticket in page.object_list]


def _open_first(rows: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """Tickets someone still has to act on first, then the rest, newest first."""
    waiting = Case(
        When(status__in=states.OPEN, then=Value(0)),
        When(status=TicketStatus.RESOLVED, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return rows.annotate(waiting=waiting).order_by("waiting", "-created_at", "-pk")


@login_required
def my_tickets(request: HttpRequest) -> HttpResponse:
    """Tickets assigned to me, or reported (or entered) by me. A grid worker starts on
    their work, a resident on their reports."""
    show = request.GET.get("show")
    if show not in ("assigned", "reported"):
        show = "reported" if scoping.scope_for(request.user).is_empty else "assigned"
    rows = selectors.ticket_list(user=request.user)
    if show == "assigned":
        rows = rows.filter(assignee=request.user)
    else:
        rows = rows.filter(Q(reporter=request.user) | Q(created_by=request.user))
    page = _page(request, _open_first(rows))
    context = {"page": page, "rows": _with_overdue(page), "show": show}
    return render(request, "tickets/my_tickets.html", context)


@login_required
def claim_board(request: HttpRequest) -> HttpResponse:
    """党员接单: what I may claim, the most urgent first; the first claim wins."""
    page = _page(request, selectors.claim_board(user=request.user))
    context = {"page": page, "rows": _with_overdue(page)}
    return render(request, "tickets/claim_board.html", context)


# --- one ticket ---------------------------------------------------------------------------------


def _assignable_people(ticket: Ticket) -> QuerySet:
    """People working on the ticket's grid or above it, as ``permissions.can_be_assigned``
    accepts them; leaders who only read and department liaisons are not offered."""
    grid = ticket.grid
    on_grid = (
        GridAssignment.objects.current()
        .filter(
            grid__tree_id=grid.tree_id,
            grid__lft__lte=grid.lft,
            grid__rght__gte=grid.rght,
        )
        .exclude(role__in=[AssignmentRole.DISTRICT_LEADER, AssignmentRole.DEPARTMENT_LIAISON])
        .values("user_id")
    )
    return (
        get_user_model()
        .objects.filter(is_active=True, pk__in=on_grid)
        .order_by("full_name", "username")
    )


def _action_form(action: str, ticket: Ticket, *, data=None, files=None) -> forms.Form:
    """The form of one action, bound when ``data`` is given; ids are prefixed with the
    action so the page's many small forms never share an id."""
    auto_id = f"id_{action}_%s"
    if action == "resolve":
        return ResolveForm(data, files, auto_id=auto_id)
    if action == "dispatch":
        return DispatchForm(data, auto_id=auto_id, people=_assignable_people(ticket))
    if action == "whistle":
        return WhistleForm(
            data, auto_id=auto_id, departments=selectors.ticket_departments(ticket=ticket)
        )
    if action in ("reject", "return"):  # both need the reason the reporter is told
        return RejectForm(data, auto_id=auto_id)
    if action == "duplicate":
        return DuplicateForm(data, auto_id=auto_id)
    return NoteForm(data, auto_id=auto_id)


def _whistle_rows(
    user, ticket: Ticket, failing: dict[str, forms.Form]
) -> list[tuple[Whistle, str, forms.Form | None]]:
    """Each whistle with what this user may do for its department now (report in or
    reply), and the form for it."""
    rows = []
    for whistle in ticket.whistles.all():
        action = ""
        if whistle.status != WhistleStatus.CANCELLED and permissions.can_act_for_department(
            user, whistle
        ):
            if whistle.status == WhistleStatus.PENDING and ticket.status in states.OPEN:
                action = "report-in"
            elif (
                whistle.status != WhistleStatus.PENDING
                and ticket.status in states.WHISTLE_ACTIVE_TICKET
            ):
                action = "reply"
        key = f"{action}-{whistle.pk}"
        form = None
        if action == "report-in":
            form = failing.get(key) or NoteForm(auto_id=f"id_{key}_%s")
        elif action == "reply":
            form = failing.get(key) or ReplyForm(auto_id=f"id_{key}_%s")
        rows.append((whistle, action, form))
    return rows


def _render_detail(
    request: HttpRequest,
    ticket: Ticket,
    *,
    failing: dict[str, forms.Form] | None = None,
    notice: str = "",
    status: int = 200,
) -> HttpResponse:
    user = request.user
    failing = failing or {}
    allowed = permissions.allowed_actions(user, ticket)
    actions = [
        (action, failing.get(action) or _action_form(action, ticket))
        for action in PAGE_ACTIONS
        if action in allowed
    ]
    report_photos, photos_by_event = _photos_by_event(ticket)
    events = [
        (event, photos_by_event.get(event.pk, []))
        for event in selectors.ticket_timeline(ticket=ticket)
    ]
    is_staff = permissions.is_staff(user, ticket)
    sees_phone = (
        is_staff or permissions.is_assignee(user, ticket) or ticket.created_by_id == user.pk
    )
    context: dict[str, Any] = {
        "ticket": ticket,
        "overdue": is_overdue(ticket),
        "notice": notice,
        "actions": actions,
        "may_rate": "rate" in allowed,
        "whistles": _whistle_rows(user, ticket, failing),
        "report_photos": report_photos,
        "events": events,
        "reporter_phone": (
            ticket.reporter_phone if sees_phone else mask_phone(ticket.reporter_phone)
        ),
        "possible_duplicates": (
            duplicates.possible_duplicates(ticket, user=user) if "duplicate" in allowed else []
        ),
        "reporter_link": (
            _link_url(request, ticket)
            if ticket.reporter_id is None and (is_staff or ticket.created_by_id == user.pk)
            else ""
        ),
    }
    return render(request, "tickets/ticket_detail.html", context, status=status)


@login_required
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, _ticket_or_404(request, pk))


def _latest_event(ticket: Ticket, kind: str) -> TicketEvent:
    """The event a transition has just appended. The caller's transaction still holds the
    ticket's row lock, so no other event can have come after it."""
    return ticket.events.filter(kind=kind).order_by("-created_at", "-pk")[0]


def _original(request: HttpRequest, number: str) -> Ticket:
    original = selectors.ticket_visible(user=request.user).filter(number=number.strip()).first()
    if original is None:
        raise ValidationError({"original": _("No ticket with this number that you can see.")})
    return original


def _perform(request: HttpRequest, action: str, ticket: Ticket, data: dict) -> None:
    """Carry out one action through its service, inside the caller's transaction."""
    actor = request.user
    note = data.get("note", "")
    if action == "resolve":
        prepared = photo_rules.prepare_photos(data["photos"])  # decoded before the lock
        services.ticket_resolve(actor=actor, ticket=ticket, note=note)
        if prepared:
            event = _latest_event(ticket, EventKind.RESOLVED)
            services.ticket_attach_photos(actor=actor, ticket=ticket, event=event, files=prepared)
    elif action == "dispatch":
        services.ticket_dispatch(
            actor=actor,
            ticket=ticket,
            assignee=None if data["claim_board"] else data["assignee"],
            claim_board=data["claim_board"],
            note=note,
        )
    elif action == "whistle":
        services.ticket_whistle(
            actor=actor, ticket=ticket, departments=data["departments"], note=note
        )
    elif action == "reject":
        services.ticket_reject(actor=actor, ticket=ticket, reason=data["reason"])
    elif action == "return":
        services.ticket_return(actor=actor, ticket=ticket, reason=data["reason"])
    elif action == "duplicate":
        original = _original(request, data["original"])
        services.ticket_mark_duplicate(actor=actor, ticket=ticket, original=original, note=note)
    else:
        service = {
            "claim": services.ticket_claim,
            "accept": services.ticket_accept,
            "start": services.ticket_start,
            "reopen": services.ticket_reopen,
            "deliberate": services.ticket_send_to_deliberation,
        }[action]
        service(actor=actor, ticket=ticket, note=note)


def _outcome(
    request: HttpRequest, pk: int, key: str, form: forms.Form, attempt
) -> HttpResponse | None:
    """Run ``attempt`` atomically; on success back to the ticket with a message, on
    refusal the ticket's page again with the reason and the matching status code."""
    try:
        with transaction.atomic():
            attempt()
    except ValidationError as exc:
        _add_service_errors(form, exc)
        return _render_detail(request, _ticket_or_404(request, pk), failing={key: form}, status=400)
    except Conflict as exc:
        return _render_detail(request, _ticket_or_404(request, pk), notice=exc.message, status=409)
    except PermissionDenied as exc:
        return _render_detail(
            request, _ticket_or_404(request, pk), notice=_refusal(exc), status=403
        )
    return None


@login_required
@require_POST
def ticket_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One action of the ticket's page, posted by its small form."""
    if action not in PAGE_ACTIONS:
        raise Http404
    ticket = _ticket_or_404(request, pk)
    form = _action_form(action, ticket, data=request.POST, files=request.FILES)
    if not form.is_valid():
        return _render_detail(request, ticket, failing={action: form}, status=400)
    refused = _outcome(
        request, pk, action, form, lambda: _perform(request, action, ticket, form.cleaned_data)
    )
    if refused is not None:
        return refused
    messages.success(request, _("Done: %(action)s.") % {"action": ACTION_NAMES[action]})
    return redirect("tickets:ticket_detail", pk=pk)


@login_required
@require_POST
def whistle_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """部门报到 and the department's reply (with photos), from the ticket's page."""
    if action not in WHISTLE_ACTIONS:
        raise Http404
    whistle = get_object_or_404(selectors.whistle_list(user=request.user), pk=pk)
    ticket = _ticket_or_404(request, whistle.ticket_id)
    key = f"{action}-{whistle.pk}"
    auto_id = f"id_{key}_%s"
    if action == "report-in":
        form: forms.Form = NoteForm(request.POST, auto_id=auto_id)
    else:
        form = ReplyForm(request.POST, request.FILES, auto_id=auto_id)
    if not form.is_valid():
        return _render_detail(request, ticket, failing={key: form}, status=400)
    data = form.cleaned_data

    def attempt() -> None:
        if action == "report-in":
            services.whistle_report_in(actor=request.user, whistle=whistle, note=data["note"])
            return
        prepared = photo_rules.prepare_photos(data["photos"])
        services.whistle_reply(actor=request.user, whistle=whistle, reply=data["reply"])
        if prepared:
            event = _latest_event(ticket, EventKind.REPLIED)
            services.ticket_attach_photos(
                actor=request.user, ticket=ticket, event=event, files=prepared
            )

    refused = _outcome(request, ticket.pk, key, form, attempt)
    if refused is not None:
        return refused
    done = _("Reported in.") if action == "report-in" else _("Reply sent.")
    messages.success(request, done)
    return redirect("tickets:ticket_detail", pk=ticket.pk)


@login_required
def ticket_photo(request: HttpRequest, pk: int) -> FileResponse:
    """A ticket photo (``?size=thumbnail`` for the small one) to those who may see the
    ticket; never from a public media URL, since photos show homes and faces."""
    visible = selectors.ticket_visible(user=request.user)
    photo = get_object_or_404(TicketPhoto.objects.filter(ticket__in=visible), pk=pk)
    return _serve(photo, thumbnail=request.GET.get("size") == "thumbnail")


# --- rating (闭环评事) --------------------------------------------------------------------------


def _rated_message(ticket: Ticket) -> str:
    if ticket.status == TicketStatus.CLOSED:
        return _("Thank you for your rating. The ticket is closed.")
    return _("Thank you for your rating. The ticket has been reopened.")


@login_required
@require_http_methods(["GET", "POST"])
def ticket_rate(request: HttpRequest, pk: int) -> HttpResponse:
    """The reporter rates the resolved ticket: satisfied or basically satisfied closes it,
    unsatisfied reopens it. (Staff reach the same page for a caller without an account.)"""
    ticket = _ticket_or_404(request, pk)
    may_rate = "rate" in permissions.allowed_actions(request.user, ticket)
    form = RateForm(request.POST or None)
    notice, status = "", 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                ticket = services.ticket_rate(
                    actor=request.user,
                    ticket=ticket,
                    rating=form.cleaned_data["rating"],
                    comment=form.cleaned_data["comment"],
                )
            except ValidationError as exc:
                _add_service_errors(form, exc)
            except Conflict as exc:
                notice, status, may_rate = exc.message, 409, False
            except PermissionDenied as exc:
                notice, status, may_rate = _refusal(exc), 403, False
            else:
                messages.success(request, _rated_message(ticket))
                return redirect("tickets:ticket_detail", pk=ticket.pk)
    context = {"ticket": ticket, "form": form if may_rate else None, "notice": notice}
    return render(request, "tickets/rate.html", context, status=status)


def _public_events(ticket: Ticket) -> list[tuple[TicketEvent, str]]:
    events = ticket.events.filter(kind__in=PUBLIC_EVENTS).order_by("created_at", "pk")
    return [(event, event.note if event.kind in PUBLIC_NOTES else "") for event in events]


def _public_photos(ticket: Ticket) -> QuerySet[TicketPhoto]:
    """The reporter's own photos and those of the resolution: the loop, closed."""
    return ticket.photos.filter(Q(event__isnull=True) | Q(event__kind=EventKind.RESOLVED)).order_by(
        "created_at", "pk"
    )


@require_http_methods(["GET", "POST"])
def follow(request: HttpRequest, token: str) -> HttpResponse:
    """The private page of a reporter without an account, reached by the signed link
    they got when reporting (or by text message from the hotline): the ticket's progress
    and, once it is resolved, the rating form."""
    ticket = _ticket_from_link(token)
    form = RateForm(request.POST or None)
    notice, status = "", 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                ticket = services.ticket_rate_by_link(
                    ticket=ticket,
                    rating=form.cleaned_data["rating"],
                    comment=form.cleaned_data["comment"],
                )
            except ValidationError as exc:
                _add_service_errors(form, exc)
            except Conflict as exc:
                notice, status = exc.message, 409
            except PermissionDenied as exc:
                notice, status = _refusal(exc), 403
            else:
                messages.success(request, _rated_message(ticket))
                return redirect("tickets:follow", token=token)
        ticket = _ticket_from_link(token)
    context = {
        "ticket": ticket,
        "token": token,
        "link": request.build_absolute_uri(),
        "events": _public_events(ticket),
        "photos": _public_photos(ticket),
        "form": form if ticket.status == TicketStatus.RESOLVED else None,
        "notice": notice,
    }
    response = render(request, "tickets/follow.html", context, status=status)
    add_never_cache_headers(response)  # the address is the key: keep it out of caches
    return response


def follow_photo(request: HttpRequest, token: str, pk: int) -> FileResponse:
    ticket = _ticket_from_link(token)
    photo = get_object_or_404(_public_photos(ticket), pk=pk)
    return _serve(photo, thumbnail=request.GET.get("size") == "thumbnail")


# --- the inbox (notifications) ------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def inbox(request: HttpRequest) -> HttpResponse:
    """My notifications, newest first (``?unread=1``: the unread only). A POST marks one
    read (``notification``) or all of them (``all``) and comes back to the same page."""
    # kept with this view: the inbox is its own subject among the ticket pages
    from tickets import notifications as inbox_rules

    if request.method == "POST":
        if request.POST.get("all"):
            inbox_rules.notification_mark_all_read(user=request.user)
        else:
            mine = inbox_rules.notification_list(user=request.user)
            raw = request.POST.get("notification", "")
            notification = get_object_or_404(mine, pk=int(raw) if raw.isdigit() else 0)
            inbox_rules.notification_mark_read(user=request.user, notification=notification)
        return redirect(request.get_full_path())
    unread_only = request.GET.get("unread") == "1"
    rows = inbox_rules.notification_list(user=request.user, unread=True if unread_only else None)
    context = {"page": _page(request, rows), "unread_only": unread_only}
    return render(request, "tickets/inbox.html", context)

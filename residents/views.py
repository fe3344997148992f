"""Pages for grid workers on a phone (360 px, weak connection): my households, one
household's archive (一户一档) with a visit form, my due visits (四必访), my campaign
tasks (敲门行动).

Reads go through ``residents.selectors`` (so another grid's household is a 404) and
writes through ``residents.services``; a view only translates between HTTP and those.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Count, Q
from django.forms import Form
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from governance.errors import Conflict
from governance.throttling import client_ip
from residents import permissions, selectors, services
from residents.forms import CampaignTaskForm, HouseholdSearchForm, VisitForm
from residents.models import (
    CampaignStatus,
    CampaignTask,
    Household,
    Visit,
    VisitKind,
)
from tickets.selectors import ticket_visible

PAGE_SIZE = 25
ARCHIVE_VISITS = 10  # the archive shows the latest visits; the API has them all


def _page(request: HttpRequest, rows) -> Page:
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


def _client_ip(request: HttpRequest) -> str | None:
    """The address the access log records: the client's, behind trusted proxies too (the
    same rule as the rate limits)."""
    return client_ip(request) or None


def _add_service_errors(form: Form, exc: ValidationError) -> None:
    """Show a service's field errors on the form; errors about fields the form does not
    have (``visited_at``, ``answers``) go on top of it."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _archive_or_404(request: HttpRequest, pk: int) -> Household:
    return get_object_or_404(selectors.household_archive(user=request.user), pk=pk)


def _latest_visits(request: HttpRequest, household: Household) -> list[Visit]:
    return selectors.household_latest_visits(
        user=request.user, household=household, limit=ARCHIVE_VISITS
    )


@login_required
def household_list(request: HttpRequest) -> HttpResponse:
    """My households, searchable by a resident's name or by building, room or address."""
    search = HouseholdSearchForm(request.GET)
    rows = selectors.household_list(user=request.user).order_by(
        "grid__tree_id", "grid__lft", "building", "unit", "room", "pk"
    )
    terms = search.terms()
    for term in terms:
        # A subquery rather than a join on residents: a join would multiply the rows and
        # inflate the resident count the selector annotates.
        named = selectors.resident_list(user=request.user).filter(name__icontains=term)
        rows = rows.filter(
            Q(building__icontains=term)
            | Q(unit__icontains=term)
            | Q(room__icontains=term)
            | Q(address__icontains=term)
            | Q(pk__in=named.values("household_id"))
        )
    page = _page(request, rows)
    today = timezone.localdate()
    context = {
        "search": search,
        "query": " ".join(terms),
        "page": page,
        "rows": [(h, selectors.duty_status(h, today)) for h in page.object_list],
    }
    return render(request, "residents/household_list.html", context)


def _render_archive(
    request: HttpRequest,
    household: Household,
    *,
    visit_form: VisitForm | None = None,
    revealed_for: int | None = None,
    revealed: dict[str, str] | None = None,
) -> HttpResponse:
    grid = household.grid
    status = selectors.duty_status(household)
    may_visit = permissions.can_visit(request.user, grid)
    if may_visit and visit_form is None:
        # Preselect what the worker most likely came for: the must-visit when one is owed.
        due = status in ("due", "overdue")
        visit_form = VisitForm(initial={"kind": VisitKind.MUST_VISIT if due else VisitKind.ROUTINE})
    linked = (
        selectors.household_list(user=request.user).filter(lead_household=household)
        if household.is_party_lead
        else Household.objects.none()
    )
    context = {
        "household": household,
        "duty": status,
        "residents": household.residents.all(),
        "visits": _latest_visits(request, household),
        "tickets": ticket_visible(user=request.user)
        .filter(household=household)
        .select_related("category")
        .order_by("-created_at")[:ARCHIVE_VISITS],
        "linked": linked,
        "can_reveal": bool(permissions.revealable_fields(request.user, grid)),
        "visit_form": visit_form if may_visit else None,
        "revealed_for": revealed_for,
        "revealed": revealed or {},
    }
    return render(request, "residents/household_archive.html", context)


@login_required
def household_archive(request: HttpRequest, pk: int) -> HttpResponse:
    """The household's archive: address, people (masked), latest visits, the visit form."""
    return _render_archive(request, _archive_or_404(request, pk))


@login_required
@require_POST
def visit_log(request: HttpRequest, pk: int) -> HttpResponse:
    household = _archive_or_404(request, pk)
    if not permissions.can_visit(request.user, household.grid):
        raise PermissionDenied  # before the form: its errors would show on no form
    form = VisitForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.visit_log(
                actor=request.user,
                household=household,
                kind=form.cleaned_data["kind"],
                findings=form.cleaned_data["findings"],
                photo=form.cleaned_data["photo"],
                visited_at=form.cleaned_data["visited_at"],
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, _("Visit recorded."))
            return redirect("residents:household_archive", pk=household.pk)
    return _render_archive(request, household, visit_form=form)


@login_required
@require_POST
def resident_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """The resident's whole ID number and/or phone, as the user's role allows, on the
    archive page: in a POST response only (never in a URL), never cached, always logged.
    A role that needs neither gets 403 from the service."""
    resident = get_object_or_404(selectors.resident_list(user=request.user), pk=pk)
    values = services.resident_reveal(
        actor=request.user, resident=resident, ip_address=_client_ip(request), path=request.path
    )
    household = _archive_or_404(request, resident.household_id)
    response = _render_archive(request, household, revealed_for=resident.pk, revealed=values)
    add_never_cache_headers(response)  # no-store, private: not in a cache, not in history
    return response


@login_required
def visit_photo(request: HttpRequest, pk: int) -> FileResponse:
    """A visit's photo, to those who may see the visit. Photos show people's homes, so
    they are not left in a public media folder; the browser may keep them, no proxy may."""
    visit = get_object_or_404(selectors.visit_list(user=request.user).exclude(photo=""), pk=pk)
    try:
        response = FileResponse(visit.photo.open("rb"))
    except FileNotFoundError as exc:
        raise Http404 from exc
    patch_cache_control(response, private=True, max_age=3600)
    return response


@login_required
def duty_list(request: HttpRequest) -> HttpResponse:
    """Households owed a must-visit: overdue first, then due, oldest first."""
    page = _page(request, selectors.duty_list(user=request.user))
    today = timezone.localdate()
    rows = [(h, selectors.duty_status(h, today)) for h in page.object_list]
    return render(request, "residents/duty_list.html", {"page": page, "rows": rows})


@login_required
def campaign_task_list(request: HttpRequest) -> HttpResponse:
    """Open campaigns covering my grids, and my households still to knock on in them."""
    campaigns = list(
        selectors.campaign_list(user=request.user)
        .filter(status=CampaignStatus.OPEN)
        .order_by("deadline", "pk")
    )
    pending = (
        selectors.campaign_task_list(user=request.user)
        .filter(campaign__in=[c.pk for c in campaigns], done_at__isnull=True)
        .select_related("household__head")
        .order_by("campaign__deadline", "campaign_id", "grid__tree_id", "grid__lft", "household")
    )
    mine = dict(pending.order_by().values_list("campaign").annotate(n=Count("pk")))
    context = {
        "campaigns": [(c, mine.get(c.pk, 0)) for c in campaigns],
        "page": _page(request, pending),
    }
    return render(request, "residents/campaign_task_list.html", context)


def _render_task(
    request: HttpRequest,
    task: CampaignTask,
    form: CampaignTaskForm | None,
    *,
    conflict: str = "",
    status: int = 200,
) -> HttpResponse:
    context: dict[str, Any] = {"task": task, "form": form, "conflict": conflict}
    return render(request, "residents/campaign_task_record.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def campaign_task_record(request: HttpRequest, pk: int) -> HttpResponse:
    """Record one door knock of a campaign: the checklist answers, findings, a photo."""
    tasks = selectors.campaign_task_list(user=request.user).select_related(
        "household__head", "household__grid"
    )
    task = get_object_or_404(tasks, pk=pk)
    if not permissions.can_visit(request.user, task.household.grid):
        if request.method == "POST":
            raise PermissionDenied
        return _render_task(request, task, None)
    questions = task.campaign.checklist or []
    if request.method != "POST":
        open_ = not task.is_done and task.campaign.status == CampaignStatus.OPEN
        return _render_task(request, task, CampaignTaskForm(questions=questions) if open_ else None)
    form = CampaignTaskForm(request.POST, request.FILES, questions=questions)
    if not form.is_valid():
        return _render_task(request, task, form)
    try:
        services.campaign_task_record(
            actor=request.user,
            task=task,
            findings=form.cleaned_data["findings"],
            answers=form.answers(),
            photo=form.cleaned_data["photo"],
        )
    except Conflict as exc:
        # Someone else got to the door first, or the campaign closed meanwhile: say so
        # plainly and offer the way back; there is nothing to retry.
        return _render_task(request, task, None, conflict=exc.message, status=409)
    except ValidationError as exc:
        _add_service_errors(form, exc)
        return _render_task(request, task, form)
    messages.success(
        request,
        _("Recorded: %(address)s") % {"address": task.household.display_address},
    )
    return redirect("residents:campaign_task_list")

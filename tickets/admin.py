"""Tickets, categories and deliberation meetings in the admin.

Tickets are scoped like everything hanging off a grid (``ScopedAdminMixin``) and are
read-only here: they change only through transitions, which the actions call as services
(so the state chart, the rights and the timeline hold in the admin too). The actions that
need a choice (whistle to departments, dispatch to a person) ask for it on an
intermediate page; a 12345 hotline order is entered on a form of its own that calls
``ticket_open``. Categories are configuration, edited by administrators through the
category services (tree lock).

Meetings (网格议事) are read-only pages too: scheduling, recording, cancelling, adding to
the agenda and deciding are forms that call the meeting services. A service's refusal
(400, 403, 409 in the API) comes back as a form error or a message, never a server error.
"""

from __future__ import annotations

from collections.abc import Iterable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers, widgets
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from mptt.admin import MPTTModelAdmin

from governance.errors import Conflict
from grids import scoping
from grids.models import Grid, GridAssignment, GridKind, GridLevel
from grids.scoped_admin import ScopedAdminMixin
from residents.personal_data import mask_phone
from tickets import permissions, selectors_meetings, services
from tickets.deadlines import is_overdue, overdue_q
from tickets.models import (
    TIER_OF_LEVEL,
    AgendaItem,
    Category,
    Channel,
    Decision,
    Meeting,
    MeetingStatus,
    Ticket,
    TicketEvent,
    Whistle,
)


def _refusal(exc: Exception) -> str:
    """What a service said when it refused (one line)."""
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc) or gettext("You may not do this.")


def _show_errors(form: forms.Form, exc: ValidationError) -> None:
    """A service's ``ValidationError`` on the form: on the field it names when the form
    has one, on the form itself otherwise."""
    if not hasattr(exc, "error_dict"):
        for message in exc.messages:
            form.add_error(None, message)
        return
    for field, errors in exc.message_dict.items():
        target = field if field in form.fields and field not in form.errors else None
        for message in errors:
            form.add_error(target, message)


def _people_on(grids: Iterable[Grid], *, below: bool = False) -> QuerySet:
    """Active people with a current assignment on any of ``grids`` or a grid above one:
    those whose scope covers them (whom a ticket there can be given). ``below`` adds
    those working inside the grids' subtrees (who may chair or attend a meeting)."""
    condition = Q()
    for grid in {g.pk: g for g in grids}.values():
        condition |= Q(
            grid__tree_id=grid.tree_id, grid__lft__lte=grid.lft, grid__rght__gte=grid.rght
        )
        if below:
            condition |= Q(
                grid__tree_id=grid.tree_id, grid__lft__gte=grid.lft, grid__rght__lte=grid.rght
            )
    if not condition:
        return get_user_model().objects.none()
    users = GridAssignment.objects.current().filter(condition).values("user_id")
    return get_user_model().objects.filter(pk__in=users, is_active=True).order_by("username")


def _grid_label(grid: Grid) -> str:
    return "· " * grid.depth + grid.name


# --- categories ---------------------------------------------------------------------------------

CATEGORY_FORM_FIELDS = [
    "name",
    "code",
    "parent",
    "respond_within",
    "resolve_within",
    "report_within",
    "default_route",
    "department",
    "allows_anonymous",
    "auto_dispatch",
    "is_active",
]


class CategoryAdminForm(forms.ModelForm):
    class Meta:
        model = Category
        fields = CATEGORY_FORM_FIELDS

    def clean(self):
        cleaned = super().clean()
        draft = Category(pk=self.instance.pk, **{f: cleaned.get(f) for f in CATEGORY_FORM_FIELDS})
        for field, message in services.category_errors(draft).items():
            if field in self.fields and field not in self.errors:
                self.add_error(field, message)
        return cleaned


@admin.register(Category)
class CategoryAdmin(MPTTModelAdmin):
    form = CategoryAdminForm
    list_display = (
        "name",
        "code",
        "default_route",
        "respond_within",
        "resolve_within",
        "auto_dispatch",
        "allows_anonymous",
        "is_active",
    )
    list_filter = ("default_route", "auto_dispatch", "allows_anonymous", "is_active")
    search_fields = ("name", "code")
    list_select_related = ("department",)

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None) -> bool:
        return self.has_add_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.has_add_permission(request)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # bypasses the service
        return actions

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "department":
            kwargs["queryset"] = Grid.objects.filter(kind=GridKind.INDUSTRY, is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        values = {f: form.cleaned_data.get(f) for f in CATEGORY_FORM_FIELDS}
        if change:
            saved = services.category_update(actor=request.user, category=obj, **values)
        else:
            saved = services.category_create(actor=request.user, **values)
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        services.category_delete(actor=request.user, category=obj)


# --- tickets -----------------------------------------------------------------------------------


class OverdueFilter(admin.SimpleListFilter):
    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("Overdue")), ("no", _("On time"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(overdue_q())
        if self.value() == "no":
            return queryset.exclude(overdue_q())
        return queryset


class GridSubtreeFilter(admin.SimpleListFilter):
    """A grid and everything under it; offered down to community level so the list of
    choices stays short in a county of hundreds of grids."""

    title = _("grid (with its subtree)")
    parameter_name = "subtree"

    def _choices(self, request):
        grids = Grid.objects.filter(
            kind=GridKind.ADMINISTRATIVE,
            level__in=[GridLevel.COUNTY, GridLevel.TOWNSHIP, GridLevel.COMMUNITY],
        )
        return scoping.filter_visible(grids, request.user).order_by("tree_id", "lft")

    def lookups(self, request, model_admin):
        return [(str(g.pk), "· " * g.depth + g.name) for g in self._choices(request)]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        grid = self._choices(request).filter(pk=self.value()).first()
        if grid is None:
            return queryset.none()
        return queryset.filter(
            grid__tree_id=grid.tree_id, grid__lft__gte=grid.lft, grid__rght__lte=grid.rght
        )


class _ReadOnlyInline(admin.TabularInline):
    """Rows of a ticket shown on its page, never edited there: they change through the
    ticket's transitions."""

    extra = 0
    can_delete = False

    def has_view_permission(self, request, obj=None) -> bool:
        return obj is None or scoping.can_view(request.user, obj.grid)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class WhistleInline(_ReadOnlyInline):
    model = Whistle
    fields = readonly_fields = (
        "department",
        "status",
        "report_by",
        "reported_at",
        "reported_by",
        "reply",
        "replied_at",
    )
    verbose_name_plural = _("whistles to departments")


class TimelineInline(_ReadOnlyInline):
    model = TicketEvent
    fields = readonly_fields = ("created_at", "kind", "actor", "from_status", "to_status", "note")
    ordering = ("created_at", "pk")
    verbose_name_plural = _("timeline")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class GridChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Grid) -> str:
        return _grid_label(obj)


class WhistleActionForm(forms.Form):
    departments = forms.ModelMultipleChoiceField(
        label=_("Departments"), queryset=Grid.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, departments: QuerySet[Grid], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["departments"].queryset = departments


class DispatchActionForm(forms.Form):
    assignee = forms.ModelChoiceField(label=_("Person"), queryset=get_user_model().objects.none())
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, people: QuerySet, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = people


class HotlineForm(forms.Form):
    """A 12345 work order as the hotline passed it on: the caller has no account here,
    their phone number is how the grid calls back (and later asks for the rating)."""

    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.filter(is_active=True)
    )
    grid = GridChoiceField(label=_("Grid"), queryset=Grid.objects.none())
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    reporter_name = forms.CharField(label=_("Caller's name"), max_length=64, required=False)
    reporter_phone = forms.CharField(label=_("Caller's phone"), max_length=20)

    def __init__(self, *args, grids: QuerySet[Grid], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["grid"].queryset = grids


def _masked_phone(field: str) -> str:
    return "reporter_phone_masked" if field == "reporter_phone" else field


@admin.register(Ticket)
class TicketAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_via = "grid"
    list_display = (
        "number",
        "title",
        "status",
        "category",
        "channel",
        "grid",
        "assignee",
        "respond_by",
        "resolve_by",
        "overdue",
        "created_at",
    )
    list_filter = ("status", "category", "channel", OverdueFilter, GridSubtreeFilter)
    list_select_related = ("category", "grid", "assignee")
    search_fields = ("number", "title", "address")
    date_hierarchy = "created_at"
    inlines = [WhistleInline, TimelineInline]
    actions = [
        "dispatch_to_person",
        "publish_to_claim_board",
        "whistle_to_departments",
        "send_to_deliberation",
        "close_unrated",
    ]
    fieldsets = (
        (None, {"fields": ("number", "status", "category", "grid", "channel", "title")}),
        (_("Report"), {"fields": ("description", "address", "lat", "lng", "created_at")}),
        (_("Reporter"), {"fields": ("reporter", "reporter_name", "reporter_phone")}),
        (
            _("Handling"),
            {
                "fields": (
                    "assignee",
                    "respond_by",
                    "responded_at",
                    "resolve_by",
                    "resolved_at",
                    "closed_at",
                    "duplicate_of",
                    "reject_reason",
                )
            },
        ),
        (_("Rating"), {"fields": ("rating", "rating_comment", "rated_at")}),
    )

    def get_fieldsets(self, request, obj=None):
        """The reporter's phone masked for those who do not call them back."""
        if obj is None or permissions.may_see_reporter_phone(request.user, obj):
            return self.fieldsets
        return [
            (title, {**options, "fields": tuple(_masked_phone(f) for f in options["fields"])})
            for title, options in self.fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        fieldsets = self.get_fieldsets(request, obj)
        return [field for _title, options in fieldsets for field in options["fields"]]

    @admin.display(description=_("reporter's phone"))
    def reporter_phone_masked(self, ticket: Ticket) -> str:
        return mask_phone(ticket.reporter_phone) if ticket.reporter_phone else ""

    def has_add_permission(self, request) -> bool:
        return False  # tickets open through ``ticket_open`` (API, pages), never a bare form

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # tickets change through transitions (the actions), not a form

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the timeline is the audit trail: tickets are closed, never deleted

    @admin.display(description=_("overdue"), boolean=True)
    def overdue(self, ticket: Ticket) -> bool:
        return is_overdue(ticket)

    def _run(self, request, queryset, transition) -> int:
        """Apply a transition to each selected ticket; refusals are reported per ticket."""
        done = 0
        for ticket in queryset.order_by("pk"):
            try:
                transition(ticket)
            except (Conflict, PermissionDenied, ValidationError) as exc:
                self.message_user(
                    request, f"{ticket.number}: {_refusal(exc)}", level=messages.WARNING
                )
                continue
            done += 1
        return done

    def _action_page(self, request, queryset, *, action: str, form, title, intro, submit):
        """The intermediate page of an action that needs a choice; it posts back to the
        change list with the same selection and ``apply``."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "intro": intro,
            "submit_label": submit,
            "form": form,
            "tickets": queryset.select_related("grid").order_by("pk"),
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/tickets/ticket/action_form.html", context)

    @admin.action(description=_("Dispatch to a person…"))
    def dispatch_to_person(self, request, queryset):
        """社区派单: one person for the selected tickets; each ticket checks that the person
        works on its grid."""
        people = _people_on(Grid.objects.filter(pk__in=queryset.values("grid_id")))
        form = DispatchActionForm(request.POST if "apply" in request.POST else None, people=people)
        if not form.is_valid():
            return self._action_page(
                request,
                queryset,
                action="dispatch_to_person",
                form=form,
                title=_("Dispatch to a person"),
                intro=_("Give the selected tickets to one person who works on their grids."),
                submit=_("Dispatch"),
            )
        assignee, note = form.cleaned_data["assignee"], form.cleaned_data["note"]
        done = self._run(
            request,
            queryset,
            lambda t: services.ticket_dispatch(
                actor=request.user, ticket=t, assignee=assignee, note=note
            ),
        )
        self.message_user(
            request,
            ngettext("%(n)d ticket dispatched.", "%(n)d tickets dispatched.", done) % {"n": done},
        )
        return None

    @admin.action(description=_("Publish on the claim board"))
    def publish_to_claim_board(self, request, queryset):
        done = self._run(
            request,
            queryset,
            lambda t: services.ticket_dispatch(actor=request.user, ticket=t, claim_board=True),
        )
        self.message_user(
            request,
            ngettext("%(n)d ticket published.", "%(n)d tickets published.", done) % {"n": done},
        )

    @admin.action(description=_("Whistle to departments…"))
    def whistle_to_departments(self, request, queryset):
        """网格吹哨、部门报到: the departments (industry grids) of the tickets' counties."""
        departments = Grid.objects.filter(
            kind=GridKind.INDUSTRY,
            is_active=True,
            tree_id__in=queryset.values("grid__tree_id"),
        ).order_by("tree_id", "lft")
        form = WhistleActionForm(
            request.POST if "apply" in request.POST else None, departments=departments
        )
        if not form.is_valid():
            return self._action_page(
                request,
                queryset,
                action="whistle_to_departments",
                form=form,
                title=_("Whistle to departments"),
                intro=_("Each department chosen must report in within the category's time."),
                submit=_("Whistle"),
            )
        chosen, note = list(form.cleaned_data["departments"]), form.cleaned_data["note"]
        done = self._run(
            request,
            queryset,
            lambda t: services.ticket_whistle(
                actor=request.user,
                ticket=t,
                # a ticket is whistled to the chosen departments of its own county
                departments=[d for d in chosen if d.tree_id == t.grid.tree_id] or chosen,
                note=note,
            ),
        )
        self.message_user(
            request,
            ngettext("%(n)d ticket whistled.", "%(n)d tickets whistled.", done) % {"n": done},
        )
        return None

    @admin.action(description=_("Send to deliberation"))
    def send_to_deliberation(self, request, queryset):
        """网格议事: the tickets wait for a meeting's agenda."""
        done = self._run(
            request,
            queryset,
            lambda t: services.ticket_send_to_deliberation(actor=request.user, ticket=t),
        )
        self.message_user(
            request,
            ngettext(
                "%(n)d ticket sent to deliberation.", "%(n)d tickets sent to deliberation.", done
            )
            % {"n": done},
        )

    # --- 12345 hotline orders ---

    def get_urls(self):
        own = [
            path(
                "hotline/",
                self.admin_site.admin_view(self.hotline_view),
                name="tickets_ticket_hotline",
            ),
        ]
        return own + super().get_urls()

    def _hotline_grids(self, request: HttpRequest) -> QuerySet[Grid]:
        """Where the user may enter 12345 orders: territorial grids they run."""
        grids = Grid.objects.filter(is_active=True).exclude(kind=GridKind.INDUSTRY)
        return scoping.filter_changeable(grids, request.user).order_by("tree_id", "lft")

    def changelist_view(self, request, extra_context=None):
        can_enter = bool(scoping.scope_for(request.user).change) or request.user.is_superuser
        extra_context = {**(extra_context or {}), "can_enter_hotline": can_enter}
        return super().changelist_view(request, extra_context)

    def hotline_view(self, request: HttpRequest):
        """Enter a 12345 work order: ``ticket_open`` with channel hotline and the caller's
        phone (validated as every reporter's is)."""
        grids = self._hotline_grids(request)
        if not self.has_module_permission(request) or not grids.exists():
            raise PermissionDenied
        form = HotlineForm(request.POST or None, grids=grids)
        if request.method == "POST" and form.is_valid():
            try:
                ticket = services.ticket_open(
                    actor=request.user, channel=Channel.HOTLINE, reporter=None, **form.cleaned_data
                )
            except ValidationError as exc:
                _show_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, _refusal(exc))
            else:
                messages.success(
                    request,
                    gettext("12345 order %(number)s entered.") % {"number": ticket.number},
                )
                return redirect("admin:tickets_ticket_change", ticket.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("12345 hotline order"),
            "intro": _(
                "Enter a work order passed on by the 12345 hotline. The caller is called back "
                "on this number and asked for the rating."
            ),
            "form": form,
            "submit_label": _("Enter the order"),
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/tickets/form_page.html", context)

    @admin.action(description=_("Close resolved tickets left unrated"))
    def close_unrated(self, request, queryset):
        done = self._run(
            request,
            queryset,
            lambda t: services.ticket_close_unrated(actor=request.user, ticket=t),
        )
        self.message_user(
            request,
            ngettext("%(n)d ticket closed.", "%(n)d tickets closed.", done) % {"n": done},
        )


# --- deliberation meetings (网格议事) -----------------------------------------------------------


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj} ({obj.username})"


class UsersChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj} ({obj.username})"


class MeetingScheduleForm(forms.Form):
    grid = GridChoiceField(
        label=_("Grid"),
        queryset=Grid.objects.none(),
        help_text=_("Micro grid: deliberation point; estate: station; community: hall."),
    )
    title = forms.CharField(label=_("Title"), max_length=200)
    venue = forms.CharField(label=_("Venue"), max_length=200, required=False)
    scheduled_at = forms.SplitDateTimeField(
        label=_("Scheduled for"), widget=widgets.AdminSplitDateTime
    )
    chaired_by = UserChoiceField(
        label=_("Chaired by"), queryset=get_user_model().objects.none(), required=False
    )

    def __init__(self, *args, grids: QuerySet[Grid], people: QuerySet, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["grid"].queryset = grids
        self.fields["chaired_by"].queryset = people


class MeetingRecordForm(forms.Form):
    held_at = forms.SplitDateTimeField(
        label=_("Held at"),
        widget=widgets.AdminSplitDateTime,
        required=False,
        help_text=_("Leave empty for now."),
    )
    chaired_by = UserChoiceField(
        label=_("Chaired by"), queryset=get_user_model().objects.none(), required=False
    )
    attendees = UsersChoiceField(
        label=_("Attendees with an account"),
        queryset=get_user_model().objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    resident_attendees = forms.IntegerField(
        label=_("Residents without an account"), min_value=0, initial=0
    )
    minutes = forms.CharField(label=_("Minutes"), widget=forms.Textarea(attrs={"rows": 8}))

    def __init__(self, *args, people: QuerySet, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["chaired_by"].queryset = people
        self.fields["attendees"].queryset = people


class MeetingCancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))


class TicketChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Ticket) -> str:
        return f"{obj.number} {obj.title} · {obj.grid.name}"


class AgendaItemForm(forms.Form):
    ticket = TicketChoiceField(
        label=_("Ticket in deliberation"), queryset=Ticket.objects.none(), required=False
    )
    proposal = forms.CharField(
        label=_("Or a resident's proposal"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    proposer_name = forms.CharField(
        label=_("Proposer's name"),
        max_length=64,
        required=False,
        help_text=_("The resident who proposed it; empty: you."),
    )

    def __init__(self, *args, tickets: QuerySet[Ticket] | None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if tickets is None:  # only staff put tickets on the agenda
            del self.fields["ticket"]
        else:
            self.fields["ticket"].queryset = tickets


HANDLING_CHOICES = [
    ("assignee", _("Dispatch it to a person")),
    ("claim_board", _("Publish it on the claim board")),
    ("departments", _("Whistle it to departments")),
    ("close_ticket", _("Close it: the decision is its resolution")),
]


class DecideForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=Decision.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(
        label=_("Decision note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Required when rejecting: a rejected ticket's reporter reads it."),
    )
    handling = forms.ChoiceField(
        label=_("An adopted ticket then"),
        choices=HANDLING_CHOICES,
        widget=forms.RadioSelect,
        required=False,
    )
    assignee = UserChoiceField(
        label=_("Person"), queryset=get_user_model().objects.none(), required=False
    )
    departments = forms.ModelMultipleChoiceField(
        label=_("Departments"),
        queryset=Grid.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, item: AgendaItem, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if item.ticket_id is None:
            for name in ("handling", "assignee", "departments"):
                del self.fields[name]
            return
        self.fields["assignee"].queryset = _people_on([item.ticket.grid])
        self.fields["departments"].queryset = Grid.objects.filter(
            kind=GridKind.INDUSTRY, is_active=True, tree_id=item.ticket.grid.tree_id
        ).order_by("lft")

    def clean(self):
        cleaned = super().clean()
        handling = cleaned.get("handling")
        if handling == "assignee" and not cleaned.get("assignee"):
            self.add_error("assignee", _("Choose the person."))
        if handling == "departments" and not cleaned.get("departments"):
            self.add_error("departments", _("Choose at least one department."))
        return cleaned

    def handling_kwargs(self) -> dict:
        """The service's arguments for how an adopted ticket goes on."""
        handling = self.cleaned_data.get("handling")
        if handling == "assignee":
            return {"assignee": self.cleaned_data["assignee"]}
        if handling == "departments":
            return {"departments": list(self.cleaned_data["departments"])}
        if handling in ("claim_board", "close_ticket"):
            return {handling: True}
        return {}


class FollowUpForm(forms.Form):
    """One follow-up ticket (分类办事); rows left empty are ignored."""

    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.filter(is_active=True)
    )
    grid = GridChoiceField(label=_("Grid"), queryset=Grid.objects.none())
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(label=_("Description"), required=False)

    def __init__(self, *args, grids: QuerySet[Grid], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["grid"].queryset = grids


FollowUpFormSet = forms.formset_factory(FollowUpForm, extra=3, max_num=20)


class AgendaItemInline(admin.TabularInline):
    """The agenda on the meeting's page, read-only: items change through the decide and
    withdraw pages (the "decide" column links there when the user may decide)."""

    model = AgendaItem
    fk_name = "meeting"
    extra = 0
    can_delete = False
    ordering = ("order",)
    fields = readonly_fields = (
        "order",
        "subject_link",
        "proposed_by",
        "decision",
        "decision_note",
        "decided_at",
        "withdrawn_at",
        "follow_up_links",
        "next_step",
    )
    verbose_name_plural = _("agenda")
    request: HttpRequest | None = None  # set per request by ``MeetingAdmin``

    def has_view_permission(self, request, obj=None) -> bool:
        return obj is None or scoping.can_view(request.user, obj.grid)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("meeting__grid", "ticket", "proposer")
            .prefetch_related("follow_ups")
        )

    @admin.display(description=_("subject"))
    def subject_link(self, item: AgendaItem) -> str:
        if item.ticket_id is None:
            return item.proposal
        url = reverse("admin:tickets_ticket_change", args=[item.ticket_id])
        return format_html('<a href="{}">{}</a> {}', url, item.ticket.number, item.ticket.title)

    @admin.display(description=_("proposer"))
    def proposed_by(self, item: AgendaItem) -> str:
        return str(item.proposer or item.proposer_name or "")

    @admin.display(description=_("follow-up tickets"))
    def follow_up_links(self, item: AgendaItem) -> str:
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            (
                (reverse("admin:tickets_ticket_change", args=[t.pk]), t.number)
                for t in item.follow_ups.all()
            ),
        )

    @admin.display(description=_("next step"))
    def next_step(self, item: AgendaItem) -> str:
        meeting = item.meeting
        if (
            self.request is None
            or not item.is_open
            or meeting.status != MeetingStatus.HELD
            or not permissions.can_run_meeting(self.request.user, meeting.grid)
        ):
            return ""
        url = reverse("admin:tickets_meeting_decide", args=[meeting.pk, item.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Decide"))


@admin.register(Meeting)
class MeetingAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_via = "grid"
    list_display = ("title", "grid", "tier", "status", "scheduled_at", "held_at", "venue")
    list_filter = ("status", "tier", GridSubtreeFilter)
    list_select_related = ("grid",)
    search_fields = ("title", "venue")
    date_hierarchy = "scheduled_at"
    inlines = [AgendaItemInline]
    fields = readonly_fields = (
        "title",
        "grid",
        "tier",
        "venue",
        "scheduled_at",
        "status",
        "held_at",
        "chaired_by",
        "attendees",
        "resident_attendees",
        "minutes",
        "cancel_reason",
        "created_by",
        "created_at",
    )

    # --- rights: the pages are views; the flows below call the services ---

    def has_add_permission(self, request) -> bool:
        scope = scoping.scope_for(request.user)
        return self.has_module_permission(request) and (scope.is_global or bool(scope.change))

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # meetings change through their flows (record, cancel, decide)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # minutes and decisions are records; a planned meeting is cancelled

    def get_inline_instances(self, request, obj=None):
        inlines = super().get_inline_instances(request, obj)
        for inline in inlines:  # new instances per request: safe to hold the request
            inline.request = request
        return inlines

    def get_urls(self):
        def view(name: str, route: str, func):
            return path(route, self.admin_site.admin_view(func), name=f"tickets_meeting_{name}")

        own = [
            view("record", "<int:meeting_id>/record/", self.record_view),
            view("cancel", "<int:meeting_id>/cancel/", self.cancel_view),
            view("add_item", "<int:meeting_id>/add-item/", self.add_item_view),
            view("decide", "<int:meeting_id>/items/<int:item_id>/decide/", self.decide_view),
            view("withdraw", "<int:meeting_id>/items/<int:item_id>/withdraw/", self.withdraw_view),
        ]
        return own + super().get_urls()

    # --- helpers ---

    def _meeting(self, request, meeting_id: int) -> Meeting:
        """The meeting if the user may see it (404 otherwise, as everywhere)."""
        return get_object_or_404(self.get_queryset(request).select_related("grid"), pk=meeting_id)

    def _page(self, request, *, title, form, meeting=None, **extra):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": meeting,
            "title": title,
            "form": form,
            "media": self.media + form.media,
            **extra,
        }
        return TemplateResponse(request, "admin/tickets/form_page.html", context)

    def _back(self, meeting: Meeting) -> HttpResponseRedirect:
        return redirect("admin:tickets_meeting_change", meeting.pk)

    def _refuse_unless_running(self, request, meeting: Meeting) -> None:
        if not permissions.can_run_meeting(request.user, meeting.grid):
            raise PermissionDenied

    def _submit(self, form: forms.Form, call) -> object | None:
        """Call a service; its refusal becomes a form error and the page is shown again."""
        try:
            return call()
        except ValidationError as exc:
            _show_errors(form, exc)
        except (Conflict, PermissionDenied) as exc:
            form.add_error(None, _refusal(exc))
        return None

    def change_view(self, request, object_id, form_url="", extra_context=None):
        meeting = self.get_queryset(request).select_related("grid").filter(pk=object_id).first()
        links = []
        if meeting is not None:
            runs = permissions.can_run_meeting(request.user, meeting.grid)
            if meeting.status == MeetingStatus.PLANNED and runs:
                links += [
                    (reverse("admin:tickets_meeting_record", args=[meeting.pk]), _("Record")),
                    (reverse("admin:tickets_meeting_cancel", args=[meeting.pk]), _("Cancel")),
                ]
            if meeting.status != MeetingStatus.CANCELLED and permissions.can_propose(
                request.user, meeting.grid
            ):
                links.append(
                    (
                        reverse("admin:tickets_meeting_add_item", args=[meeting.pk]),
                        _("Add to the agenda"),
                    )
                )
        extra_context = {**(extra_context or {}), "meeting_links": links}
        return super().change_view(request, object_id, form_url, extra_context)

    # --- the flows ---

    def add_view(self, request, form_url="", extra_context=None):
        """Schedule a meeting (``meeting_schedule``) at a grid the user runs."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        grids = scoping.filter_changeable(
            Grid.objects.filter(is_active=True, level__in=list(TIER_OF_LEVEL)).exclude(
                kind=GridKind.INDUSTRY
            ),
            request.user,
        ).order_by("tree_id", "lft")
        people = _people_on(scoping.scope_roots(request.user), below=True)
        form = MeetingScheduleForm(request.POST or None, grids=grids, people=people)
        if request.method == "POST" and form.is_valid():
            meeting = self._submit(
                form, lambda: services.meeting_schedule(actor=request.user, **form.cleaned_data)
            )
            if meeting is not None:
                messages.success(request, gettext("The meeting is scheduled."))
                return self._back(meeting)
        return self._page(request, title=_("Schedule a deliberation meeting"), form=form)

    def record_view(self, request, meeting_id: int):
        """The meeting was held: attendees, residents counted, minutes (``meeting_record``)."""
        meeting = self._meeting(request, meeting_id)
        self._refuse_unless_running(request, meeting)
        people = _people_on([meeting.grid], below=True)
        form = MeetingRecordForm(request.POST or None, people=people)
        if request.method == "POST" and form.is_valid():
            values = dict(form.cleaned_data)
            values["attendees"] = list(values["attendees"])
            if self._submit(
                form,
                lambda: services.meeting_record(actor=request.user, meeting=meeting, **values),
            ):
                messages.success(request, gettext("The meeting is recorded as held."))
                return self._back(meeting)
        return self._page(request, title=_("Record the meeting"), form=form, meeting=meeting)

    def cancel_view(self, request, meeting_id: int):
        meeting = self._meeting(request, meeting_id)
        self._refuse_unless_running(request, meeting)
        form = MeetingCancelForm(request.POST or None)
        if (
            request.method == "POST"
            and form.is_valid()
            and self._submit(
                form,
                lambda: services.meeting_cancel(
                    actor=request.user, meeting=meeting, reason=form.cleaned_data["reason"]
                ),
            )
        ):
            messages.success(request, gettext("The meeting is cancelled."))
            return self._back(meeting)
        return self._page(request, title=_("Cancel the meeting"), form=form, meeting=meeting)

    def add_item_view(self, request, meeting_id: int):
        """A ticket in deliberation (staff) or a resident's proposal (群众提事)."""
        meeting = self._meeting(request, meeting_id)
        if not permissions.can_propose(request.user, meeting.grid):
            raise PermissionDenied
        runs = permissions.can_run_meeting(request.user, meeting.grid)
        tickets = selectors_meetings.deliberation_tickets(meeting=meeting) if runs else None
        form = AgendaItemForm(request.POST or None, tickets=tickets)
        if (
            request.method == "POST"
            and form.is_valid()
            and self._submit(
                form,
                lambda: services.meeting_add_item(
                    actor=request.user, meeting=meeting, **form.cleaned_data
                ),
            )
        ):
            messages.success(request, gettext("The item is on the agenda."))
            return self._back(meeting)
        return self._page(request, title=_("Add to the agenda"), form=form, meeting=meeting)

    def decide_view(self, request, meeting_id: int, item_id: int):
        """The meeting's decision on one item, with its follow-up tickets (``item_decide``)."""
        meeting = self._meeting(request, meeting_id)
        self._refuse_unless_running(request, meeting)
        item = get_object_or_404(
            AgendaItem.objects.select_related("ticket__grid"), pk=item_id, meeting=meeting
        )
        grid = meeting.grid
        grids = Grid.objects.filter(
            tree_id=grid.tree_id, lft__gte=grid.lft, rght__lte=grid.rght, is_active=True
        ).exclude(kind=GridKind.INDUSTRY)
        data = request.POST if request.method == "POST" else None
        form = DecideForm(data, item=item)
        formset = FollowUpFormSet(data, prefix="follow_ups", form_kwargs={"grids": grids})
        if data is not None and form.is_valid() and formset.is_valid():
            follow_ups = [
                services.FollowUp(**row.cleaned_data)
                for row in formset
                if row.cleaned_data and row.has_changed()
            ]
            decided = self._submit(
                form,
                lambda: services.item_decide(
                    actor=request.user,
                    item=item,
                    decision=form.cleaned_data["decision"],
                    note=form.cleaned_data["note"],
                    follow_ups=follow_ups,
                    **form.handling_kwargs(),
                ),
            )
            if decided:
                messages.success(request, gettext("The decision is recorded."))
                return self._back(meeting)
        withdraw = reverse("admin:tickets_meeting_withdraw", args=[meeting.pk, item.pk])
        return self._page(
            request,
            title=_("Decide: %(subject)s") % {"subject": item.subject[:60]},
            form=form,
            meeting=meeting,
            formset=formset,
            formset_title=_("Follow-up tickets (分类办事)"),
            withdraw_url=withdraw if item.is_open else None,
        )

    def withdraw_view(self, request, meeting_id: int, item_id: int):
        meeting = self._meeting(request, meeting_id)
        item = get_object_or_404(AgendaItem, pk=item_id, meeting=meeting)
        if request.method == "POST":
            try:
                services.item_withdraw(actor=request.user, item=item)
            except (Conflict, PermissionDenied) as exc:
                messages.error(request, _refusal(exc))
            else:
                messages.success(request, gettext("The item is withdrawn from the agenda."))
        return self._back(meeting)


from tickets import admin_rota  # noqa: E402, F401 - registers the duty rota's admin

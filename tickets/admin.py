"""Tickets and categories in the admin.

Tickets are scoped like everything hanging off a grid (``ScopedAdminMixin``) and are
read-only here: they change only through transitions, which the actions call as services
(so the state chart, the rights and the timeline hold in the admin too). Categories are
configuration, edited by administrators through the category services (tree lock).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from mptt.admin import MPTTModelAdmin

from governance.errors import Conflict
from grids import scoping
from grids.models import Grid, GridKind, GridLevel
from grids.scoped_admin import ScopedAdminMixin
from tickets import services
from tickets.deadlines import is_overdue, overdue_q
from tickets.models import Category, Ticket, TicketEvent, Whistle

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
    actions = ["publish_to_claim_board", "close_unrated"]
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

    def get_readonly_fields(self, request, obj=None):
        return [field for _title, options in self.fieldsets for field in options["fields"]]

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
                text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
                self.message_user(request, f"{ticket.number}: {text}", level=messages.WARNING)
                continue
            done += 1
        return done

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

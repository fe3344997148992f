"""The grid tree in the admin: a collapsible, draggable tree whose every write goes
through ``grids.services`` (so the tree lock and the domain rules apply here too).
Grids, assignments and party organizations show their history (who changed what, when)
to whoever may see them."""

from __future__ import annotations

from django import forms, http
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from mptt.admin import DraggableMPTTAdmin, MPTTModelAdmin
from simple_history.admin import SimpleHistoryAdmin

from grids import geometry, scoping, selectors, services
from grids.models import Grid, GridAssignment, PartyOrganization
from grids.scoped_admin import ScopedAdminMixin


class ReadOnlyHistoryAdmin(SimpleHistoryAdmin):
    """History to read: the list of versions and each past version, never restored. A
    revert would write the old row back past the services (the tree lock, the placement
    rules), so changes are made on the change form like any other.

    Out of the reader's scope, a history page answers like a missing object (the admin's
    redirect), as the change page does, rather than simple-history's 403, which would
    tell that the object exists. The history of a deleted object is for superusers: with
    the object gone there is no grid left to place it in anyone's scope.
    """

    def revert_disabled(self, request, obj=None) -> bool:
        return True

    def _missing(self, request, object_id) -> http.HttpResponse | None:
        """The missing-object answer, unless the reader may see the object now."""
        if request.user.is_superuser or self.get_object(request, unquote(object_id)):
            return None
        return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)

    def history_view(self, request, object_id, extra_context=None):
        missing = self._missing(request, object_id)
        if missing is not None:
            return missing
        try:
            return super().history_view(request, object_id, extra_context)
        except (PermissionDenied, http.Http404):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET":
            raise PermissionDenied
        missing = self._missing(request, object_id)
        if missing is not None:
            return missing
        try:
            return super().history_form_view(request, object_id, version_id, extra_context)
        except (PermissionDenied, http.Http404):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)


class GridAdminForm(forms.ModelForm):
    actor = None  # set per request by GridAdmin.get_form

    class Meta:
        model = Grid
        fields = ["parent", "name", "code", "kind", "level", "boundary"]

    def clean_boundary(self):
        boundary = self.cleaned_data.get("boundary")
        if boundary:
            geometry.parse_boundary(boundary)
        return boundary

    def clean(self):
        cleaned = super().clean()
        parent, kind, level = cleaned.get("parent"), cleaned.get("kind"), cleaned.get("level")
        if parent is None and not self.instance.pk and not (self.actor and self.actor.is_superuser):
            self.add_error("parent", _("Choose the grid this one hangs under."))
        if kind and level:
            for field, message in services.grid_placement_errors(
                kind=kind, level=level, parent=parent
            ).items():
                self.add_error(field if field in self.fields else None, message)
        if (
            parent is not None
            and self.instance.pk
            and parent.is_descendant_of(self.instance, include_self=True)
        ):
            self.add_error(
                "parent", _("A grid cannot be moved under itself or one of its descendants.")
            )
        return cleaned


class AssignmentInlineForm(forms.ModelForm):
    class Meta:
        model = GridAssignment
        fields = ["user", "role", "starts_on", "ends_on", "note"]

    def clean(self):
        cleaned = super().clean()
        # The inline formset sets the grid on the instance; a grid being added has none yet
        # and its assignments are checked by the service when saved.
        grid = self.instance.grid if self.instance.grid_id else None
        if grid is not None and cleaned.get("role") and cleaned.get("starts_on"):
            try:
                services.check_assignment_rules(
                    grid=grid,
                    role=cleaned["role"],
                    starts_on=cleaned["starts_on"],
                    ends_on=cleaned.get("ends_on"),
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        self.add_error(field if field in self.fields else None, error)
        return cleaned


class GridAssignmentInline(admin.TabularInline):
    model = GridAssignment
    form = AssignmentInlineForm
    extra = 0
    autocomplete_fields = ()
    fields = ["user", "role", "starts_on", "ends_on", "note"]
    verbose_name = _("assignment")
    verbose_name_plural = _("people on this grid")

    def has_view_permission(self, request, obj=None):
        return obj is None or scoping.can_view(request.user, obj)

    def has_change_permission(self, request, obj=None):
        return obj is None or scoping.can_change(request.user, obj)

    has_add_permission = has_change_permission
    has_delete_permission = has_change_permission


@admin.register(Grid)
class GridAdmin(ScopedAdminMixin, ReadOnlyHistoryAdmin, DraggableMPTTAdmin):
    scope_via = ""
    form = GridAdminForm
    inlines = [GridAssignmentInline]
    list_display = (
        "tree_actions",
        "indented_title",
        "code",
        "level",
        "kind",
        "descendants",
        "people",
        "is_active",
    )
    list_display_links = ("indented_title",)
    list_filter = ("kind", "level", "is_active")
    search_fields = ("name", "code")
    actions = ["deactivate_selected", "activate_selected"]
    readonly_fields = ("is_active", "bounding_box")
    expand_tree_by_default = False

    def get_queryset(self, request):
        return selectors.grid_list(user=request.user)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def get_actions(self, request):
        # mptt's "delete selected" bypasses the service; deletion is one grid at a time.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "parent":
            kwargs["queryset"] = scoping.filter_changeable(Grid.objects.all(), request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("grids below"))
    def descendants(self, grid: Grid) -> int:
        return (grid.rght - grid.lft - 1) // 2

    @admin.display(description=_("people"), ordering="assignment_count")
    def people(self, grid: Grid) -> int:
        return getattr(grid, "assignment_count", 0)

    @admin.display(description=_("bounding box"))
    def bounding_box(self, grid: Grid) -> str:
        if grid.min_lat is None:
            return "—"
        return f"{grid.min_lat:.5f}–{grid.max_lat:.5f} N, {grid.min_lng:.5f}–{grid.max_lng:.5f} E"

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data.get(f) for f in ("name", "code", "kind", "level", "boundary")}
        if not change:
            saved = services.grid_create(actor=request.user, parent=obj.parent, **data)
        else:
            saved = services.grid_update(actor=request.user, grid=obj, **data)
            if "parent" in form.changed_data and obj.parent is not None:
                saved = services.grid_move(actor=request.user, grid=saved, parent=obj.parent)
        obj.pk = saved.pk
        obj.refresh_from_db()

    def save_formset(self, request, form, formset, change):
        """Assignments are written through the assignment services, one by one; the
        formset's bookkeeping is filled in so the admin's change log stays right."""
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.deleted_forms:
            if inline_form.instance.pk:
                services.assignment_delete(actor=request.user, assignment=inline_form.instance)
                formset.deleted_objects.append(inline_form.instance)
        for inline_form in formset.forms:
            if inline_form in formset.deleted_forms or not inline_form.has_changed():
                continue
            values = {f: inline_form.cleaned_data.get(f) for f in AssignmentInlineForm.Meta.fields}
            if inline_form.instance.pk:
                saved = services.assignment_update(
                    actor=request.user, assignment=inline_form.instance, **values
                )
                formset.changed_objects.append((saved, inline_form.changed_data))
            else:
                saved = services.assignment_create(actor=request.user, grid=form.instance, **values)
                formset.new_objects.append(saved)

    def delete_model(self, request, obj):
        services.grid_delete(actor=request.user, grid=obj)

    @admin.action(description=_("Deactivate selected grids (with their subtrees)"))
    def deactivate_selected(self, request, queryset):
        changed = sum(services.grid_deactivate(actor=request.user, grid=g) for g in queryset)
        self.message_user(
            request,
            ngettext("%(n)d grid deactivated.", "%(n)d grids deactivated.", changed)
            % {"n": changed},
        )

    @admin.action(description=_("Activate selected grids"))
    def activate_selected(self, request, queryset):
        done = 0
        for grid in queryset.order_by("tree_id", "lft"):
            try:
                services.grid_activate(actor=request.user, grid=grid)
                done += 1
            except ValidationError as exc:
                self.message_user(request, f"{grid}: {exc.messages[0]}", level=messages.ERROR)
        self.message_user(
            request,
            ngettext("%(n)d grid activated.", "%(n)d grids activated.", done) % {"n": done},
        )

    def _move_node(self, request):
        """Drag and drop: the dropped grid hangs under the target (or the target's parent
        when dropped beside it); siblings stay sorted by code."""
        queryset = self.get_queryset(request)
        try:
            grid = queryset.get(pk=request.POST.get("cut_item"))
            target = queryset.get(pk=request.POST.get("pasted_on"))
        except (Grid.DoesNotExist, TypeError, ValueError):
            self.message_user(request, _("That grid no longer exists."), level=messages.ERROR)
            return http.HttpResponse("FAIL, invalid objects.")
        position = request.POST.get("position")
        parent = target if position == "last-child" else target.parent
        if parent is None:
            self.message_user(request, _("A grid cannot become a root."), level=messages.ERROR)
            return http.HttpResponse("FAIL, invalid move.")
        try:
            services.grid_move(actor=request.user, grid=grid, parent=parent)
        except (ValidationError, PermissionDenied) as exc:
            text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            self.message_user(request, text, level=messages.ERROR)
            return http.HttpResponse("FAIL, invalid move.")
        self.message_user(
            request, _("%(grid)s now hangs under %(parent)s.") % {"grid": grid, "parent": parent}
        )
        return http.HttpResponse("OK, moved.")


@admin.register(GridAssignment)
class GridAssignmentAdmin(ScopedAdminMixin, ReadOnlyHistoryAdmin):
    list_display = ("user", "role", "grid", "starts_on", "ends_on")
    list_filter = ("role",)
    search_fields = ("user__username", "user__full_name", "grid__name", "grid__code")
    list_select_related = ("user", "grid")
    fields = ("user", "grid", "role", "starts_on", "ends_on", "note")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "grid":
            kwargs["queryset"] = scoping.filter_changeable(Grid.objects.all(), request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        values = {f: form.cleaned_data.get(f) for f in self.fields}
        if change:
            saved = services.assignment_update(actor=request.user, assignment=obj, **values)
        else:
            saved = services.assignment_create(actor=request.user, **values)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        services.assignment_delete(actor=request.user, assignment=obj)


@admin.register(PartyOrganization)
class PartyOrganizationAdmin(ScopedAdminMixin, ReadOnlyHistoryAdmin, MPTTModelAdmin):
    list_display = ("name", "kind", "grid", "secretary")
    list_filter = ("kind",)
    search_fields = ("name", "grid__name")
    fields = ("name", "kind", "parent", "grid", "secretary")
    list_select_related = ("grid", "secretary")

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "grid":
            kwargs["queryset"] = scoping.filter_changeable(Grid.objects.all(), request.user)
        if db_field.name == "parent":
            kwargs["queryset"] = scoping.filter_visible(
                PartyOrganization.objects.all(), request.user, via="grid"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        values = {f: form.cleaned_data.get(f) for f in self.fields}
        if change:
            saved = services.party_organization_update(
                actor=request.user, organization=obj, **values
            )
        else:
            saved = services.party_organization_create(actor=request.user, **values)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        services.party_organization_delete(actor=request.user, organization=obj)

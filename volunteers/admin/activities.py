"""Team kinds, volunteers, teams with their members, activities with their attendance."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from grids import scoping
from grids.models import Grid
from grids.scoped_admin import ScopedAdminMixin
from residents.models import Resident
from volunteers import permissions, selectors, services
from volunteers.admin.common import (
    ReadOnlyInline,
    ServiceAdminMixin,
    run_each,
    runs_grids,
    sees_grids,
)
from volunteers.models import (
    Activity,
    Signup,
    TeamKind,
    TeamMembership,
    Volunteer,
    VolunteerTeam,
)


def _visible_grids(request):
    return scoping.filter_visible(Grid.objects.all(), request.user)


@admin.register(TeamKind)
class TeamKindAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("name", "code", "is_builtin")
    fields = ("code", "name")

    def has_module_permission(self, request) -> bool:
        return sees_grids(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return sees_grids(request)

    def has_add_permission(self, request) -> bool:
        return runs_grids(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # teams point at kinds; a kind is added, not renamed under them

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and not (obj is not None and obj.is_builtin)

    def service_save(self, request, form, obj, change, *, dry_run=False):
        data = form.cleaned_data
        return services.team_kind_create(actor=request.user, code=data["code"], name=data["name"])


@admin.register(Volunteer)
class VolunteerAdmin(ServiceAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "grid", "user", "resident", "masked_phone", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "user__username", "resident__name")
    list_select_related = ("grid", "user", "resident")
    raw_id_fields = ("user", "resident")
    fields = ("grid", "name", "user", "resident", "phone", "skills", "is_active")

    @admin.display(description=_("phone"))
    def masked_phone(self, volunteer: Volunteer) -> str:
        return volunteer.masked_phone

    def get_readonly_fields(self, request, obj=None):
        return ("user", "resident") if obj is not None else ()

    def get_fields(self, request, obj=None):
        """A reader (a district leader: view, no change) sees the phone masked, as in the
        list; whoever may change the volunteer edits the number."""
        if obj is not None and not self.has_change_permission(request, obj):
            return tuple("masked_phone" if name == "phone" else name for name in self.fields)
        return self.fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None and "name" in form.base_fields:
            form.base_fields["name"].required = False
            form.base_fields["name"].help_text = _(
                "Leave empty to use the resident's or the account's name."
            )
        return form

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "grid":
            kwargs["queryset"] = _visible_grids(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def service_save(self, request, form, obj, change, *, dry_run=False):
        data = form.cleaned_data
        if change:
            fields = ("grid", "name", "phone", "skills", "is_active")
            return services.volunteer_update(
                actor=request.user, volunteer=obj, **{f: data[f] for f in fields}
            )
        resident = data.get("resident")
        return services.volunteer_register(
            actor=request.user,
            grid=data["grid"],
            name=data.get("name") or "",
            user=data.get("user"),
            resident=Resident.objects.get(pk=resident.pk) if resident else None,
            phone=data.get("phone") or "",
            skills=data.get("skills") or "",
        )


class MembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 1
    fields = ("volunteer", "joined_on")
    readonly_fields = ("joined_on",)
    raw_id_fields = ("volunteer",)

    # Rights from the team's grid (staff), not from Django's model permissions.
    def has_view_permission(self, request, obj=None) -> bool:
        return sees_grids(request)

    def has_add_permission(self, request, obj=None) -> bool:
        if obj is None:
            return runs_grids(request)
        return permissions.can_manage(request.user, obj.grid) or permissions.is_team_leader(
            request.user, obj
        )

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a member joins or leaves; there is nothing to edit

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.has_add_permission(request, obj)

    def get_formset(self, request, obj=None, **kwargs):
        """Check what the services will refuse, so it shows on the form."""
        formset_class = super().get_formset(request, obj, **kwargs)
        visible = selectors.volunteer_list(user=request.user)

        class CheckedFormSet(formset_class):
            def clean(self):
                super().clean()
                leader_id = obj.leader_id if obj is not None else None
                for form in self.forms:
                    volunteer = getattr(form, "cleaned_data", {}).get("volunteer")
                    if volunteer is None:
                        continue
                    if form in self.deleted_forms and volunteer.pk == leader_id:
                        raise ValidationError(_("Choose another leader before the leader leaves."))
                    if form.instance.pk is None and not (
                        volunteer.is_active and visible.filter(pk=volunteer.pk).exists()
                    ):
                        raise ValidationError(_("Choose a volunteer of your grids."))

        return CheckedFormSet


@admin.register(VolunteerTeam)
class VolunteerTeamAdmin(ServiceAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "kind", "grid", "leader", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name",)
    list_select_related = ("grid", "kind", "leader")
    raw_id_fields = ("leader",)
    fields = ("grid", "kind", "name", "description", "leader", "is_active")
    inlines = [MembershipInline]

    def get_readonly_fields(self, request, obj=None):
        return ("grid",) if obj is not None else ()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "grid":
            kwargs["queryset"] = _visible_grids(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def service_save(self, request, form, obj, change, *, dry_run=False):
        data = form.cleaned_data
        if change:
            fields = ("kind", "name", "description", "leader", "is_active")
            return services.team_update(
                actor=request.user, team=obj, **{f: data[f] for f in fields}
            )
        return services.team_create(
            actor=request.user,
            grid=data["grid"],
            kind=data["kind"],
            name=data["name"],
            description=data.get("description") or "",
            leader=data.get("leader"),
        )

    def save_formset(self, request, form, formset, change):
        """Members join and leave through the services (rights, the leader stays); the
        formset's lists are filled for the admin's change message."""
        team = form.instance
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.forms:
            volunteer = getattr(inline_form, "cleaned_data", {}).get("volunteer")
            if volunteer is None:
                continue
            if inline_form in formset.deleted_forms:
                services.team_remove_member(actor=request.user, team=team, volunteer=volunteer)
                formset.deleted_objects.append(inline_form.instance)
            elif inline_form.instance.pk is None and inline_form.has_changed():
                membership = services.team_add_member(
                    actor=request.user, team=team, volunteer=volunteer
                )
                formset.new_objects.append(membership)


class SignupInline(ReadOnlyInline):
    """The attendance of the activity (confirm hours with the list's action)."""

    model = Signup
    fields = (
        "volunteer",
        "status",
        "signed_up_at",
        "checked_in_at",
        "checked_out_at",
        "hours",
        "confirmed_at",
    )
    readonly_fields = fields


ACTIVITY_FIELDS = (
    "title",
    "description",
    "grid",
    "place",
    "starts_at",
    "ends_at",
    "signup_closes_at",
    "capacity",
    "team",
    "organiser",
    "points_basis",
    "attendance_points",
)


@admin.register(Activity)
class ActivityAdmin(ServiceAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("title", "grid", "starts_at", "team", "capacity", "status")
    list_filter = ("status", "points_basis")
    search_fields = ("title", "place")
    date_hierarchy = "starts_at"
    list_select_related = ("grid", "team")
    raw_id_fields = ("organiser",)
    readonly_fields = ("check_in_code", "status", "cancel_reason")
    inlines = [SignupInline]
    actions = ["confirm_checked_out", "cancel_activities"]

    def get_fields(self, request, obj=None):
        return (*ACTIVITY_FIELDS, "check_in_code", "status", "cancel_reason")

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return (*self.readonly_fields, "grid", "team")
        return self.readonly_fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "grid":
            kwargs["queryset"] = _visible_grids(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_changeform_initial_data(self, request):
        return {"organiser": request.user.pk, **super().get_changeform_initial_data(request)}

    def service_save(self, request, form, obj, change, *, dry_run=False):
        data = form.cleaned_data
        if change:
            editable = [f for f in ACTIVITY_FIELDS if f not in ("grid", "team") and f in data]
            return services.activity_update(
                actor=request.user, activity=obj, **{f: data[f] for f in editable}
            )
        return services.activity_create(
            actor=request.user, **{f: data.get(f) for f in ACTIVITY_FIELDS}
        )

    @admin.action(description=_("Confirm the hours of everyone checked out"))
    def confirm_checked_out(self, request, queryset):
        run_each(
            self,
            request,
            queryset,
            lambda activity: services.activity_confirm_all(actor=request.user, activity=activity),
            _("Hours confirmed on %(n)d activities."),
        )

    @admin.action(description=_("Cancel the selected activities"))
    def cancel_activities(self, request, queryset):
        run_each(
            self,
            request,
            queryset,
            lambda activity: services.activity_cancel(actor=request.user, activity=activity),
            _("%(n)d activities cancelled."),
        )

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # activities with sign-ups are kept
        return actions

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # cancel instead: sign-ups and hours stay on record

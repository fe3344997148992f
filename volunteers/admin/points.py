"""Points rules (versioned), ticket category difficulties, accounts with their ledger,
entries (read-only, reversible), awards."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from grids import scoping
from grids.models import Grid
from grids.scoped_admin import ScopedAdminMixin
from volunteers import permissions, selectors, services
from volunteers.admin.common import (
    ReadOnlyInline,
    ServiceAdminMixin,
    run_each,
    sees_grids,
)
from volunteers.models import (
    CategoryDifficulty,
    PointsAccount,
    PointsAward,
    PointsEntry,
    PointsRule,
    RuleKind,
)


@admin.register(PointsRule)
class PointsRuleAdmin(ServiceAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    """Rules are versions: a change is a new row from its date on, never an edit."""

    list_display = ("name", "kind", "code", "points", "effective_from", "grid")
    list_filter = ("kind",)
    search_fields = ("name", "code")
    list_select_related = ("grid",)
    fields = ("grid", "kind", "code", "name", "points", "effective_from", "note")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "grid":
            kwargs["queryset"] = scoping.filter_visible(Grid.objects.all(), request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_queryset(self, request):
        return selectors.rule_list(user=request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None:
            return False  # a version in the ledger's past is never edited
        return super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is None or obj.effective_from <= timezone.localdate():
            return False
        return permissions.can_manage(request.user, obj.grid)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request, obj) -> None:
        services.rule_delete(actor=request.user, rule=obj)

    def service_save(self, request, form, obj, change, *, dry_run=False):
        data = form.cleaned_data
        return services.rule_set(
            actor=request.user,
            grid=data["grid"],
            kind=data["kind"],
            code=data.get("code") or "",
            name=data["name"],
            points=data["points"],
            effective_from=data["effective_from"],
            note=data.get("note") or "",
        )


@admin.register(CategoryDifficulty)
class CategoryDifficultyAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("category", "difficulty")
    list_select_related = ("category",)

    def has_module_permission(self, request) -> bool:
        return sees_grids(request) or request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def delete_model(self, request, obj) -> None:
        services.category_difficulty_set(actor=request.user, category=obj.category, difficulty=None)

    def service_save(self, request, form, obj, change, *, dry_run=False):
        data = form.cleaned_data
        services.category_difficulty_set(
            actor=request.user, category=data["category"], difficulty=data["difficulty"]
        )
        return CategoryDifficulty.objects.get(category=data["category"])


class EntryInline(ReadOnlyInline):
    model = PointsEntry
    fk_name = "account"
    fields = ("posted_at", "amount", "reason", "note", "grid", "balance_after", "posted_by")
    readonly_fields = fields
    ordering = ("-posted_at", "-pk")


class _LedgerReadOnly(admin.ModelAdmin):
    def has_module_permission(self, request) -> bool:
        return sees_grids(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return sees_grids(request)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PointsAccount)
class PointsAccountAdmin(_LedgerReadOnly):
    """Balances, with their ledger; they move only by entries."""

    list_display = ("__str__", "kind", "balance", "created_at")
    list_filter = ("kind",)
    search_fields = (
        "resident__name",
        "party_member__resident__name",
        "party_member__user__full_name",
    )
    inlines = [EntryInline]

    def get_queryset(self, request):
        return selectors.account_list(user=request.user)


@admin.register(PointsEntry)
class PointsEntryAdmin(_LedgerReadOnly):
    """The append-only ledger. A correction is the *reverse* action, never an edit."""

    list_display = ("posted_at", "account", "amount", "reason", "grid", "note", "balance_after")
    list_filter = ("reason",)
    date_hierarchy = "posted_at"
    actions = ["reverse_entries"]

    def get_queryset(self, request):
        return selectors.entry_list(user=request.user)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description=_("Reverse the selected entries"))
    def reverse_entries(self, request, queryset):
        run_each(
            self,
            request,
            queryset,
            lambda entry: services.points_entry_reverse(
                actor=request.user, entry=entry, note=str(_("Reversed in the administration"))
            ),
            _("%(n)d entries reversed."),
        )


class AwardForm(forms.ModelForm):
    class Meta:
        model = PointsAward
        fields = ("account", "grid", "rule", "note")
        labels = {"rule": _("award or party duty")}


@admin.register(PointsAward)
class PointsAwardAdmin(ServiceAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    """Award points under a rule of the grid (先进评比, party duties); the entry follows."""

    form = AwardForm
    list_display = ("awarded_on", "account", "rule", "grid", "awarded_by")
    list_select_related = ("account", "rule", "grid", "awarded_by")
    raw_id_fields = ("account",)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "grid":
            kwargs["queryset"] = scoping.filter_visible(Grid.objects.all(), request.user)
        if db_field.name == "rule":
            kwargs["queryset"] = selectors.rule_list(user=request.user).filter(
                Q(kind=RuleKind.AWARD) | Q(kind=RuleKind.PARTY_DUTY)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None:
            return False  # awarded is posted; a correction is a reversal of its entry
        return super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def service_save(self, request, form, obj, change, *, dry_run=False):
        data = form.cleaned_data
        rule = data["rule"]
        return services.points_award(
            actor=request.user,
            account=data["account"],
            grid=data["grid"],
            kind=rule.kind,
            code=rule.code,
            note=data.get("note") or "",
        )

"""The duty rota (八小时以外 / 24小时待命) in the admin.

Shifts are scoped by their grid (``ScopedAdminMixin``): community staff and grid leaders
plan the rota of their grids; everyone else with a scope reads it. The form shows the
rota's rules as field errors (``routing.duty_shift_errors``: a person who works on the
grid, no two shifts of one person at once) and saving goes through the rota services.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.http import HttpRequest

from grids import scoping
from grids.models import Grid, GridAssignment, GridKind
from grids.scoped_admin import ScopedAdminMixin
from tickets import routing
from tickets.models import DutyShift

SHIFT_FIELDS = ["grid", "user", "starts_at", "ends_at", "note"]


class DutyShiftAdminForm(forms.ModelForm):
    class Meta:
        model = DutyShift
        fields = SHIFT_FIELDS

    def clean(self):
        cleaned = super().clean()
        errors = routing.duty_shift_errors(
            grid=cleaned.get("grid"),
            user=cleaned.get("user"),
            starts_at=cleaned.get("starts_at"),
            ends_at=cleaned.get("ends_at"),
            exclude_pk=self.instance.pk,
        )
        for field, message in errors.items():
            if field in self.fields and field not in self.errors:
                self.add_error(field, message)
        return cleaned


@admin.register(DutyShift)
class DutyShiftAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_via = "grid"
    form = DutyShiftAdminForm
    list_display = ("user", "grid", "starts_at", "ends_at", "note")
    list_select_related = ("user", "grid")
    list_filter = ("starts_at",)
    search_fields = ("user__username", "user__full_name", "grid__name", "grid__code", "note")
    date_hierarchy = "starts_at"
    ordering = ("-starts_at", "pk")

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        """Grids the planner may change; people working on the grids the planner sees."""
        if db_field.name == "grid":
            grids = Grid.objects.filter(is_active=True).exclude(kind=GridKind.INDUSTRY)
            kwargs["queryset"] = scoping.filter_changeable(grids, request.user).order_by(
                "tree_id", "lft"
            )
        elif db_field.name == "user":
            working = scoping.filter_visible(
                GridAssignment.objects.current(), request.user, via="grid"
            ).values("user_id")
            kwargs["queryset"] = (
                get_user_model()
                .objects.filter(is_active=True, pk__in=working)
                .order_by("full_name", "username")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: DutyShift, form, change: bool) -> None:
        values = {field: form.cleaned_data[field] for field in SHIFT_FIELDS}
        if change:
            saved = routing.duty_shift_update(
                actor=request.user, shift=DutyShift(pk=obj.pk), **values
            )
        else:
            saved = routing.duty_shift_create(actor=request.user, **values)
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: DutyShift) -> None:
        routing.duty_shift_delete(actor=request.user, shift=obj)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for shift in queryset.order_by("pk"):
            routing.duty_shift_delete(actor=request.user, shift=shift)

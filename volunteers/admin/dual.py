"""Dual registration in the admin: unit pairings, registrations, and the report per
organization (a unit's members and what they did in a period)."""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from grids import scoping
from grids.models import Grid, PartyOrganization
from grids.scoped_admin import ScopedAdminMixin
from volunteers import selectors, services
from volunteers.admin.common import ServiceAdminMixin, run_each, sees_grids
from volunteers.models import DualRegistration, UnitPairing


def _visible_grids(request):
    return scoping.filter_visible(Grid.objects.all(), request.user)


@admin.register(UnitPairing)
class UnitPairingAdmin(ServiceAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    scope_via = "community"
    list_display = ("organization", "community", "starts_on", "ends_on")
    list_select_related = ("organization", "community")
    raw_id_fields = ("organization",)
    fields = ("organization", "community", "starts_on", "ends_on", "note")
    readonly_fields = ("ends_on",)
    actions = ["end_pairings"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "community":
            kwargs["queryset"] = _visible_grids(request).filter(level="community")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None:
            return False  # a pairing is ended, not rewritten
        return super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def service_save(self, request, form, obj, change, *, dry_run=False):
        data = form.cleaned_data
        return services.pairing_create(
            actor=request.user,
            organization=data["organization"],
            community=data["community"],
            starts_on=data.get("starts_on"),
            note=data.get("note") or "",
        )

    @admin.action(description=_("End the selected pairings today"))
    def end_pairings(self, request, queryset):
        run_each(
            self,
            request,
            queryset,
            lambda p: services.pairing_end(actor=request.user, pairing=p),
            _("%(n)d pairings ended."),
        )


class ReportForm(forms.Form):
    organization = forms.ModelChoiceField(
        label=_("Organization"), queryset=PartyOrganization.objects.none()
    )
    start = forms.DateField(label=_("From"))
    end = forms.DateField(label=_("To"))

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = scoping.filter_visible(
            PartyOrganization.objects.all(), user, via="grid"
        ).order_by("tree_id", "lft")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            self.add_error("start", _("The period starts after it ends."))
        return cleaned


@admin.register(DualRegistration)
class DualRegistrationAdmin(ServiceAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    """双报到: in-service party members registered with a community of the staff's grids.
    The organization report lists a unit's members and what they did in a period."""

    list_display = ("party_member", "grid", "organization", "registered_on", "ended_on")
    list_select_related = ("party_member__resident", "party_member__user", "grid", "organization")
    search_fields = ("party_member__resident__name", "party_member__user__full_name")
    raw_id_fields = ("party_member", "organization")
    fields = ("party_member", "grid", "organization", "registered_on", "ended_on", "note")
    readonly_fields = ("ended_on",)
    actions = ["end_registrations"]
    change_list_template = "volunteers/admin_registration_list.html"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "grid":
            kwargs["queryset"] = _visible_grids(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if "organization" in form.base_fields:
            form.base_fields["organization"].required = False
            form.base_fields["organization"].help_text = _(
                "Leave empty for the member's own party organization."
            )
        return form

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None:
            return False  # a registration is ended, not rewritten
        return super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def service_save(self, request, form, obj, change, *, dry_run=False):
        data = form.cleaned_data
        return services.registration_create(
            actor=request.user,
            party_member=data["party_member"],
            grid=data["grid"],
            organization=data.get("organization"),
            registered_on=data.get("registered_on"),
            note=data.get("note") or "",
        )

    @admin.action(description=_("End the selected registrations today"))
    def end_registrations(self, request, queryset):
        run_each(
            self,
            request,
            queryset,
            lambda r: services.registration_end(actor=request.user, registration=r),
            _("%(n)d registrations ended."),
        )

    def get_urls(self):
        own = [
            path(
                "report/",
                self.admin_site.admin_view(self.report_view),
                name="volunteers_dualregistration_report",
            )
        ]
        return own + super().get_urls()

    def report_view(self, request):
        """The organization report (seed 001: 54 units, 950+ members), for a period."""
        if not sees_grids(request):
            raise PermissionDenied
        today = timezone.localdate()
        initial = {"start": today.replace(day=1), "end": today}
        form = ReportForm(request.GET or None, user=request.user, initial=initial)
        report = None
        if form.is_bound and form.is_valid():
            start: datetime.date = form.cleaned_data["start"]
            end: datetime.date = form.cleaned_data["end"]
            report = selectors.organization_report(
                organization=form.cleaned_data["organization"], start=start, end=end
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "report": report,
            "title": _("Dual registration: report per organization"),
        }
        return TemplateResponse(request, "volunteers/admin_organization_report.html", context)

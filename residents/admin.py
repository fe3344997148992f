"""The household archives in the admin: households with their residents, scoped by grid,
with history; personal fields shown masked; writes through ``residents.services``."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from governance.errors import Conflict
from governance.throttling import client_ip
from grids import scoping
from grids.admin import ReadOnlyHistoryAdmin
from grids.models import Grid
from grids.scoped_admin import ScopedAdminMixin
from residents import permissions, services
from residents.exporting import export_residents_xlsx
from residents.importing import EXPORT_HEADERS, ImportFileError, check_upload
from residents.models import (
    Campaign,
    CampaignTask,
    Household,
    ImportJob,
    KeyGroupTag,
    PartyMember,
    PersonalDataAccess,
    Resident,
    UnitHeadship,
    Visit,
)
from residents.personal_data import validate_phone


class GridSubtreeFilter(admin.SimpleListFilter):
    """Filter by a grid and everything below it (the admin's own filter takes one grid)."""

    title = _("grid subtree")
    parameter_name = "subtree"
    grid_path = "grid"

    def lookups(self, request, model_admin):
        grids = (
            scoping.filter_visible(Grid.objects.all(), request.user)
            .filter(level__in=["county", "township", "community", "estate"])
            .order_by("tree_id", "lft")[:200]
        )
        return [(g.pk, f"{'　' * g.depth}{g.name}") for g in grids]

    def queryset(self, request, queryset):
        grid = Grid.objects.filter(pk=self.value()).first() if self.value() else None
        if grid is None:
            return queryset
        p = self.grid_path
        return queryset.filter(
            **{
                f"{p}__tree_id": grid.tree_id,
                f"{p}__lft__gte": grid.lft,
                f"{p}__rght__lte": grid.rght,
            }
        )


class TagFilter(admin.SimpleListFilter):
    title = _("key group")
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        return [(t.code, t.name) for t in KeyGroupTag.objects.all()]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        return queryset.filter(residents__tags__code=self.value()).distinct()


class ResidentInline(admin.TabularInline):
    model = Resident
    extra = 0
    fields = (
        "name",
        "gender",
        "birth_date",
        "id_number_masked",
        "masked_phone",
        "relation",
        "living_status",
    )
    readonly_fields = fields
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # residents are added on their own form, where the ID number is checked


class HouseholdForm(forms.ModelForm):
    class Meta:
        model = Household
        fields = [
            "grid",
            "building",
            "unit",
            "room",
            "address",
            "phone",
            "notes",
            "is_party_lead",
            "lead_household",
        ]

    def clean_phone(self):
        phone = self.cleaned_data.get("phone")
        return validate_phone(phone) if phone else ""

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("room") or cleaned.get("address")):
            self.add_error(
                "address", _("Give a room number, or a free address for a house without one.")
            )
        return cleaned


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Spreadsheet (.xlsx or .csv)"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".xlsx", ".csv")):
            raise ValidationError(_("Upload an .xlsx or .csv file."))
        if upload.size > 20 * 1024 * 1024:
            raise ValidationError(_("The file is larger than 20 MB."))
        try:
            check_upload(upload)
        except ImportFileError as exc:
            raise ValidationError(str(exc)) from exc
        return upload


ACTION_LABELS = {
    "create": _("new"),
    "update": _("update"),
    "unchanged": _("unchanged"),
    "refused": _("refused"),
}
REPORT_ROWS_SHOWN = 500


@admin.register(Household)
class HouseholdAdmin(ScopedAdminMixin, ReadOnlyHistoryAdmin):
    form = HouseholdForm
    inlines = [ResidentInline]
    list_display = ("__str__", "grid", "head", "masked_phone", "is_party_lead", "visit_due_on")
    list_filter = (GridSubtreeFilter, TagFilter, "is_party_lead")
    search_fields = ("building", "room", "address", "residents__name")
    list_select_related = ("grid", "head")
    readonly_fields = ("last_visited_at", "visit_due_on")

    @admin.display(description=_("phone"))
    def masked_phone(self, household: Household) -> str:
        return household.masked_phone

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if "phone" in form.base_fields and obj is not None:
            form.base_fields["phone"].help_text = _("Stored whole; shown masked in lists.")
        return form

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "grid":
            kwargs["queryset"] = scoping.filter_visible(Grid.objects.all(), request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return super().has_change_permission(request)
        return permissions.can_edit_archive(request.user, obj.grid)

    def get_urls(self):
        own = [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="residents_household_import",
            ),
            path(
                "import/<int:job_id>/",
                self.admin_site.admin_view(self.import_job_view),
                name="residents_household_import_job",
            ),
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name="residents_household_export",
            ),
        ]
        return own + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_import": self._can_import(request)}
        return super().changelist_view(request, extra_context)

    def _can_import(self, request) -> bool:
        return request.user.is_superuser or bool(scoping.scope_for(request.user).change)

    def import_view(self, request):
        if not self._can_import(request):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            job = services.import_job_start(actor=request.user, upload=form.cleaned_data["file"])
            return redirect("admin:residents_household_import_job", job.pk)
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "headers": EXPORT_HEADERS,
            "jobs": ImportJob.objects.filter(created_by=request.user)[:10],
            "title": _("Import households and residents"),
        }
        return TemplateResponse(request, "admin/residents/import_upload.html", context)

    def import_job_view(self, request, job_id: int):
        job = get_object_or_404(ImportJob, pk=job_id, created_by=request.user)
        if request.method == "POST" and "confirm" in request.POST:
            try:
                services.import_job_confirm(actor=request.user, job=job)
            except Conflict as exc:
                messages.error(request, exc.message)
            return redirect("admin:residents_household_import_job", job.pk)
        rows = sorted(job.report, key=lambda r: (r["action"] != "refused", r["line"]))
        shown = rows[:REPORT_ROWS_SHOWN]
        for row in shown:
            row["action_label"] = ACTION_LABELS.get(row["action"], row["action"])
        context = {
            **self.admin_site.each_context(request),
            "job": job,
            "rows": shown,
            "shown": len(shown),
            "more": len(rows) > len(shown),
            "title": job.original_name,
        }
        return TemplateResponse(request, "admin/residents/import_job.html", context)

    def export_view(self, request):
        residents = Resident.objects.filter(household__in=self.get_queryset(request).values("pk"))
        subtree = Grid.objects.filter(pk=request.GET.get("subtree") or 0).first()
        if subtree is not None:
            residents = residents.filter(
                household__grid__tree_id=subtree.tree_id,
                household__grid__lft__gte=subtree.lft,
                household__grid__rght__lte=subtree.rght,
            )
        content = export_residents_xlsx(
            user=request.user,
            residents=residents,
            ip_address=client_ip(request) or None,
            path=request.path,
        )
        filename = f"residents-{timezone.localdate():%Y%m%d}.xlsx"
        response = HttpResponse(
            content,
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "no-store"
        return response

    def save_model(self, request, obj, form, change):
        fields = {f: form.cleaned_data.get(f) for f in HouseholdForm.Meta.fields}
        if change:
            saved = services.household_update(actor=request.user, household=obj, **fields)
        else:
            grid = fields.pop("grid")
            saved = services.household_create(actor=request.user, grid=grid, **fields)
        obj.pk = saved.pk


class ResidentForm(forms.ModelForm):
    id_number = forms.CharField(
        label=_("ID number"),
        required=False,
        max_length=24,
        help_text=_("Leave empty to keep the stored number."),
    )

    class Meta:
        model = Resident
        fields = [
            "household",
            "name",
            "gender",
            "birth_date",
            "ethnicity",
            "phone",
            "relation",
            "living_status",
            "tags",
            "notes",
        ]

    def clean_phone(self):
        phone = self.cleaned_data.get("phone")
        return validate_phone(phone) if phone else ""

    def clean(self):
        cleaned = super().clean()
        raw = cleaned.get("id_number")
        if raw:
            scratch = Resident(
                pk=self.instance.pk,
                birth_date=cleaned.get("birth_date"),
                gender=cleaned.get("gender") or "",
            )
            try:
                services.apply_id_number(scratch, raw)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        self.add_error(field if field in self.fields else None, error)
        return cleaned


@admin.register(Resident)
class ResidentAdmin(ScopedAdminMixin, ReadOnlyHistoryAdmin):
    scope_via = "household__grid"
    form = ResidentForm
    list_display = (
        "name",
        "gender",
        "birth_date",
        "id_number_masked",
        "phone_masked",
        "household",
        "living_status",
    )
    list_filter = ("living_status", "gender", "tags")
    search_fields = ("name",)
    list_select_related = ("household__grid",)
    readonly_fields = ("id_number_masked",)

    @admin.display(description=_("phone"))
    def phone_masked(self, resident: Resident) -> str:
        return resident.masked_phone

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "household":
            kwargs["queryset"] = scoping.filter_visible(
                Household.objects.all(), request.user, via="grid"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return super().has_change_permission(request)
        return permissions.can_edit_archive(request.user, obj.household.grid)

    def save_model(self, request, obj, form, change):
        fields = {f: form.cleaned_data.get(f) for f in ResidentForm.Meta.fields}
        fields["tags"] = list(fields["tags"])
        if form.cleaned_data.get("id_number"):
            fields["id_number"] = form.cleaned_data["id_number"]
        if change:
            saved = services.resident_update(actor=request.user, resident=obj, **fields)
        else:
            saved = services.resident_create(actor=request.user, **fields)
        obj.pk = saved.pk

    def save_related(self, request, form, formsets, change):
        """Tags were set by the service; the default would overwrite them again."""


@admin.register(KeyGroupTag)
class KeyGroupTagAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "visit_interval_days", "is_builtin")

    def has_module_permission(self, request):
        return request.user.is_staff and not scoping.scope_for(request.user).is_empty

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return request.user.is_superuser or bool(scoping.scope_for(request.user).change)

    has_change_permission = has_delete_permission = lambda self, request, obj=None: (
        (request.user.is_superuser or bool(scoping.scope_for(request.user).change))
        and not (obj is not None and obj.is_builtin and not request.user.is_superuser)
    )


@admin.register(Visit)
class VisitAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_via = "household__grid"
    list_display = ("household", "visitor", "visited_at", "kind")
    list_filter = ("kind",)
    list_select_related = ("household__grid", "visitor")
    date_hierarchy = "visited_at"

    def has_add_permission(self, request, obj=None):
        return False  # visits are logged by grid workers on their phones or the API

    def has_change_permission(self, request, obj=None):
        return False


class CampaignTaskInline(admin.TabularInline):
    model = CampaignTask
    extra = 0
    fields = ("household", "grid", "done_at", "visit")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Campaign)
class CampaignAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("title", "grid", "status", "deadline", "created_at")
    list_filter = ("status",)
    fields = ("title", "grid", "checklist", "deadline", "status", "report")
    readonly_fields = ("status", "report")
    inlines = [CampaignTaskInline]

    def has_change_permission(self, request, obj=None):
        if obj is not None:
            return False  # a started campaign is followed, not edited; close it by action
        return super().has_change_permission(request)

    def save_model(self, request, obj, form, change):
        saved = services.campaign_start(
            actor=request.user,
            grid=form.cleaned_data["grid"],
            title=form.cleaned_data["title"],
            deadline=form.cleaned_data["deadline"],
            checklist=form.cleaned_data.get("checklist"),
        )
        obj.pk = saved.pk


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(admin.ModelAdmin):
    """The access log, for auditors: superusers and holders of ``audit_personal_data``."""

    list_display = ("accessed_at", "user", "resident", "household", "fields", "ip_address", "path")
    list_filter = ("fields",)
    search_fields = ("user__username", "resident__name")
    date_hierarchy = "accessed_at"
    list_select_related = ("user", "resident", "household")

    def _is_auditor(self, request) -> bool:
        return request.user.is_active and request.user.has_perm("residents.audit_personal_data")

    def has_module_permission(self, request):
        return self._is_auditor(request)

    def has_view_permission(self, request, obj=None):
        return self._is_auditor(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PartyMember)
class PartyMemberAdmin(ScopedAdminMixin, ReadOnlyHistoryAdmin):
    """Party members, scoped through their organization's grid."""

    scope_via = "organization__grid"
    list_display = ("__str__", "organization", "status", "employer")
    list_filter = ("status",)
    search_fields = ("resident__name", "user__username", "user__full_name", "employer")
    list_select_related = ("resident", "user", "organization__grid")
    autocomplete_fields = ()
    raw_id_fields = ("resident", "user")


@admin.register(UnitHeadship)
class UnitHeadshipAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("resident", "grid", "building", "unit")
    search_fields = ("resident__name", "building")
    list_select_related = ("resident", "grid")
    raw_id_fields = ("resident",)

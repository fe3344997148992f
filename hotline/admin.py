"""12345 orders in the admin: the list (scoped to the areas one sees), the import page
(upload → dry run report → apply), placing a listed order by hand, returning orders to
the hotline (退单), and the export.

Orders are read-only here: they change through the services, so the admin keeps the
same rules as the API. A service's refusal shows as a form error or a message.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from governance.errors import Conflict
from governance.throttling import client_ip
from grids import scoping
from grids.models import Grid, GridKind
from grids.scoped_admin import ScopedAdminMixin
from hotline import selectors, services
from hotline.columns import COLUMNS, EXPORT_HEADERS
from hotline.files import EXTENSIONS, MAX_BYTES
from hotline.models import HotlineOrder, OrderStatus
from residents.models import ImportStatus
from residents.personal_data import mask_phone
from tickets.models import Category

ACTION_LABELS = {
    services.OPEN: _("ticket opened"),
    services.STAGE: _("to place by hand"),
    services.UPDATE: _("updated"),
    services.UNCHANGED: _("unchanged"),
    services.DUPLICATE: _("duplicate"),
    services.REFUSED: _("refused"),
}
REPORT_ROWS_SHOWN = 500


def _refusal(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return getattr(exc, "message", "") or str(exc) or gettext("You may not do this.")


def _show_errors(form: forms.Form, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        for message in exc.messages:
            form.add_error(None, message)
        return
    for name, errors in exc.message_dict.items():
        target = name if name in form.fields and name not in form.errors else None
        for message in errors:
            form.add_error(target, message)


class GridChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Grid) -> str:
        return "· " * obj.depth + obj.name


def changeable_grids(user) -> QuerySet[Grid]:
    """Active territorial grids the user runs: the areas and the grids to place on."""
    grids = Grid.objects.filter(is_active=True).exclude(kind=GridKind.INDUSTRY)
    return scoping.filter_changeable(grids, user).order_by("tree_id", "lft")


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Hotline file (.xlsx or .csv)"))
    area = GridChoiceField(
        label=_("Area"),
        queryset=Grid.objects.none(),
        help_text=_("Orders are placed on the grids of this area."),
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = changeable_grids(user)
        self.fields["area"].initial = services.default_area(user)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(EXTENSIONS):
            raise ValidationError(_("Upload an .xlsx or .csv file."))
        if upload.size > MAX_BYTES:
            raise ValidationError(_("The file is larger than 20 MB."))
        return upload


class PlaceForm(forms.Form):
    grid = GridChoiceField(label=_("Grid"), queryset=Grid.objects.none())
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.filter(is_active=True), required=False
    )
    phone = forms.CharField(
        label=_("Caller's phone"),
        max_length=40,
        required=False,
        help_text=_("Leave empty to use the number the hotline sent."),
    )
    number = forms.CharField(
        label=_("Order number"),
        max_length=64,
        required=False,
        help_text=_("Only when the hotline sent none."),
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["grid"].queryset = changeable_grids(user)


class ReturnForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))


class ExportForm(forms.Form):
    date_from = forms.DateField(label=_("Called from"), required=False)
    date_to = forms.DateField(label=_("Called until (included)"), required=False)
    changed_since = forms.DateTimeField(
        label=_("Changed since"),
        required=False,
        help_text=_("Only orders whose order or ticket changed since then."),
    )
    file_format = forms.ChoiceField(
        label=_("Format"), choices=[("xlsx", "xlsx"), ("csv", "csv")], initial="xlsx"
    )
    encoding = forms.ChoiceField(
        label=_("CSV encoding"),
        choices=[("utf-8", "UTF-8"), ("gbk", "GBK")],
        initial="utf-8",
        required=False,
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end is before the start."))
        return cleaned


@admin.register(HotlineOrder)
class HotlineOrderAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_via = "area"
    list_display = (
        "__str__",
        "status",
        "short_reason",
        "called_at",
        "caller",
        "category_text",
        "area",
        "ticket_link",
        "place_link",
    )
    list_filter = ("status",)
    search_fields = ("number", "caller", "address", "content")
    list_select_related = ("area", "ticket")
    actions = ["return_to_hotline"]
    readonly_fields = [
        "number",
        "area",
        "status",
        "reason",
        "called_at",
        "caller",
        "phone",
        "address",
        "content",
        "category_text",
        "deadline",
        "lat",
        "lng",
        "category",
        "ticket",
        "return_reason",
        "returned_at",
        "received_by",
        "revisions",
        "received_at",
        "updated_at",
    ]

    def _phone_shown(self, request, obj) -> bool:
        """The caller's phone in full for the area's staff, who call back; masked for
        those who only read (as in the API)."""
        return obj is None or bool(obj.area_id and scoping.can_change(request.user, obj.area))

    def get_fields(self, request, obj=None):
        if self._phone_shown(request, obj):
            return self.readonly_fields
        return [("phone_masked" if f == "phone" else f) for f in self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    @admin.display(description=_("phone"))
    def phone_masked(self, order: HotlineOrder) -> str:
        return mask_phone(order.phone) if order.phone else ""

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # orders come from the hotline's files and API

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # they change through the services: place, return, re-import

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the hotline's record of what was sent and done

    @admin.display(description=_("why it could not be placed"))
    def short_reason(self, order: HotlineOrder) -> str:
        return order.reason if len(order.reason) <= 60 else order.reason[:60] + "…"

    @admin.display(description=_("ticket"))
    def ticket_link(self, order: HotlineOrder) -> str:
        if order.ticket is None:
            return ""
        url = reverse("admin:tickets_ticket_change", args=[order.ticket_id])
        return format_html('<a href="{}">{}</a>', url, order.ticket.number)

    @admin.display(description=_("place"))
    def place_link(self, order: HotlineOrder) -> str:
        if order.status != OrderStatus.UNPLACEABLE:
            return ""
        url = reverse("admin:hotline_hotlineorder_place", args=[order.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Place…"))

    def _may_receive(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or bool(scoping.scope_for(request.user).change)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_import": self._may_receive(request)}
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        view = self.admin_site.admin_view
        own = [
            path("import/", view(self.import_view), name="hotline_hotlineorder_import"),
            path(
                "import/<int:job_id>/",
                view(self.import_job_view),
                name="hotline_hotlineorder_import_job",
            ),
            path("export/", view(self.export_view), name="hotline_hotlineorder_export"),
            path("<int:pk>/place/", view(self.place_view), name="hotline_hotlineorder_place"),
        ]
        return own + super().get_urls()

    def _page(self, request, template: str, **context) -> TemplateResponse:
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, **context}
        return TemplateResponse(request, template, context)

    # --- import: upload → dry run → apply ---

    def import_view(self, request: HttpRequest):
        if not self._may_receive(request):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            try:
                job = services.import_job_start(
                    actor=request.user,
                    upload=form.cleaned_data["file"],
                    area=form.cleaned_data["area"],
                )
            except (ValidationError, PermissionDenied) as exc:
                if isinstance(exc, ValidationError):
                    _show_errors(form, exc)
                else:
                    form.add_error(None, _refusal(exc))
            else:
                return redirect("admin:hotline_hotlineorder_import_job", job.pk)
        return self._page(
            request,
            "admin/hotline/import_upload.html",
            form=form,
            headers=[names[0] for names in COLUMNS.values()],
            jobs=selectors.import_jobs(user=request.user)[:10],
            title=_("Import 12345 orders"),
        )

    def import_job_view(self, request: HttpRequest, job_id: int):
        job = get_object_or_404(selectors.import_jobs(user=request.user), pk=job_id)
        if request.method == "POST" and "confirm" in request.POST:
            try:
                services.import_job_confirm(actor=request.user, job=job)
            except (Conflict, PermissionDenied) as exc:
                messages.error(request, _refusal(exc))
            return redirect("admin:hotline_hotlineorder_import_job", job.pk)
        rows = sorted(
            job.report,
            key=lambda r: (r["action"] not in (services.REFUSED, services.STAGE), r["line"]),
        )
        shown = rows[:REPORT_ROWS_SHOWN]
        for row in shown:
            row["action_label"] = ACTION_LABELS.get(row["action"], row["action"])
        return self._page(
            request,
            "admin/hotline/import_job.html",
            job=job,
            planned=job.status == ImportStatus.PLANNED,
            rows=shown,
            shown=len(shown),
            more=len(rows) > len(shown),
            title=job.original_name,
        )

    # --- place by hand ---

    def place_view(self, request: HttpRequest, pk: int):
        order = get_object_or_404(self.get_queryset(request), pk=pk)
        if not scoping.can_change(request.user, order.area):
            raise PermissionDenied
        initial = {"category": order.category_id}
        form = PlaceForm(request.POST or None, initial=initial, user=request.user)
        if request.method == "POST" and form.is_valid():
            try:
                placed = services.order_place(actor=request.user, order=order, **form.cleaned_data)
            except ValidationError as exc:
                _show_errors(form, exc)
            except (PermissionDenied, Conflict) as exc:
                form.add_error(None, _refusal(exc))
            else:
                messages.success(
                    request,
                    gettext("Order %(order)s placed: ticket %(ticket)s.")
                    % {"order": placed.number, "ticket": placed.ticket.number},
                )
                return redirect("admin:hotline_hotlineorder_changelist")
        intro = gettext("Order %(order)s: %(content)s — %(reason)s") % {
            "order": order,
            "content": order.content[:200],
            "reason": order.reason,
        }
        return self._page(
            request,
            "admin/tickets/form_page.html",
            form=form,
            original=order,
            intro=intro,
            title=_("Place a 12345 order"),
            submit_label=_("Open the ticket"),
            media=self.media + form.media,
        )

    # --- return (退单) ---

    @admin.action(description=_("Return to the hotline…"))
    def return_to_hotline(self, request, queryset):
        """退单 with one reason for the selected orders; each is refused on its own (a
        ticket already taken on, an order already returned) with the reason."""
        form = ReturnForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return self._page(
                request,
                "admin/hotline/hotlineorder/action_form.html",
                form=form,
                orders=queryset.order_by("pk"),
                action="return_to_hotline",
                action_checkbox_name=helpers.ACTION_CHECKBOX_NAME,
                title=_("Return to the hotline"),
                intro=_("The hotline is told the reason in the export (退单原因)."),
                submit_label=_("Return"),
            )
        done = 0
        for order in queryset.order_by("pk"):
            try:
                services.order_return(
                    actor=request.user, order=order, reason=form.cleaned_data["reason"]
                )
            except (Conflict, PermissionDenied, ValidationError) as exc:
                self.message_user(request, f"{order}: {_refusal(exc)}", level=messages.WARNING)
                continue
            done += 1
        self.message_user(
            request,
            ngettext("%(n)d order returned.", "%(n)d orders returned.", done) % {"n": done},
        )
        return None

    # --- export ---

    def export_view(self, request: HttpRequest):
        if not self._may_receive(request):
            raise PermissionDenied
        form = ExportForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            asked = form.cleaned_data
            orders = selectors.orders_for_export(
                user=request.user,
                date_from=asked["date_from"],
                date_to=asked["date_to"],
                changed_since=asked["changed_since"],
            )
            content, content_type, filename = services.orders_export(
                user=request.user,
                orders=orders,
                file_format=asked["file_format"],
                encoding=asked["encoding"] or "utf-8",
                ip_address=client_ip(request) or None,
                path=request.path,
            )
            response = HttpResponse(content, content_type=content_type)
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            response["Cache-Control"] = "no-store"
            return response
        return self._page(
            request,
            "admin/tickets/form_page.html",
            form=form,
            title=_("Export 12345 orders"),
            intro=gettext("Columns: %(columns)s.") % {"columns": ", ".join(EXPORT_HEADERS)},
            submit_label=_("Download"),
            media=self.media + form.media,
        )

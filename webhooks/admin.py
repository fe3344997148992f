"""Webhooks in the admin: subscriptions, and deliveries with their attempts.

Both are scoped by grid like everything that hangs off one (``ScopedAdminMixin``): staff
see the subscriptions fed from their part of the tree, and their deliveries. Only the
owner (or a superuser) changes, deletes, rotates or replays, through the services, so the
admin and the API keep the same rules. A new secret is shown once, on the page that
answers the creation or the rotation; it is not put in a message (messages may travel
in a cookie).
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from governance.errors import Conflict
from grids import scoping
from grids.models import Grid, GridKind
from grids.scoped_admin import ScopedAdminMixin
from webhooks import services
from webhooks.models import Attempt, Delivery, EventType, Subscription

FORM_FIELDS = ["name", "grid", "url", "event_types", "is_active"]


def _refusal(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc) or gettext("You may not do this.")


def _is_owner(user, subscription: Subscription) -> bool:
    return user.is_superuser or subscription.owner_id == user.pk


class SubscriptionForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        label=_("Event types"), choices=EventType.choices, widget=forms.CheckboxSelectMultiple
    )
    actor = None  # set per request by ``SubscriptionAdmin.get_form``

    class Meta:
        model = Subscription
        fields = FORM_FIELDS

    def clean(self):
        cleaned = super().clean()
        errors = services.subscription_errors(
            actor=self.actor,
            grid=cleaned.get("grid"),
            url=(cleaned.get("url") or "").strip(),
            event_types=cleaned.get("event_types"),
        )
        grid = cleaned.get("grid")
        if self.instance.pk and grid is not None and grid.pk == self.instance.grid_id:
            errors.pop("grid", None)  # an unchanged grid stays, as in the service
        for field, message in errors.items():
            if field in self.fields and field not in self.errors:
                self.add_error(field, message)
        return cleaned


@admin.register(Subscription)
class SubscriptionAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_via = "grid"
    form = SubscriptionForm
    list_display = (
        "__str__",
        "owner",
        "grid",
        "url",
        "types",
        "is_active",
        "secret_hint",
        "created_at",
    )
    list_filter = ("is_active",)
    list_select_related = ("owner", "grid")
    search_fields = ("name", "url", "owner__username")
    actions = ["rotate_secret"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return FORM_FIELDS
        return ["owner", *FORM_FIELDS, "secret_hint", "created_at", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        if self.has_change_permission(request, obj):
            return ("owner", "secret_hint", "created_at", "updated_at")
        return ("owner", *FORM_FIELDS, "secret_hint", "created_at", "updated_at")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user
        return form

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "grid":
            grids = Grid.objects.exclude(kind=GridKind.INDUSTRY)
            kwargs["queryset"] = scoping.filter_visible(grids, request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return self.has_module_permission(request)  # subscribing needs a view scope only

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        if not self.has_module_permission(request):
            return False
        if obj is None:
            return True
        return _is_owner(request.user, obj) and scoping.can_view(request.user, obj.grid)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return self.has_change_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # would skip the owner check of the service
        return actions

    @admin.display(description=_("event types"))
    def types(self, subscription: Subscription) -> str:
        labels = dict(EventType.choices)
        return ", ".join(str(labels.get(t, t)) for t in subscription.event_types)

    def save_model(self, request, obj, form, change):
        values = {f: form.cleaned_data.get(f) for f in FORM_FIELDS}
        if change:
            saved = services.subscription_update(actor=request.user, subscription=obj, **values)
        else:
            saved, secret = services.subscription_create(actor=request.user, **values)
            request.webhook_secrets = [(saved, secret)]
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        services.subscription_delete(actor=request.user, subscription=obj)

    def _secrets_page(self, request: HttpRequest, secrets: list[tuple[Subscription, str]]):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Signing secret"),
            "secrets": secrets,
        }
        return TemplateResponse(request, "admin/webhooks/subscription/secrets.html", context)

    def response_add(self, request, obj, post_url_continue=None):
        secrets = getattr(request, "webhook_secrets", None)
        if secrets:
            return self._secrets_page(request, secrets)
        return super().response_add(request, obj, post_url_continue)

    @admin.action(description=_("Rotate the signing secret"))
    def rotate_secret(self, request, queryset: QuerySet[Subscription]):
        rotated = []
        for subscription in queryset.order_by("pk"):
            try:
                rotated.append(
                    services.subscription_rotate_secret(
                        actor=request.user, subscription=subscription
                    )
                )
            except PermissionDenied as exc:
                self.message_user(
                    request, f"{subscription}: {_refusal(exc)}", level=messages.WARNING
                )
        if rotated:
            return self._secrets_page(request, rotated)
        return None


class AttemptInline(admin.TabularInline):
    """Attempts are a log: shown with their delivery, never edited."""

    model = Attempt
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "number",
        "replay",
        "started_at",
        "duration_ms",
        "status_code",
        "succeeded",
        "error",
        "response_excerpt",
    )
    ordering = ("number",)

    def has_view_permission(self, request, obj=None) -> bool:
        return obj is None or scoping.can_view(request.user, obj.subscription.grid)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_via = "subscription__grid"
    list_display = (
        "event_id",
        "event_type",
        "subscription",
        "ticket_number",
        "status",
        "attempt_count",
        "replays",
        "next_attempt_at",
        "last_status_code",
        "delivered_at",
        "created_at",
    )
    list_filter = ("status", "event__type")
    list_select_related = ("subscription", "event")
    search_fields = ("event__id", "subscription__name", "subscription__url")
    date_hierarchy = "created_at"
    inlines = [AttemptInline]
    actions = ["replay"]
    fields = readonly_fields = (
        "subscription",
        "event_id",
        "event_type",
        "ticket_number",
        "status",
        "attempt_count",
        "replays",
        "next_attempt_at",
        "claimed_until",
        "last_status_code",
        "last_error",
        "delivered_at",
        "created_at",
        "body",
    )

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # deliveries are written by the outbox when ticket events happen

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a log; its one change, the replay, is an action

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("event type"), ordering="event__type")
    def event_type(self, delivery: Delivery) -> str:
        return delivery.event.get_type_display()

    @admin.display(description=_("ticket"))
    def ticket_number(self, delivery: Delivery) -> str:
        return delivery.event.payload.get("ticket", {}).get("number", "")

    @admin.display(description=_("body"))
    def body(self, delivery: Delivery) -> str:
        text = json.dumps(delivery.event.payload, ensure_ascii=False, indent=2, sort_keys=True)
        return format_html("<pre>{}</pre>", text)

    @admin.action(description=_("Replay (send again with the same event id)"))
    def replay(self, request, queryset: QuerySet[Delivery]):
        done = 0
        for delivery in queryset.select_related("subscription").order_by("pk"):
            try:
                services.delivery_replay(actor=request.user, delivery=delivery)
            except (Conflict, PermissionDenied, ValidationError) as exc:
                self.message_user(
                    request, f"{delivery.event_id}: {_refusal(exc)}", level=messages.WARNING
                )
                continue
            done += 1
        if done:
            self.message_user(
                request,
                ngettext("%(n)d delivery queued again.", "%(n)d deliveries queued again.", done)
                % {"n": done},
            )

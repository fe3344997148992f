"""REST API of the inbox and the duty rota (``/api/v1/notifications/``,
``/api/v1/duty-shifts/``).

Notifications are the caller's own and nobody else's: another person's notification is
a 404. Duty shifts are scoped by their grid like everything that hangs off one; community
staff and grid leaders plan them (``tickets.routing``'s ``duty_shift_*`` services: 400 for
bad input, 403 without the right).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from grids import scoping
from grids.models import Grid, GridKind
from tickets import notifications, routing
from tickets.models import DutyShift, Notification

# --- notifications ----------------------------------------------------------------------------


class NotificationSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    ticket_number = serializers.CharField(source="ticket.number", read_only=True)
    is_read = serializers.BooleanField(read_only=True)

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "kind_display",
            "text",
            "ticket",
            "ticket_number",
            "event",
            "created_at",
            "read_at",
            "is_read",
        ]
        read_only_fields = fields


class UnreadCountSerializer(serializers.Serializer):
    unread = serializers.IntegerField()


class MarkedReadSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text=_("How many notifications were marked read."))


class NotificationFilter(filters.FilterSet):
    unread = filters.BooleanFilter(
        method="filter_unread", label=_("Unread only (true) or read only (false)")
    )

    class Meta:
        model = Notification
        fields = ["unread", "kind", "ticket"]

    def filter_unread(self, queryset, name, value):
        return queryset.filter(read_at__isnull=value)


@extend_schema(tags=["notifications"])
class NotificationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The caller's inbox, newest first: tickets given to them, answers to their reports,
    departments whistled, overdue tickets escalated to them."""

    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter
    ordering_fields = ["created_at"]

    def get_queryset(self) -> QuerySet[Notification]:
        return notifications.notification_list(user=self.request.user)

    @extend_schema(
        request=None,
        responses={
            200: NotificationSerializer,
            404: OpenApiResponse(description="Not one of your notifications."),
        },
    )
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk=None) -> Response:
        """Mark one notification read (again is harmless: the first time is kept)."""
        notification = notifications.notification_mark_read(
            user=request.user, notification=self.get_object()
        )
        return Response(NotificationSerializer(notification).data)

    @extend_schema(request=None, responses={200: MarkedReadSerializer})
    @action(detail=False, methods=["post"], url_path="read-all", url_name="read-all")
    def read_all(self, request: Request) -> Response:
        """Mark every unread notification of the caller read."""
        marked = notifications.notification_mark_all_read(user=request.user)
        return Response({"marked": marked})

    @extend_schema(responses={200: UnreadCountSerializer})
    @action(
        detail=False,
        methods=["get"],
        url_path="unread-count",
        url_name="unread-count",
        pagination_class=None,
        filter_backends=[],
    )
    def unread_count(self, request: Request) -> Response:
        """How many notifications the caller has not read (for an app's badge)."""
        return Response({"unread": notifications.notification_unread_count(user=request.user)})


# --- the duty rota (八小时以外) ---------------------------------------------------------------


@extend_schema_field(OpenApiTypes.INT)
class RotaGridField(serializers.PrimaryKeyRelatedField):
    """A territorial grid the caller sees (whether they may plan its rota is the service's
    check, answered with 403)."""

    def get_queryset(self):
        grids = Grid.objects.exclude(kind=GridKind.INDUSTRY)
        return scoping.filter_visible(grids, self.context["request"].user)


@extend_schema_field(OpenApiTypes.INT)
class ActivePersonField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return get_user_model().objects.filter(is_active=True)


class DutyShiftSerializer(serializers.ModelSerializer):
    grid = RotaGridField()
    grid_name = serializers.CharField(source="grid.name", read_only=True)
    user = ActivePersonField()
    user_name = serializers.CharField(source="user.__str__", read_only=True)
    created_by = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = DutyShift
        fields = [
            "id",
            "grid",
            "grid_name",
            "user",
            "user_name",
            "starts_at",
            "ends_at",
            "note",
            "created_by",
            "created_at",
        ]
        read_only_fields = ["id", "grid_name", "user_name", "created_by", "created_at"]


class DutyShiftFilter(filters.FilterSet):
    covering = filters.IsoDateTimeFilter(
        method="filter_covering", label=_("Shifts under way at this moment")
    )
    ends_after = filters.IsoDateTimeFilter(field_name="ends_at", lookup_expr="gt")
    starts_before = filters.IsoDateTimeFilter(field_name="starts_at", lookup_expr="lt")

    class Meta:
        model = DutyShift
        fields = ["grid", "user", "covering", "ends_after", "starts_before"]

    def filter_covering(self, queryset, name, value):
        return queryset.filter(starts_at__lte=value, ends_at__gt=value)


@extend_schema(tags=["tickets"])
class DutyShiftViewSet(viewsets.ModelViewSet):
    """The duty rota (八小时以外 / 24小时待命): who is on call for a grid and the grids
    below it. Out of office hours (``OFFICE_HOURS``, weekdays) new tickets routed to "the
    grid's worker" go to the person on duty."""

    serializer_class = DutyShiftSerializer
    filterset_class = DutyShiftFilter
    search_fields = ["user__username", "user__full_name", "grid__name", "note"]
    ordering_fields = ["starts_at", "ends_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[DutyShift]:
        return routing.duty_shift_list(user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = routing.duty_shift_create(
            actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = routing.duty_shift_update(
            actor=self.request.user, shift=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        routing.duty_shift_delete(actor=self.request.user, shift=instance)


def register(router) -> None:
    router.register("notifications", NotificationViewSet, basename="notification")
    router.register("duty-shifts", DutyShiftViewSet, basename="duty-shift")

"""REST API of the webhooks (``/api/v1/webhook-subscriptions/``,
``/api/v1/webhook-deliveries/``), registered by ``governance.api.urls``.

Everything here is the caller's own: another user's subscription or delivery is a 404.
The secret is in the answer to the creation and to ``rotate-secret``, and never again.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from governance.api.mixins import ServiceWriteMixin
from grids.apis import VisibleGridField
from webhooks import selectors, services
from webhooks.models import Attempt, Delivery, DeliveryStatus, EventType, Subscription

# --- subscriptions ------------------------------------------------------------------------------


class SubscriptionSerializer(serializers.ModelSerializer):
    grid_code = serializers.CharField(source="grid.code", read_only=True)
    grid_name = serializers.CharField(source="grid.name", read_only=True)
    event_types = serializers.ListField(child=serializers.ChoiceField(EventType.choices))

    class Meta:
        model = Subscription
        fields = [
            "id",
            "name",
            "grid",
            "grid_code",
            "grid_name",
            "event_types",
            "url",
            "is_active",
            "secret_hint",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SubscriptionWithSecretSerializer(SubscriptionSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text=_("The signing secret, shown this once: keep it, it cannot be read again."),
    )

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class SubscriptionWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    grid = VisibleGridField(
        help_text=_("Events of tickets on this grid and every grid below it are sent.")
    )
    url = serializers.CharField(
        max_length=500, help_text=_("An http:// or https:// address receiving POST requests.")
    )
    event_types = serializers.MultipleChoiceField(choices=EventType.choices, allow_empty=False)
    is_active = serializers.BooleanField(required=False)

    def validate_event_types(self, value) -> list[str]:
        return sorted(value)


class SubscriptionFilter(filters.FilterSet):
    class Meta:
        model = Subscription
        fields = ["is_active", "grid"]


@extend_schema(tags=["webhooks"])
class SubscriptionViewSet(
    ServiceWriteMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The caller's webhook subscriptions: which ticket events of which subtree are
    POSTed, signed, to which address (``webhooks/README.md``)."""

    serializer_class = SubscriptionSerializer
    write_serializer_class = SubscriptionWriteSerializer
    filterset_class = SubscriptionFilter
    search_fields = ["name", "url"]
    ordering_fields = ["created_at", "name"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Subscription]:
        return selectors.subscription_list(user=self.request.user)

    def _with_secret(self, subscription: Subscription, secret: str, code: int) -> Response:
        fresh = self.get_queryset().get(pk=subscription.pk)
        fresh.secret = secret
        return Response(SubscriptionWithSecretSerializer(fresh).data, status=code)

    @extend_schema(
        request=SubscriptionWriteSerializer, responses={201: SubscriptionWithSecretSerializer}
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        """Subscribe to a grid in your scope; the answer holds the secret, this once."""
        subscription, secret = services.subscription_create(
            actor=request.user, **self._payload(request, partial=False)
        )
        return self._with_secret(subscription, secret, status.HTTP_201_CREATED)

    @extend_schema(request=SubscriptionWriteSerializer, responses={200: SubscriptionSerializer})
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        return super().partial_update(request, *args, **kwargs)

    def perform_service_update(self, obj: Subscription, data: dict) -> Subscription:
        return services.subscription_update(actor=self.request.user, subscription=obj, **data)

    def perform_destroy(self, instance: Subscription) -> None:
        services.subscription_delete(actor=self.request.user, subscription=instance)

    @extend_schema(request=None, responses={200: SubscriptionWithSecretSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret", url_name="rotate-secret")
    def rotate_secret(self, request: Request, pk=None) -> Response:
        """Replace the secret (every attempt from now on is signed with the new one); the
        answer holds it, this once."""
        subscription, secret = services.subscription_rotate_secret(
            actor=request.user, subscription=self.get_object()
        )
        return self._with_secret(subscription, secret, status.HTTP_200_OK)


# --- deliveries ---------------------------------------------------------------------------------


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attempt
        fields = [
            "number",
            "replay",
            "started_at",
            "duration_ms",
            "status_code",
            "succeeded",
            "error",
            "response_excerpt",
        ]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.UUIDField(read_only=True)
    event_type = serializers.ChoiceField(
        source="event.type", choices=EventType.choices, read_only=True
    )
    ticket = serializers.IntegerField(source="event.payload.ticket.id", read_only=True)
    ticket_number = serializers.CharField(source="event.payload.ticket.number", read_only=True)
    subscription_name = serializers.CharField(source="subscription.__str__", read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "subscription",
            "subscription_name",
            "event_id",
            "event_type",
            "ticket",
            "ticket_number",
            "status",
            "attempt_count",
            "replays",
            "next_attempt_at",
            "delivered_at",
            "last_status_code",
            "last_error",
            "created_at",
        ]
        read_only_fields = fields


class DeliveryDetailSerializer(DeliverySerializer):
    payload = serializers.JSONField(source="event.payload", read_only=True)
    attempts = serializers.SerializerMethodField()

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "payload", "attempts"]
        read_only_fields = fields

    @extend_schema_field(AttemptSerializer(many=True))
    def get_attempts(self, delivery: Delivery) -> list[dict]:
        return AttemptSerializer(selectors.delivery_attempts(delivery=delivery), many=True).data


class DeliveryFilter(filters.FilterSet):
    subscription = filters.NumberFilter(field_name="subscription_id")
    status = filters.MultipleChoiceFilter(choices=DeliveryStatus.choices)
    type = filters.MultipleChoiceFilter(field_name="event__type", choices=EventType.choices)

    class Meta:
        model = Delivery
        fields = ["subscription", "status", "type"]


@extend_schema(tags=["webhooks"])
class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The deliveries of the caller's subscriptions, newest first, with their attempts."""

    serializer_class = DeliverySerializer
    filterset_class = DeliveryFilter
    ordering_fields = ["created_at", "next_attempt_at"]

    def get_queryset(self) -> QuerySet[Delivery]:
        return selectors.delivery_list(user=self.request.user)

    def get_serializer_class(self):
        if self.action == "list":
            return DeliverySerializer
        return DeliveryDetailSerializer

    @extend_schema(
        request=None,
        responses={
            202: DeliveryDetailSerializer,
            404: OpenApiResponse(description="Not a delivery of your subscriptions."),
            409: OpenApiResponse(description="Being sent right now, or inactive subscription."),
        },
    )
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, pk=None) -> Response:
        """Send the event again, as a new chain of attempts with its own retries; the
        event id and body are the same, so your receiver recognises it."""
        delivery = services.delivery_replay(actor=request.user, delivery=self.get_object())
        fresh = self.get_queryset().get(pk=delivery.pk)
        return Response(DeliveryDetailSerializer(fresh).data, status=status.HTTP_202_ACCEPTED)


def register(router) -> None:
    router.register("webhook-subscriptions", SubscriptionViewSet, basename="webhook-subscription")
    router.register("webhook-deliveries", DeliveryViewSet, basename="webhook-delivery")

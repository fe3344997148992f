"""API of the points shop (积分兑换超市): shops, items, redeeming, handing out, cancelling."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from governance.api.mixins import ServiceWriteMixin
from grids.apis import VisibleGridField
from volunteers import selectors, services
from volunteers.apis.common import AccountField, ShopField, answers
from volunteers.models import Redemption, Shop, ShopItem


class ShopSerializer(serializers.ModelSerializer):
    grid_name = serializers.CharField(source="grid.name", read_only=True)

    class Meta:
        model = Shop
        fields = ["id", "grid", "grid_name", "name", "place", "is_active", "created_at"]
        read_only_fields = fields


class ShopWriteSerializer(serializers.Serializer):
    grid = VisibleGridField()
    name = serializers.CharField(max_length=100)
    place = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ShopUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    place = serializers.CharField(max_length=200, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


@extend_schema(tags=["points shop"])
class ShopViewSet(
    ServiceWriteMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Points shops of the communities you reach."""

    serializer_class = ShopSerializer
    filterset_fields = ["grid", "is_active"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    write_serializer_class = ShopWriteSerializer
    update_serializer_class = ShopUpdateSerializer

    def get_queryset(self) -> QuerySet[Shop]:
        return selectors.shop_list(user=self.request.user).order_by("grid_id", "name")

    def perform_service_create(self, data):
        return services.shop_create(actor=self.request.user, **data)

    def perform_service_update(self, shop, data):
        return services.shop_update(actor=self.request.user, shop=shop, **data)

    @extend_schema(
        request=ShopWriteSerializer, responses=answers(ShopSerializer, 400, 403, success=201)
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        return super().create(request, *args, **kwargs)

    @extend_schema(request=ShopUpdateSerializer, responses=answers(ShopSerializer, 400, 403, 404))
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        return super().partial_update(request, *args, **kwargs)


class ItemSerializer(serializers.ModelSerializer):
    shop_name = serializers.CharField(source="shop.name", read_only=True)
    photo_url = serializers.SerializerMethodField()
    is_available = serializers.SerializerMethodField()

    class Meta:
        model = ShopItem
        fields = [
            "id",
            "shop",
            "shop_name",
            "name",
            "description",
            "photo_url",
            "price",
            "stock",
            "per_person_limit",
            "available_from",
            "available_until",
            "is_active",
            "is_available",
        ]
        read_only_fields = fields

    # a path on this site (null without a photo), not an absolute URI
    @extend_schema_field({"type": "string", "format": "uri-reference", "nullable": True})
    def get_photo_url(self, item: ShopItem) -> str | None:
        if not item.photo:
            return None
        return reverse("volunteers:item_photo", args=[item.pk])

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_is_available(self, item: ShopItem) -> bool:
        return item.is_available() and item.stock > 0


class ItemWriteSerializer(serializers.Serializer):
    shop = ShopField()
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    photo = serializers.ImageField(required=False, allow_null=True, default=None)
    price = serializers.IntegerField(min_value=1)
    stock = serializers.IntegerField(min_value=0, default=0)
    per_person_limit = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, default=None
    )
    available_from = serializers.DateTimeField(required=False, allow_null=True, default=None)
    available_until = serializers.DateTimeField(required=False, allow_null=True, default=None)
    is_active = serializers.BooleanField(default=True)


class ItemUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    photo = serializers.ImageField(required=False, allow_null=True)
    price = serializers.IntegerField(min_value=1, required=False)
    stock = serializers.IntegerField(min_value=0, required=False)
    per_person_limit = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    available_from = serializers.DateTimeField(required=False, allow_null=True)
    available_until = serializers.DateTimeField(required=False, allow_null=True)
    is_active = serializers.BooleanField(required=False)


class RedeemPayloadSerializer(serializers.Serializer):
    account = AccountField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_("Whose points (staff at the counter); leave out to spend your own."),
    )
    quantity = serializers.IntegerField(min_value=1, max_value=10, default=1)


class RedemptionSerializer(serializers.ModelSerializer):
    item_name = serializers.CharField(source="item.name", read_only=True)
    shop_name = serializers.CharField(source="item.shop.name", read_only=True)
    account_name = serializers.SerializerMethodField()
    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Redemption
        fields = [
            "id",
            "item",
            "item_name",
            "shop_name",
            "account",
            "account_name",
            "quantity",
            "points",
            "pickup_code",
            "status",
            "status_display",
            "created_at",
            "fulfilled_at",
            "cancelled_at",
            "cancel_reason",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_account_name(self, redemption: Redemption) -> str:
        return selectors.account_label(redemption.account)


class ItemFilter(filters.FilterSet):
    available = filters.BooleanFilter(method="filter_available", label=_("Available now"))

    class Meta:
        model = ShopItem
        fields = ["shop", "is_active"]

    def filter_available(self, queryset, name, value):
        now = timezone.now()
        open_now = (
            Q(is_active=True, shop__is_active=True, stock__gt=0)
            & (Q(available_from__isnull=True) | Q(available_from__lte=now))
            & (Q(available_until__isnull=True) | Q(available_until__gt=now))
        )
        return queryset.filter(open_now) if value else queryset.exclude(open_now)


@extend_schema(tags=["points shop"])
class ItemViewSet(
    ServiceWriteMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Items of the shops you reach; ``redeem`` spends points on one."""

    serializer_class = ItemSerializer
    filterset_class = ItemFilter
    search_fields = ["name"]
    ordering_fields = ["price", "name"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    write_serializer_class = ItemWriteSerializer
    update_serializer_class = ItemUpdateSerializer

    def get_queryset(self) -> QuerySet[ShopItem]:
        return selectors.item_list(user=self.request.user).order_by("shop_id", "price", "pk")

    def perform_service_create(self, data):
        return services.item_create(actor=self.request.user, **data)

    def perform_service_update(self, item, data):
        return services.item_update(actor=self.request.user, item=item, **data)

    @extend_schema(
        request=ItemWriteSerializer, responses=answers(ItemSerializer, 400, 403, success=201)
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        return super().create(request, *args, **kwargs)

    @extend_schema(request=ItemUpdateSerializer, responses=answers(ItemSerializer, 400, 403, 404))
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        return super().partial_update(request, *args, **kwargs)

    @extend_schema(
        request=RedeemPayloadSerializer,
        responses=answers(RedemptionSerializer, 400, 403, 404, 409, success=201),
    )
    @action(detail=True, methods=["post"])
    def redeem(self, request: Request, pk=None) -> Response:
        """Spend points on the item: one transaction checks the balance, the stock and the
        limit, takes the stock and writes the spend; 409 says which of them refused."""
        payload = RedeemPayloadSerializer(data=request.data, context={"request": request})
        payload.is_valid(raise_exception=True)
        redemption = services.redemption_create(
            actor=request.user, item=self.get_object(), **payload.validated_data
        )
        fresh = selectors.redemption_list(user=request.user).get(pk=redemption.pk)
        return Response(RedemptionSerializer(fresh).data, status=status.HTTP_201_CREATED)


class RedemptionFilter(filters.FilterSet):
    mine = filters.BooleanFilter(method="filter_mine", label=_("Of my own accounts"))

    class Meta:
        model = Redemption
        fields = ["status", "item", "account", "pickup_code"]

    def filter_mine(self, queryset, name, value):
        own = selectors.own_accounts_q(self.request.user, via="account")
        return queryset.filter(own) if value else queryset.exclude(own)


class FulfilPayloadSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=8, required=False, allow_blank=True, default="")


class CancelPayloadSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


@extend_schema(tags=["points shop"])
class RedemptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Redemptions: yours, and those of the shops you run (find one by ``pickup_code``)."""

    serializer_class = RedemptionSerializer
    filterset_class = RedemptionFilter
    ordering_fields = ["created_at"]

    def get_queryset(self) -> QuerySet[Redemption]:
        return selectors.redemption_list(user=self.request.user).order_by("-created_at", "-pk")

    def _answer(self, redemption: Redemption) -> Response:
        return Response(RedemptionSerializer(self.get_queryset().get(pk=redemption.pk)).data)

    @extend_schema(
        request=FulfilPayloadSerializer,
        responses=answers(RedemptionSerializer, 400, 403, 404, 409),
    )
    @action(detail=True, methods=["post"])
    def fulfil(self, request: Request, pk=None) -> Response:
        """Hand the item over (the shop's staff); a ``code`` given must match."""
        payload = FulfilPayloadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        redemption = services.redemption_fulfil(
            actor=request.user, redemption=self.get_object(), **payload.validated_data
        )
        return self._answer(redemption)

    @extend_schema(
        request=CancelPayloadSerializer, responses=answers(RedemptionSerializer, 403, 404, 409)
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk=None) -> Response:
        """Cancel before pick-up: the points come back (a reversal entry), so does the stock."""
        payload = CancelPayloadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        redemption = services.redemption_cancel(
            actor=request.user, redemption=self.get_object(), **payload.validated_data
        )
        return self._answer(redemption)

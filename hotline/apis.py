"""REST API of the 12345 hotline (``/api/v1/hotline/…``), registered by
``governance.api.urls``.

- ``hotline/orders/``: the orders of the caller's areas (``GET``), one order in
  (``POST``, idempotent on the order number), ``{id}/place/``, ``{id}/return/`` and
  ``export/`` (xlsx or csv).
- ``hotline/imports/``: a file in (``POST`` multipart), its dry-run report (``GET``),
  ``{id}/confirm/``.

Views are thin: reads through ``selectors`` (scoped: an order outside one's areas is a
404), writes through ``services`` (400 by field, 403, 409).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from governance.throttling import client_ip
from grids import scoping
from grids.models import Grid
from hotline import selectors, services
from hotline.columns import read_values
from hotline.exporting import ENCODINGS, FORMATS
from hotline.models import HotlineImport, HotlineOrder, OrderStatus
from tickets.apis import ActiveCategoryField, mask_phone

ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="Field errors: {field: [messages]}"),
    403: OpenApiResponse(OpenApiTypes.OBJECT, description="You may not do this."),
    404: OpenApiResponse(OpenApiTypes.OBJECT, description="Not found, or outside your scope."),
    409: OpenApiResponse(OpenApiTypes.OBJECT, description="The state does not allow it."),
}


def _errors(*codes: int) -> dict:
    return {code: ERRORS[code] for code in codes}


@extend_schema_field(OpenApiTypes.INT)
class ChangeableGridField(serializers.PrimaryKeyRelatedField):
    """A grid the caller may change (their area, or a grid to place an order on)."""

    def get_queryset(self):
        return scoping.filter_changeable(Grid.objects.all(), self.context["request"].user)


# --- read shapes -------------------------------------------------------------------------------


class HotlineOrderSerializer(serializers.ModelSerializer):
    # a plain string in the schema: "status" enums of several apps would collide by name
    status = serializers.CharField(read_only=True, help_text=_("placed, unplaceable or returned"))
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    area_name = serializers.CharField(source="area.name", read_only=True)
    category_name = serializers.CharField(
        source="category.name", read_only=True, allow_null=True, default=None
    )
    phone = serializers.SerializerMethodField()
    ticket_number = serializers.CharField(
        source="ticket.number", read_only=True, allow_null=True, default=None
    )
    ticket_status = serializers.CharField(
        source="ticket.status", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = HotlineOrder
        fields = [
            "id",
            "number",
            "status",
            "status_display",
            "reason",
            "area",
            "area_name",
            "called_at",
            "caller",
            "phone",
            "address",
            "content",
            "category_text",
            "category",
            "category_name",
            "deadline",
            "lat",
            "lng",
            "ticket",
            "ticket_number",
            "ticket_status",
            "return_reason",
            "returned_at",
            "revisions",
            "received_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_phone(self, order: HotlineOrder) -> str:
        """In full for the area's staff, who call back; masked for those who only read."""
        if not order.phone or scoping.can_change(self.context["request"].user, order.area):
            return order.phone
        return mask_phone(order.phone)


class ReceivedOrderSerializer(HotlineOrderSerializer):
    result = serializers.ChoiceField(
        choices=[(a, a) for a in services.ACTIONS],
        read_only=True,
        help_text=_("open, stage, update or unchanged: what receiving the order did."),
    )
    result_reason = serializers.CharField(read_only=True)

    class Meta(HotlineOrderSerializer.Meta):
        fields = [*HotlineOrderSerializer.Meta.fields, "result", "result_reason"]
        read_only_fields = fields


class HotlineImportSerializer(serializers.ModelSerializer):
    status = serializers.CharField(
        read_only=True, help_text=_("pending, planning, planned, applying, applied or failed")
    )
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    area_name = serializers.CharField(source="area.name", read_only=True)
    percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = HotlineImport
        fields = [
            "id",
            "original_name",
            "area",
            "area_name",
            "status",
            "status_display",
            "total_rows",
            "processed_rows",
            "percent",
            "counts",
            "report",
            "error",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


# --- request shapes ----------------------------------------------------------------------------


class OrderInSerializer(serializers.Serializer):
    """One order with the columns of the hotline's file (English names)."""

    number = serializers.CharField(
        max_length=64, help_text=_("The order number (工单编号): the key.")
    )
    called_at = serializers.CharField(
        required=False, allow_blank=True, default="", help_text=_("The call time (来电时间).")
    )
    caller = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
    phone = serializers.CharField(required=False, allow_blank=True, default="", max_length=40)
    address = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)
    content = serializers.CharField(help_text=_("What the caller asks for (诉求内容)."))
    category = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=100,
        help_text=_("The category (诉求分类): a category's name or code."),
    )
    deadline = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text=_("The hotline's deadline (办理时限); a bare date means the end of that day."),
    )
    lat = serializers.FloatField(required=False, allow_null=True, default=None)
    lng = serializers.FloatField(required=False, allow_null=True, default=None)
    area = ChangeableGridField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_("The area the order is for; default: the top of your grids."),
    )

    def validate(self, attrs):
        try:
            attrs["values"] = read_values(attrs)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return attrs


class PlaceSerializer(serializers.Serializer):
    grid = ChangeableGridField()
    category = ActiveCategoryField(required=False, allow_null=True, default=None)
    phone = serializers.CharField(required=False, allow_blank=True, default="", max_length=40)
    number = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)


class ReturnSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text=_("Why the order is not ours; the hotline is told."))


class ExportQuerySerializer(serializers.Serializer):
    file_format = serializers.ChoiceField(choices=FORMATS, default="xlsx", source="as")
    encoding = serializers.ChoiceField(choices=ENCODINGS, default="utf-8")
    date_from = serializers.DateField(required=False, allow_null=True, default=None)
    date_to = serializers.DateField(required=False, allow_null=True, default=None)
    changed_since = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def to_internal_value(self, data):
        # the query parameter is ``as`` (``format`` is DRF's own)
        data = dict(data.items())
        if "as" in data:
            data["file_format"] = data.pop("as")
        return super().to_internal_value(data)

    def validate(self, attrs):
        start, end = attrs.get("date_from"), attrs.get("date_to")
        if start and end and end < start:
            raise serializers.ValidationError({"date_to": _("The end is before the start.")})
        return attrs


class ImportInSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=_(".xlsx or .csv (UTF-8, with or without BOM, or GBK)"))
    area = ChangeableGridField(required=False, allow_null=True, default=None)


# --- views -------------------------------------------------------------------------------------


class OrderFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=OrderStatus.choices)
    area = filters.NumberFilter(method="filter_area", label=_("Area (with its whole subtree)"))
    changed_since = filters.IsoDateTimeFilter(
        method="filter_changed", label=_("Changed since (the order or its ticket)")
    )
    called = filters.DateFromToRangeFilter(field_name="called_at", label=_("Called between"))

    class Meta:
        model = HotlineOrder
        fields = ["status", "area", "changed_since", "called"]

    def filter_area(self, queryset, name, value):
        grid = Grid.objects.filter(pk=value).only("tree_id", "lft", "rght").first()
        if grid is None:
            return queryset.none()
        return queryset.filter(
            area__tree_id=grid.tree_id, area__lft__gte=grid.lft, area__rght__lte=grid.rght
        )

    def filter_changed(self, queryset, name, value):
        return queryset.filter(Q(updated_at__gte=value) | Q(ticket__updated_at__gte=value))


@extend_schema(tags=["hotline"])
class HotlineOrderViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """12345 orders of the caller's areas: placed (with their ticket), waiting to be
    placed by hand (with the reason), or returned to the hotline (with the reason)."""

    serializer_class = HotlineOrderSerializer
    filterset_class = OrderFilter
    search_fields = ["number", "caller", "address", "content"]
    ordering_fields = ["received_at", "called_at", "updated_at", "number"]

    def get_queryset(self) -> QuerySet[HotlineOrder]:
        return selectors.order_list(user=self.request.user)

    def _read(self, order: HotlineOrder, *, code: int = status.HTTP_200_OK, **extra) -> Response:
        fresh = selectors.order_list(user=self.request.user).get(pk=order.pk)
        shape = ReceivedOrderSerializer if extra else HotlineOrderSerializer
        fresh.result, fresh.result_reason = extra.get("result"), extra.get("result_reason")
        return Response(shape(fresh, context=self.get_serializer_context()).data, status=code)

    @extend_schema(
        request=OrderInSerializer,
        responses={
            201: ReceivedOrderSerializer,
            200: ReceivedOrderSerializer,
            **_errors(400, 403, 409),
        },
    )
    def create(self, request: Request) -> Response:
        """One order in, as one row of a file: a new order answers 201 (``result`` open:
        its ticket is opened; stage: listed for a dispatcher, with ``result_reason``); the
        same order again answers 200, ``unchanged``, or ``update`` when it changed."""
        payload = OrderInSerializer(data=request.data, context=self.get_serializer_context())
        payload.is_valid(raise_exception=True)
        received = services.order_receive(
            actor=request.user,
            values=payload.validated_data["values"],
            area=payload.validated_data["area"],
        )
        return self._read(
            received.order,
            code=status.HTTP_201_CREATED if received.created else status.HTTP_200_OK,
            result=received.action,
            result_reason=received.reason,
        )

    @extend_schema(
        request=PlaceSerializer,
        responses={200: HotlineOrderSerializer, **_errors(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def place(self, request: Request, pk=None) -> Response:
        """Place a listed order by hand: its ticket opens on ``grid`` (``category``,
        ``phone`` and ``number`` when the order's own are missing or wrong)."""
        order = self.get_object()
        services.check_handler(request.user, order)  # 403 before the grid's 400
        payload = PlaceSerializer(data=request.data, context=self.get_serializer_context())
        payload.is_valid(raise_exception=True)
        order = services.order_place(actor=request.user, order=order, **payload.validated_data)
        return self._read(order)

    @extend_schema(
        request=ReturnSerializer,
        responses={200: HotlineOrderSerializer, **_errors(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_to_hotline(self, request: Request, pk=None) -> Response:
        """退单: a listed order goes back directly; a placed one through its ticket's
        ``return`` (only while nobody has taken it on)."""
        order = self.get_object()
        payload = ReturnSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        order = services.order_return(actor=request.user, order=order, **payload.validated_data)
        return self._read(order)

    @extend_schema(
        parameters=[ExportQuerySerializer],
        responses={
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): (
                OpenApiTypes.BINARY
            ),
            (200, "text/csv"): OpenApiTypes.STR,
            **_errors(400),
        },
    )
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def export(self, request: Request) -> HttpResponse:
        """The orders of the areas you change, with the results the hotline needs
        (``?as=xlsx|csv&encoding=utf-8|gbk&date_from=&date_to=&changed_since=``)."""
        query = ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        asked = query.validated_data
        orders = selectors.orders_for_export(
            user=request.user,
            date_from=asked["date_from"],
            date_to=asked["date_to"],
            changed_since=asked["changed_since"],
        )
        content, content_type, filename = services.orders_export(
            user=request.user,
            orders=orders,
            file_format=asked["as"],
            encoding=asked["encoding"],
            ip_address=client_ip(request) or None,
            path=request.path,
        )
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "no-store"
        return response


@extend_schema(tags=["hotline"])
class HotlineImportViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Your hotline files: each is checked in the background (dry run: ``status``
    *planned* with a row-by-row ``report``), then applied on ``confirm``."""

    serializer_class = HotlineImportSerializer
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[HotlineImport]:
        return selectors.import_jobs(user=self.request.user)

    def _read(self, job: HotlineImport, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=job.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    @extend_schema(
        request={"multipart/form-data": ImportInSerializer},
        responses={201: HotlineImportSerializer, **_errors(400, 403)},
    )
    def create(self, request: Request) -> Response:
        payload = ImportInSerializer(data=request.data, context=self.get_serializer_context())
        payload.is_valid(raise_exception=True)
        job = services.import_job_start(
            actor=request.user,
            upload=payload.validated_data["file"],
            area=payload.validated_data["area"],
        )
        return self._read(job, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: HotlineImportSerializer, **_errors(403, 404, 409)})
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk=None) -> Response:
        """Apply a checked file (the rows that are not refused or superseded)."""
        job = services.import_job_confirm(actor=request.user, job=self.get_object())
        return self._read(job)


def register(router) -> None:
    router.register("hotline/orders", HotlineOrderViewSet, basename="hotline-order")
    router.register("hotline/imports", HotlineImportViewSet, basename="hotline-import")

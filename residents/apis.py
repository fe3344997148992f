"""REST API for the household archives (``/api/v1/households/`` and friends).

Personal fields are masked in every response; a whole value is read only through the
``reveal`` action, which checks the role and writes the access log.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from governance.api.mixins import ServiceWriteMixin
from governance.throttling import client_ip
from grids.apis import VisibleGridField
from grids.models import Grid
from residents import selectors, services
from residents.models import (
    Campaign,
    CampaignTask,
    Gender,
    Household,
    KeyGroupTag,
    LivingStatus,
    Relation,
    Resident,
    Visit,
    VisitKind,
)


def _client_ip(request: Request) -> str | None:
    """The address the access log records: the client's, behind trusted proxies too (the
    same rule as the rate limits)."""
    return client_ip(request) or None


@extend_schema_field(OpenApiTypes.INT)
class VisibleHouseholdField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return selectors.household_list(user=self.context["request"].user)


class SubtreeFilterMixin(filters.FilterSet):
    grid = filters.NumberFilter(method="filter_subtree", label=_("Grid (with its subtree)"))
    grid_path = "grid"

    def filter_subtree(self, queryset, name, value):
        grid = Grid.objects.filter(pk=value).first()
        if grid is None:
            return queryset.none()
        p = self.grid_path
        return queryset.filter(
            **{
                f"{p}__tree_id": grid.tree_id,
                f"{p}__lft__gte": grid.lft,
                f"{p}__rght__lte": grid.rght,
            }
        )


# --- tags --------------------------------------------------------------------------------------


class KeyGroupTagSerializer(serializers.ModelSerializer):
    class Meta:
        model = KeyGroupTag
        fields = ["id", "code", "name", "visit_interval_days", "is_builtin"]


@extend_schema(tags=["residents"])
class KeyGroupTagViewSet(viewsets.ReadOnlyModelViewSet):
    """Key groups (重点人群) and their must-visit intervals; edited in the admin."""

    queryset = KeyGroupTag.objects.all()
    serializer_class = KeyGroupTagSerializer
    pagination_class = None


class ResidentSerializer(serializers.ModelSerializer):
    id_number = serializers.CharField(source="id_number_masked", read_only=True)
    phone = serializers.CharField(source="masked_phone", read_only=True)
    age = serializers.SerializerMethodField()
    is_elderly = serializers.BooleanField(read_only=True)
    tag_names = serializers.SerializerMethodField()

    class Meta:
        model = Resident
        fields = [
            "id",
            "household",
            "name",
            "gender",
            "birth_date",
            "age",
            "is_elderly",
            "ethnicity",
            "id_number",
            "phone",
            "relation",
            "living_status",
            "tags",
            "tag_names",
            "notes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.INT)
    def get_age(self, resident: Resident) -> int:
        return resident.age()

    @extend_schema_field({"type": "array", "items": {"type": "string"}})
    def get_tag_names(self, resident: Resident) -> list[str]:
        return [t.name for t in resident.tags.all()]


# --- households --------------------------------------------------------------------------------


class HouseholdSerializer(serializers.ModelSerializer):
    grid_name = serializers.CharField(source="grid.name", read_only=True)
    phone = serializers.CharField(source="masked_phone", read_only=True)
    address_display = serializers.CharField(source="display_address", read_only=True)
    head_name = serializers.CharField(source="head.name", read_only=True, default="")
    resident_count = serializers.IntegerField(read_only=True, default=0)
    duty_status = serializers.SerializerMethodField()

    class Meta:
        model = Household
        fields = [
            "id",
            "grid",
            "grid_name",
            "building",
            "unit",
            "room",
            "address",
            "address_display",
            "head",
            "head_name",
            "phone",
            "notes",
            "is_party_lead",
            "lead_household",
            "resident_count",
            "visit_interval_days",
            "last_visited_at",
            "visit_due_on",
            "duty_status",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_duty_status(self, household: Household) -> str | None:
        return selectors.duty_status(household)


class HouseholdWriteSerializer(serializers.Serializer):
    grid = VisibleGridField()
    building = serializers.CharField(max_length=20, required=False, allow_blank=True)
    unit = serializers.CharField(max_length=20, required=False, allow_blank=True)
    room = serializers.CharField(max_length=20, required=False, allow_blank=True)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=24, required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)
    is_party_lead = serializers.BooleanField(required=False)
    lead_household = VisibleHouseholdField(required=False, allow_null=True)


class HouseholdFilter(SubtreeFilterMixin):
    tag = filters.CharFilter(method="filter_tag", label=_("Key-group tag code"))
    duty = filters.ChoiceFilter(
        method="filter_duty", choices=[("due", _("Due")), ("overdue", _("Overdue"))]
    )

    class Meta:
        model = Household
        fields = ["is_party_lead", "lead_household"]

    def filter_tag(self, queryset, name, value):
        return queryset.filter(residents__tags__code=value).distinct()

    def filter_duty(self, queryset, name, value):
        due = selectors.duty_list(user=self.request.user, status=value).values("pk")
        return queryset.filter(pk__in=due)


@extend_schema(tags=["residents"])
class HouseholdViewSet(
    ServiceWriteMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Household archives (一户一档), scoped to the caller's grids."""

    serializer_class = HouseholdSerializer
    filterset_class = HouseholdFilter
    search_fields = ["building", "room", "address", "residents__name"]
    ordering_fields = ["visit_due_on", "created_at", "building"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.household_list(user=self.request.user).order_by("pk")

    write_serializer_class = HouseholdWriteSerializer

    def perform_service_create(self, data):
        return services.household_create(actor=self.request.user, **data)

    def perform_service_update(self, household, data):
        return services.household_update(actor=self.request.user, household=household, **data)

    @extend_schema(request=HouseholdWriteSerializer, responses={201: HouseholdSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        return super().create(request, *args, **kwargs)

    @extend_schema(request=HouseholdWriteSerializer, responses=HouseholdSerializer)
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        return super().partial_update(request, *args, **kwargs)

    @extend_schema(responses=ResidentSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def residents(self, request: Request, pk=None) -> Response:
        household = self.get_object()
        rows = selectors.resident_list(user=request.user).filter(household=household)
        return Response(ResidentSerializer(rows, many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=["due", "overdue"])],
        responses=HouseholdSerializer(many=True),
    )
    @action(detail=False, methods=["get"], filter_backends=[])
    def duties(self, request: Request) -> Response:
        """Households owed a must-visit (四必访), oldest due first."""
        status_filter = request.query_params.get("status")
        if status_filter not in (None, "", "due", "overdue"):
            return Response({"status": [_("Use due or overdue.")]}, status=400)
        rows = selectors.duty_list(user=request.user, status=status_filter or None)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


# --- residents ---------------------------------------------------------------------------------


class ResidentWriteSerializer(serializers.Serializer):
    household = VisibleHouseholdField()
    name = serializers.CharField(max_length=40)
    gender = serializers.ChoiceField(choices=Gender.choices, required=False)
    birth_date = serializers.DateField(required=False)
    ethnicity = serializers.CharField(max_length=20, required=False, allow_blank=True)
    id_number = serializers.CharField(max_length=24, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=24, required=False, allow_blank=True)
    relation = serializers.ChoiceField(choices=Relation.choices, required=False)
    living_status = serializers.ChoiceField(choices=LivingStatus.choices, required=False)
    tags = serializers.PrimaryKeyRelatedField(
        queryset=KeyGroupTag.objects.all(), many=True, required=False
    )
    notes = serializers.CharField(required=False, allow_blank=True)


class RevealSerializer(serializers.Serializer):
    id_number = serializers.CharField(required=False)
    phone = serializers.CharField(required=False)


class ResidentFilter(SubtreeFilterMixin):
    grid_path = "household__grid"
    tag = filters.CharFilter(field_name="tags__code", label=_("Key-group tag code"))

    class Meta:
        model = Resident
        fields = ["household", "living_status", "gender"]


@extend_schema(tags=["residents"])
class ResidentViewSet(
    ServiceWriteMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Residents, flat across households; personal fields masked."""

    serializer_class = ResidentSerializer
    filterset_class = ResidentFilter
    search_fields = ["name"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.resident_list(user=self.request.user).order_by("pk")

    write_serializer_class = ResidentWriteSerializer

    def perform_service_create(self, data):
        return services.resident_create(actor=self.request.user, **data)

    def perform_service_update(self, resident, data):
        return services.resident_update(actor=self.request.user, resident=resident, **data)

    @extend_schema(request=ResidentWriteSerializer, responses={201: ResidentSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        return super().create(request, *args, **kwargs)

    @extend_schema(request=ResidentWriteSerializer, responses=ResidentSerializer)
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        return super().partial_update(request, *args, **kwargs)

    @extend_schema(request=None, responses=RevealSerializer)
    @action(detail=True, methods=["post"])
    def reveal(self, request: Request, pk=None) -> Response:
        """The whole ID number and/or phone, as your role allows; every call is logged."""
        values = services.resident_reveal(
            actor=request.user,
            resident=self.get_object(),
            ip_address=_client_ip(request),
            path=request.path,
        )
        return Response(values, headers={"Cache-Control": "no-store"})


# --- visits ------------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.INT)
class VisibleTicketField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        from tickets.selectors import ticket_visible

        return ticket_visible(user=self.context["request"].user)


class VisitSerializer(serializers.ModelSerializer):
    visitor_name = serializers.CharField(source="visitor.__str__", read_only=True)
    household = VisibleHouseholdField()
    follow_up_ticket = VisibleTicketField(required=False, allow_null=True)

    class Meta:
        model = Visit
        fields = [
            "id",
            "household",
            "visitor",
            "visitor_name",
            "visited_at",
            "kind",
            "findings",
            "answers",
            "photo",
            "follow_up_ticket",
            "created_at",
        ]
        read_only_fields = ["id", "visitor", "visitor_name", "created_at"]
        extra_kwargs = {"visited_at": {"required": False}, "kind": {"required": False}}


class VisitFilter(SubtreeFilterMixin):
    grid_path = "household__grid"

    class Meta:
        model = Visit
        fields = ["household", "kind", "visitor"]


@extend_schema(tags=["residents"])
class VisitViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Visits to households (入户走访); logging one moves the must-visit clock."""

    serializer_class = VisitSerializer
    filterset_class = VisitFilter

    def get_queryset(self):
        return selectors.visit_list(user=self.request.user).order_by("-visited_at", "-pk")

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.visit_log(
            actor=self.request.user,
            household=data["household"],
            kind=data.get("kind", VisitKind.ROUTINE),
            findings=data.get("findings", ""),
            answers=data.get("answers") or {},
            photo=data.get("photo"),
            visited_at=data.get("visited_at"),
            follow_up_ticket=data.get("follow_up_ticket"),
        )


# --- campaigns ---------------------------------------------------------------------------------


class CampaignSerializer(serializers.ModelSerializer):
    grid = VisibleGridField()
    task_count = serializers.IntegerField(read_only=True, default=0)
    done_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "title",
            "grid",
            "checklist",
            "deadline",
            "status",
            "created_by",
            "created_at",
            "closed_at",
            "task_count",
            "done_count",
            "report",
        ]
        read_only_fields = [
            "id",
            "status",
            "created_by",
            "created_at",
            "closed_at",
            "task_count",
            "done_count",
            "report",
        ]


class ProgressSerializer(serializers.Serializer):
    grid = serializers.IntegerField()
    name = serializers.CharField()
    total = serializers.IntegerField()
    done = serializers.IntegerField()


@extend_schema(tags=["residents"])
class CampaignViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Door-to-door campaigns (敲门行动): start one over a subtree, follow it, close it."""

    serializer_class = CampaignSerializer
    filterset_fields = ["status", "grid"]

    def get_queryset(self):
        return selectors.campaign_list(user=self.request.user).order_by("-created_at", "-pk")

    def create(self, request: Request) -> Response:
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        campaign = services.campaign_start(
            actor=request.user,
            grid=data["grid"],
            title=data["title"],
            deadline=data["deadline"],
            checklist=data.get("checklist"),
        )
        fresh = self.get_queryset().get(pk=campaign.pk)
        return Response(self.get_serializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk=None) -> Response:
        campaign = services.campaign_close(actor=request.user, campaign=self.get_object())
        return Response(self.get_serializer(self.get_queryset().get(pk=campaign.pk)).data)

    @extend_schema(responses=ProgressSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def progress(self, request: Request, pk=None) -> Response:
        """Tasks and visits per grid, as far as you can see."""
        rows = selectors.campaign_progress(user=request.user, campaign=self.get_object())
        return Response(ProgressSerializer(rows, many=True).data)


class CampaignTaskSerializer(serializers.ModelSerializer):
    household_address = serializers.CharField(source="household.display_address", read_only=True)
    grid_name = serializers.CharField(source="grid.name", read_only=True)
    campaign_title = serializers.CharField(source="campaign.title", read_only=True)

    class Meta:
        model = CampaignTask
        fields = [
            "id",
            "campaign",
            "campaign_title",
            "household",
            "household_address",
            "grid",
            "grid_name",
            "visit",
            "done_at",
        ]
        read_only_fields = fields


class TaskRecordSerializer(serializers.Serializer):
    findings = serializers.CharField(required=False, allow_blank=True)
    answers = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
    photo = serializers.ImageField(required=False)


class CampaignTaskFilter(SubtreeFilterMixin):
    done = filters.BooleanFilter(field_name="done_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = CampaignTask
        fields = ["campaign", "household"]


@extend_schema(tags=["residents"])
class CampaignTaskViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """One task per household per campaign; ``record`` logs the door knock."""

    serializer_class = CampaignTaskSerializer
    filterset_class = CampaignTaskFilter

    def get_queryset(self):
        return selectors.campaign_task_list(user=self.request.user).order_by("pk")

    @extend_schema(request=TaskRecordSerializer, responses=CampaignTaskSerializer)
    @action(detail=True, methods=["post"])
    def record(self, request: Request, pk=None) -> Response:
        payload = TaskRecordSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        task = services.campaign_task_record(
            actor=request.user, task=self.get_object(), **payload.validated_data
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=task.pk)).data)


def register(router) -> None:
    router.register("key-group-tags", KeyGroupTagViewSet, basename="key-group-tag")
    router.register("households", HouseholdViewSet, basename="household")
    router.register("residents", ResidentViewSet, basename="resident")
    router.register("visits", VisitViewSet, basename="visit")
    router.register("campaigns", CampaignViewSet, basename="campaign")
    router.register("campaign-tasks", CampaignTaskViewSet, basename="campaign-task")

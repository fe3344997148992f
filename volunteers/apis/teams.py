"""API of volunteers, team kinds and teams (``/api/v1/volunteer*``)."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from governance.api.mixins import ServiceWriteMixin
from grids.apis import VisibleGridField
from volunteers import selectors, services
from volunteers.apis.common import (
    ActiveUserField,
    ResidentField,
    SubtreeFilter,
    TeamKindField,
    VolunteerField,
    answers,
)
from volunteers.models import (
    TeamKind,
    TeamMembership,
    Volunteer,
    VolunteerTeam,
)

# --- volunteers ------------------------------------------------------------------------------


class VolunteerSerializer(serializers.ModelSerializer):
    grid_name = serializers.CharField(source="grid.name", read_only=True)
    phone = serializers.CharField(source="masked_phone", read_only=True)

    class Meta:
        model = Volunteer
        fields = [
            "id",
            "grid",
            "grid_name",
            "name",
            "user",
            "resident",
            "phone",
            "skills",
            "is_active",
            "registered_on",
            "created_at",
        ]
        read_only_fields = fields


class VolunteerWriteSerializer(serializers.Serializer):
    grid = VisibleGridField()
    name = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    user = ActiveUserField(required=False, allow_null=True, default=None)
    resident = ResidentField(required=False, allow_null=True, default=None)
    phone = serializers.CharField(max_length=24, required=False, allow_blank=True, default="")
    skills = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class VolunteerUpdateSerializer(serializers.Serializer):
    grid = VisibleGridField(required=False)
    name = serializers.CharField(max_length=40, required=False)
    phone = serializers.CharField(max_length=24, required=False, allow_blank=True)
    skills = serializers.CharField(max_length=200, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class VolunteerFilter(SubtreeFilter):
    class Meta:
        model = Volunteer
        fields = ["is_active", "user", "resident"]


@extend_schema(tags=["volunteers"])
class VolunteerViewSet(
    ServiceWriteMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Volunteers (志愿者) of the caller's grids, and the caller's own registration."""

    serializer_class = VolunteerSerializer
    filterset_class = VolunteerFilter
    search_fields = ["name", "skills"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    write_serializer_class = VolunteerWriteSerializer
    update_serializer_class = VolunteerUpdateSerializer

    def get_queryset(self) -> QuerySet[Volunteer]:
        return selectors.volunteer_list(user=self.request.user).order_by("grid_id", "name", "pk")

    def perform_service_create(self, data):
        return services.volunteer_register(actor=self.request.user, **data)

    def perform_service_update(self, volunteer, data):
        return services.volunteer_update(actor=self.request.user, volunteer=volunteer, **data)

    @extend_schema(
        request=VolunteerWriteSerializer,
        responses=answers(VolunteerSerializer, 400, 403, success=201),
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        """Register a resident and/or an account as a volunteer of a grid (staff)."""
        return super().create(request, *args, **kwargs)

    @extend_schema(
        request=VolunteerUpdateSerializer, responses=answers(VolunteerSerializer, 400, 403, 404)
    )
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        return super().partial_update(request, *args, **kwargs)


# --- teams -------------------------------------------------------------------------------------


class TeamKindSerializer(serializers.ModelSerializer):
    class Meta:
        model = TeamKind
        fields = ["id", "code", "name", "is_builtin"]
        read_only_fields = fields


@extend_schema(tags=["volunteers"])
class TeamKindViewSet(viewsets.ReadOnlyModelViewSet):
    """Kinds of volunteer team (seed 001's four, and those staff add in the admin)."""

    queryset = TeamKind.objects.all()
    serializer_class = TeamKindSerializer
    pagination_class = None
    filter_backends: list = []


class TeamSerializer(serializers.ModelSerializer):
    grid_name = serializers.CharField(source="grid.name", read_only=True)
    kind_name = serializers.CharField(source="kind.name", read_only=True)
    leader_name = serializers.CharField(
        source="leader.name", read_only=True, default=None, allow_null=True
    )
    member_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = VolunteerTeam
        fields = [
            "id",
            "grid",
            "grid_name",
            "kind",
            "kind_name",
            "name",
            "description",
            "leader",
            "leader_name",
            "member_count",
            "is_active",
            "created_at",
        ]
        read_only_fields = fields


class TeamWriteSerializer(serializers.Serializer):
    grid = VisibleGridField()
    kind = TeamKindField()
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    leader = VolunteerField(required=False, allow_null=True, default=None)


class TeamUpdateSerializer(serializers.Serializer):
    kind = TeamKindField(required=False)
    name = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    leader = VolunteerField(required=False, allow_null=True)
    is_active = serializers.BooleanField(required=False)


class TeamMemberSerializer(serializers.ModelSerializer):
    volunteer_name = serializers.CharField(source="volunteer.name", read_only=True)
    grid_name = serializers.CharField(source="volunteer.grid.name", read_only=True)

    class Meta:
        model = TeamMembership
        fields = ["id", "volunteer", "volunteer_name", "grid_name", "joined_on"]
        read_only_fields = fields


class MemberPayloadSerializer(serializers.Serializer):
    volunteer = VolunteerField()


class TeamFilter(SubtreeFilter):
    class Meta:
        model = VolunteerTeam
        fields = ["kind", "is_active"]


@extend_schema(tags=["volunteers"])
class TeamViewSet(
    ServiceWriteMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Volunteer teams (志愿服务队) the caller reaches; staff create and change them."""

    serializer_class = TeamSerializer
    filterset_class = TeamFilter
    search_fields = ["name"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    write_serializer_class = TeamWriteSerializer
    update_serializer_class = TeamUpdateSerializer

    def get_queryset(self) -> QuerySet[VolunteerTeam]:
        return selectors.team_list(user=self.request.user).order_by("grid_id", "name", "pk")

    def perform_service_create(self, data):
        return services.team_create(actor=self.request.user, **data)

    def perform_service_update(self, team, data):
        return services.team_update(actor=self.request.user, team=team, **data)

    @extend_schema(
        request=TeamWriteSerializer, responses=answers(TeamSerializer, 400, 403, success=201)
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        return super().create(request, *args, **kwargs)

    @extend_schema(request=TeamUpdateSerializer, responses=answers(TeamSerializer, 400, 403, 404))
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        return super().partial_update(request, *args, **kwargs)

    @extend_schema(
        methods=["GET"], request=None, responses=answers(TeamMemberSerializer(many=True), 404)
    )
    @extend_schema(
        methods=["POST"],
        request=MemberPayloadSerializer,
        responses=answers(TeamMemberSerializer, 400, 403, 404, success=201),
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def members(self, request: Request, pk=None) -> Response:
        """The team's members; POST adds one (staff, or the team's leader)."""
        team = self.get_object()
        if request.method == "POST":
            payload = MemberPayloadSerializer(data=request.data, context={"request": request})
            payload.is_valid(raise_exception=True)
            membership = services.team_add_member(
                actor=request.user, team=team, volunteer=payload.validated_data["volunteer"]
            )
            return Response(TeamMemberSerializer(membership).data, status=status.HTTP_201_CREATED)
        rows = team.memberships.select_related("volunteer__grid").order_by("joined_on", "pk")
        return Response(TeamMemberSerializer(rows, many=True).data)

    @extend_schema(
        request=MemberPayloadSerializer, responses={204: None, **answers(None, 400, 403, 404)}
    )
    @action(detail=True, methods=["post"], url_path="remove-member")
    def remove_member(self, request: Request, pk=None) -> Response:
        payload = MemberPayloadSerializer(data=request.data, context={"request": request})
        payload.is_valid(raise_exception=True)
        services.team_remove_member(
            actor=request.user,
            team=self.get_object(),
            volunteer=payload.validated_data["volunteer"],
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

"""REST API for grids, assignments and party organizations (``/api/v1/``).

Views are thin: they read through ``selectors`` (already scoped, so an invisible
object is a 404) and write through ``services`` (which raise 400s and 403s).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from governance.api.mixins import ServiceWriteMixin
from grids import scoping, selectors, services
from grids.locate import locate
from grids.models import (
    AssignmentRole,
    Grid,
    GridAssignment,
    GridKind,
    GridLevel,
    PartyOrganization,
)


@extend_schema_field(OpenApiTypes.INT)
class VisibleGridField(serializers.PrimaryKeyRelatedField):
    """A grid id the requesting user can see; any other id reads as nonexistent."""

    def get_queryset(self):
        return scoping.filter_visible(Grid.objects.all(), self.context["request"].user)


@extend_schema_field(OpenApiTypes.INT)
class VisiblePartyOrganizationField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return scoping.filter_visible(
            PartyOrganization.objects.all(), self.context["request"].user, via="grid"
        )


# --- grids ------------------------------------------------------------------------------


class GridSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    level_display = serializers.CharField(source="get_level_display", read_only=True)
    descendant_count = serializers.SerializerMethodField()
    assignment_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Grid
        fields = [
            "id",
            "name",
            "code",
            "kind",
            "kind_display",
            "level",
            "level_display",
            "parent",
            "depth",
            "is_active",
            "boundary",
            "min_lat",
            "max_lat",
            "min_lng",
            "max_lng",
            "descendant_count",
            "assignment_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.INT)
    def get_descendant_count(self, grid: Grid) -> int:
        return (grid.rght - grid.lft - 1) // 2


@extend_schema_field(OpenApiTypes.OBJECT)
class GeoJSONField(serializers.JSONField):
    """A GeoJSON Polygon or MultiPolygon; its shape is checked by the service."""


class GridCreateSerializer(serializers.Serializer):
    parent = VisibleGridField(allow_null=True)
    name = serializers.CharField(max_length=100)
    code = serializers.CharField(max_length=32)
    kind = serializers.ChoiceField(choices=GridKind.choices, default=GridKind.ADMINISTRATIVE)
    level = serializers.ChoiceField(choices=GridLevel.choices)
    boundary = GeoJSONField(required=False, allow_null=True)


class GridUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    code = serializers.CharField(max_length=32, required=False)
    kind = serializers.ChoiceField(choices=GridKind.choices, required=False)
    level = serializers.ChoiceField(choices=GridLevel.choices, required=False)
    boundary = GeoJSONField(required=False, allow_null=True)


class GridMoveSerializer(serializers.Serializer):
    parent = VisibleGridField()


class LocateQuerySerializer(serializers.Serializer):
    lat = serializers.FloatField(min_value=-90, max_value=90)
    lng = serializers.FloatField(min_value=-180, max_value=180)


class GridFilter(filters.FilterSet):
    parent = filters.NumberFilter(field_name="parent_id")
    root = filters.BooleanFilter(field_name="parent", lookup_expr="isnull", label=_("Roots only"))

    class Meta:
        model = Grid
        fields = ["kind", "level", "parent", "is_active"]


@extend_schema(tags=["grids"])
class GridViewSet(ServiceWriteMixin, viewsets.ModelViewSet):
    """The grid tree (网格), scoped to the caller's subtrees."""

    serializer_class = GridSerializer
    filterset_class = GridFilter
    search_fields = ["name", "code"]
    ordering_fields = ["code", "name", "lft"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.grid_list(user=self.request.user)

    write_serializer_class = GridCreateSerializer
    update_serializer_class = GridUpdateSerializer

    def perform_service_create(self, data):
        return services.grid_create(actor=self.request.user, **data)

    def perform_service_update(self, grid, data):
        return services.grid_update(actor=self.request.user, grid=grid, **data)

    def _paginated(self, queryset) -> Response:
        page = self.paginate_queryset(queryset)
        serializer = GridSerializer(page, many=True, context=self.get_serializer_context())
        return self.get_paginated_response(serializer.data)

    @extend_schema(request=GridCreateSerializer, responses={201: GridSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        return super().create(request, *args, **kwargs)

    @extend_schema(request=GridUpdateSerializer, responses=GridSerializer)
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        return super().partial_update(request, *args, **kwargs)

    def destroy(self, request: Request, pk=None) -> Response:
        services.grid_delete(actor=request.user, grid=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=GridMoveSerializer, responses=GridSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk=None) -> Response:
        grid = self.get_object()
        payload = GridMoveSerializer(data=request.data, context=self.get_serializer_context())
        payload.is_valid(raise_exception=True)
        grid = services.grid_move(
            actor=request.user, grid=grid, parent=payload.validated_data["parent"]
        )
        return self._read(grid)

    @extend_schema(request=None, responses=GridSerializer)
    @action(detail=True, methods=["post"])
    def deactivate(self, request: Request, pk=None) -> Response:
        grid = self.get_object()
        services.grid_deactivate(actor=request.user, grid=grid)
        return self._read(grid)

    @extend_schema(request=None, responses=GridSerializer)
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk=None) -> Response:
        grid = services.grid_activate(actor=request.user, grid=self.get_object())
        return self._read(grid)

    @extend_schema(responses=GridSerializer(many=True))
    @action(detail=True, methods=["get"])
    def children(self, request: Request, pk=None) -> Response:
        grid = self.get_object()
        return self._paginated(selectors.grid_children(user=request.user, grid=grid))

    @extend_schema(responses=GridSerializer(many=True))
    @action(detail=True, methods=["get"])
    def subtree(self, request: Request, pk=None) -> Response:
        grid = self.get_object()
        return self._paginated(selectors.grid_subtree(user=request.user, grid=grid))

    @extend_schema(responses=GridSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def ancestors(self, request: Request, pk=None) -> Response:
        grid = self.get_object()
        ancestors = selectors.grid_ancestors(user=request.user, grid=grid)
        return Response(
            GridSerializer(ancestors, many=True, context=self.get_serializer_context()).data
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("lat", OpenApiTypes.DOUBLE, required=True),
            OpenApiParameter("lng", OpenApiTypes.DOUBLE, required=True),
        ],
        responses={200: GridSerializer, 404: OpenApiTypes.OBJECT},
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def locate(self, request: Request) -> Response:
        """The deepest active grid (among those visible to you) containing the point."""
        query = LocateQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        grid = locate(
            query.validated_data["lat"],
            query.validated_data["lng"],
            queryset=self.get_queryset(),
        )
        if grid is None:
            raise NotFound(_("No grid contains this point."))
        return self._read(grid)


# --- assignments ------------------------------------------------------------------------


class AssignmentSerializer(serializers.ModelSerializer):
    user = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True)
    )
    user_name = serializers.CharField(source="user.__str__", read_only=True)
    grid = VisibleGridField()
    grid_name = serializers.CharField(source="grid.name", read_only=True)
    role_display = serializers.CharField(source="get_role_display", read_only=True)
    is_current = serializers.SerializerMethodField()

    class Meta:
        model = GridAssignment
        fields = [
            "id",
            "user",
            "user_name",
            "grid",
            "grid_name",
            "role",
            "role_display",
            "starts_on",
            "ends_on",
            "note",
            "is_current",
        ]
        # The service owns the rules (one open assignment per person, role and grid);
        # DRF's automatic unique-together validator would duplicate it.
        validators = []
        extra_kwargs = {"starts_on": {"required": False}}

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_is_current(self, assignment: GridAssignment) -> bool:
        return assignment.is_current()


class AssignmentEndSerializer(serializers.Serializer):
    ends_on = serializers.DateField(required=False)


class AssignmentFilter(filters.FilterSet):
    current = filters.BooleanFilter(method="filter_current", label=_("Current only"))
    role = filters.ChoiceFilter(choices=AssignmentRole.choices)

    class Meta:
        model = GridAssignment
        fields = ["grid", "user", "role"]

    def filter_current(self, queryset, name, value):
        current = GridAssignment.objects.current().values("pk")
        return queryset.filter(pk__in=current) if value else queryset.exclude(pk__in=current)


@extend_schema(tags=["grids"])
class AssignmentViewSet(viewsets.ModelViewSet):
    """Who works on which grid in which role (任职), scoped by the grid."""

    serializer_class = AssignmentSerializer
    filterset_class = AssignmentFilter
    search_fields = ["user__username", "user__full_name", "grid__name", "grid__code"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.assignment_list(user=self.request.user).order_by("pk")

    def perform_create(self, serializer):
        serializer.instance = services.assignment_create(
            actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.assignment_update(
            actor=self.request.user, assignment=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.assignment_delete(actor=self.request.user, assignment=instance)

    @extend_schema(request=AssignmentEndSerializer, responses=AssignmentSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request: Request, pk=None) -> Response:
        payload = AssignmentEndSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        assignment = services.assignment_end(
            actor=request.user, assignment=self.get_object(), **payload.validated_data
        )
        return Response(self.get_serializer(assignment).data)


# --- party organizations ------------------------------------------------------------------


class PartyOrganizationSerializer(serializers.ModelSerializer):
    grid = VisibleGridField()
    parent = VisiblePartyOrganizationField(allow_null=True, required=False)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    secretary = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True), allow_null=True, required=False
    )

    class Meta:
        model = PartyOrganization
        fields = ["id", "name", "kind", "kind_display", "parent", "grid", "secretary", "level"]
        read_only_fields = ["level"]


@extend_schema(tags=["grids"])
class PartyOrganizationViewSet(viewsets.ModelViewSet):
    """Party committees, branches and groups (党组织), scoped by their grid."""

    serializer_class = PartyOrganizationSerializer
    filterset_fields = ["kind", "grid", "parent"]
    search_fields = ["name"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.party_organization_list(user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = services.party_organization_create(
            actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.party_organization_update(
            actor=self.request.user, organization=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.party_organization_delete(actor=self.request.user, organization=instance)


def register(router) -> None:
    router.register("grids", GridViewSet, basename="grid")
    router.register("assignments", AssignmentViewSet, basename="assignment")
    router.register("party-organizations", PartyOrganizationViewSet, basename="party-organization")

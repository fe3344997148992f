"""API of dual registration (双报到双服务): unit pairings, registrations, the report per
organization, and a party member's service record."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from grids import scoping
from grids.apis import VisibleGridField
from grids.models import PartyOrganization
from residents.models import PartyMember
from volunteers import selectors, services
from volunteers.apis.common import (
    PERIOD_PARAMETERS,
    InServicePartyMemberField,
    PartyOrganizationField,
    answers,
    period_of,
)
from volunteers.models import DualRegistration, UnitPairing


class PairingSerializer(serializers.ModelSerializer):
    organization_name = serializers.CharField(source="organization.name", read_only=True)
    community_name = serializers.CharField(source="community.name", read_only=True)

    class Meta:
        model = UnitPairing
        fields = [
            "id",
            "organization",
            "organization_name",
            "community",
            "community_name",
            "starts_on",
            "ends_on",
            "note",
            "created_at",
        ]
        read_only_fields = fields


class PairingWriteSerializer(serializers.Serializer):
    organization = PartyOrganizationField()
    community = VisibleGridField()
    starts_on = serializers.DateField(required=False, allow_null=True, default=None)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class EndPayloadSerializer(serializers.Serializer):
    on = serializers.DateField(required=False, allow_null=True, default=None)


@extend_schema(tags=["dual registration"])
class PairingViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """结对: units (their party organizations) paired with communities."""

    serializer_class = PairingSerializer
    filterset_fields = ["organization", "community"]

    def get_queryset(self) -> QuerySet[UnitPairing]:
        return selectors.pairing_list(user=self.request.user).order_by("community_id", "pk")

    @extend_schema(
        request=PairingWriteSerializer, responses=answers(PairingSerializer, 400, 403, success=201)
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        payload = PairingWriteSerializer(data=request.data, context=self.get_serializer_context())
        payload.is_valid(raise_exception=True)
        pairing = services.pairing_create(actor=request.user, **payload.validated_data)
        fresh = self.get_queryset().get(pk=pairing.pk)
        return Response(PairingSerializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=EndPayloadSerializer, responses=answers(PairingSerializer, 400, 403, 404, 409)
    )
    @action(detail=True, methods=["post"])
    def end(self, request: Request, pk=None) -> Response:
        payload = EndPayloadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        pairing = services.pairing_end(
            actor=request.user, pairing=self.get_object(), ends_on=payload.validated_data["on"]
        )
        return Response(PairingSerializer(self.get_queryset().get(pk=pairing.pk)).data)


class RegistrationSerializer(serializers.ModelSerializer):
    member_name = serializers.CharField(source="party_member.__str__", read_only=True)
    grid_name = serializers.CharField(source="grid.name", read_only=True)
    organization_name = serializers.CharField(source="organization.name", read_only=True)

    class Meta:
        model = DualRegistration
        fields = [
            "id",
            "party_member",
            "member_name",
            "grid",
            "grid_name",
            "organization",
            "organization_name",
            "registered_on",
            "ended_on",
            "note",
            "created_at",
        ]
        read_only_fields = fields


class RegistrationWriteSerializer(serializers.Serializer):
    party_member = InServicePartyMemberField()
    grid = VisibleGridField()
    organization = PartyOrganizationField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_("The member's unit; by default their own party organization."),
    )
    registered_on = serializers.DateField(required=False, allow_null=True, default=None)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


@extend_schema(tags=["dual registration"])
class RegistrationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """双报到: in-service party members registered with the community where they live.
    Listed to the community's staff and to those whose scope covers the member's unit."""

    serializer_class = RegistrationSerializer
    filterset_fields = ["party_member", "grid", "organization"]

    def get_queryset(self) -> QuerySet[DualRegistration]:
        return selectors.registration_list(user=self.request.user).order_by("grid_id", "pk")

    @extend_schema(
        request=RegistrationWriteSerializer,
        responses=answers(RegistrationSerializer, 400, 403, success=201),
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        payload = RegistrationWriteSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        payload.is_valid(raise_exception=True)
        registration = services.registration_create(actor=request.user, **payload.validated_data)
        fresh = self.get_queryset().get(pk=registration.pk)
        return Response(RegistrationSerializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=EndPayloadSerializer, responses=answers(RegistrationSerializer, 400, 403, 404, 409)
    )
    @action(detail=True, methods=["post"])
    def end(self, request: Request, pk=None) -> Response:
        payload = EndPayloadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        registration = services.registration_end(
            actor=request.user,
            registration=self.get_object(),
            ended_on=payload.validated_data["on"],
        )
        return Response(RegistrationSerializer(self.get_queryset().get(pk=registration.pk)).data)


# --- reports ---------------------------------------------------------------------------------


class ParticipationSerializer(serializers.Serializer):
    tickets = serializers.IntegerField(help_text=_("Tickets claimed from the board and closed."))
    activities = serializers.IntegerField(help_text=_("Activities attended."))
    hours = serializers.DecimalField(max_digits=8, decimal_places=2)
    points = serializers.IntegerField(help_text=_("Points earned, net of reversals."))


class MemberRowSerializer(serializers.Serializer):
    registration = serializers.IntegerField(source="registration.pk")
    party_member = serializers.IntegerField(source="registration.party_member_id")
    name = serializers.CharField()
    grid = serializers.IntegerField(source="registration.grid_id")
    grid_name = serializers.CharField(source="registration.grid.name")
    registered_on = serializers.DateField(source="registration.registered_on")
    ended_on = serializers.DateField(source="registration.ended_on", allow_null=True)
    participation = ParticipationSerializer()


# One report per request: ``list`` is the route's name, not the shape of the answer.
@extend_schema_serializer(many=False)
class OrganizationReportSerializer(serializers.Serializer):
    organization = serializers.IntegerField(source="organization.pk")
    organization_name = serializers.CharField(source="organization.name")
    start = serializers.DateField()
    end = serializers.DateField()
    pairings = PairingSerializer(many=True)
    members = MemberRowSerializer(many=True)
    active_members = serializers.IntegerField()
    totals = ParticipationSerializer()


@extend_schema(tags=["dual registration"])
class OrganizationReportViewSet(viewsets.ViewSet):
    """The report of a unit (its party organization and those below it): its members
    registered with communities and what each did in the period (seed 001: 54 units,
    950+ members)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("organization", OpenApiTypes.INT, required=True),
            *PERIOD_PARAMETERS,
        ],
        responses=answers(OrganizationReportSerializer, 400, 404),
    )
    def list(self, request: Request) -> Response:
        start, end = period_of(request)
        raw = request.query_params.get("organization") or ""
        if not raw.isdigit():
            raise ValidationError({"organization": [_("Give the organization's id.")]})
        organization = get_object_or_404(
            PartyOrganization.objects.select_related("grid"), pk=int(raw)
        )
        if not scoping.can_view(request.user, organization.grid):
            raise NotFound
        report = selectors.organization_report(organization=organization, start=start, end=end)
        return Response(OrganizationReportSerializer(report).data)


class RecordTicketSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    title = serializers.CharField()
    grid_name = serializers.CharField(source="grid.name")
    closed_at = serializers.DateTimeField()


class RecordSignupSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    activity = serializers.IntegerField(source="activity.pk")
    title = serializers.CharField(source="activity.title")
    starts_at = serializers.DateTimeField(source="activity.starts_at")
    status = serializers.CharField()
    hours = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)


class ServiceRecordSerializer(serializers.Serializer):
    party_member = serializers.IntegerField(source="party_member.pk")
    name = serializers.CharField(source="party_member.__str__")
    start = serializers.DateField()
    end = serializers.DateField()
    tickets = RecordTicketSerializer(many=True)
    signups = RecordSignupSerializer(many=True)
    visits = serializers.IntegerField()
    participation = ParticipationSerializer()


@extend_schema(tags=["dual registration"])
class ServiceRecordViewSet(viewsets.GenericViewSet):
    """A party member's service record for a period: tickets claimed from the board and
    closed, activities and hours, visits, points earned. For members of the caller's grids
    (by organization, home or dual registration) and the caller's own."""

    serializer_class = ServiceRecordSerializer
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[PartyMember]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return PartyMember.objects.none()
        return selectors.party_member_list(user=self.request.user)

    @extend_schema(
        parameters=PERIOD_PARAMETERS, responses=answers(ServiceRecordSerializer, 400, 404)
    )
    def retrieve(self, request: Request, pk=None) -> Response:
        start, end = period_of(request)
        member = self.get_object()
        record = selectors.party_member_service_record(party_member=member, start=start, end=end)
        return Response(ServiceRecordSerializer(record).data)

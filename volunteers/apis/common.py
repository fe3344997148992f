"""Shapes and fields the volunteers API shares: scoped id fields (an id one may not see
reads as nonexistent), the period parameters, the error answers for the schema."""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request

from grids.models import Grid, PartyOrganization
from residents.models import PartyMember, PartyMemberStatus
from residents.selectors import resident_list
from volunteers import selectors
from volunteers.models import TeamKind

MAX_PERIOD_DAYS = 366


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="Field errors: {field: [messages]}"),
    403: OpenApiResponse(ErrorSerializer, description="You may not do this."),
    404: OpenApiResponse(ErrorSerializer, description="Not found, or outside your reach."),
    409: OpenApiResponse(ErrorSerializer, description="The state does not allow it."),
}


def answers(serializer, *codes: int, success: int = 200) -> dict:
    """The success shape and the errors an endpoint may answer with, for the schema."""
    return {success: serializer, **{code: ERRORS[code] for code in codes}}


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="__str__", read_only=True)


@extend_schema_field(OpenApiTypes.INT)
class ReachableGridField(serializers.PrimaryKeyRelatedField):
    """A grid the user reaches (their scope, their community, the grids above): a team
    leader without a grid role publishes activities on their team's grids."""

    def get_queryset(self):
        return Grid.objects.filter(selectors.reach_q(self.context["request"].user, via=""))


@extend_schema_field(OpenApiTypes.INT)
class VolunteerField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return selectors.volunteer_list(user=self.context["request"].user)


@extend_schema_field(OpenApiTypes.INT)
class TeamField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return selectors.team_list(user=self.context["request"].user)


@extend_schema_field(OpenApiTypes.INT)
class TeamKindField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return TeamKind.objects.all()


@extend_schema_field(OpenApiTypes.INT)
class AccountField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return selectors.account_list(user=self.context["request"].user)


@extend_schema_field(OpenApiTypes.INT)
class ShopField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return selectors.shop_list(user=self.context["request"].user)


@extend_schema_field(OpenApiTypes.INT)
class ResidentField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return resident_list(user=self.context["request"].user)


@extend_schema_field(OpenApiTypes.INT)
class ActiveUserField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return get_user_model().objects.filter(is_active=True)


@extend_schema_field(OpenApiTypes.INT)
class InServicePartyMemberField(serializers.PrimaryKeyRelatedField):
    """Any in-service party member: they come to register from units anywhere in the
    county, outside the community's own grids (双报到)."""

    def get_queryset(self):
        return PartyMember.objects.filter(status=PartyMemberStatus.IN_SERVICE)


@extend_schema_field(OpenApiTypes.INT)
class PartyOrganizationField(serializers.PrimaryKeyRelatedField):
    """Any party organization: a unit pairing with a community is usually a county
    department's, outside the community's grids."""

    def get_queryset(self):
        return PartyOrganization.objects.all()


class PeriodSerializer(serializers.Serializer):
    """``from``/``to`` (inclusive local dates); this month so far when left out."""

    to = serializers.DateField(required=False)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateField(required=False)  # a keyword in Python
        return fields

    def validate(self, attrs):
        today = timezone.localdate()
        end = attrs.get("to") or today
        start = attrs.get("from") or end.replace(day=1)
        if start > end:
            raise serializers.ValidationError({"from": _("The period starts after it ends.")})
        if (end - start).days >= MAX_PERIOD_DAYS:
            raise serializers.ValidationError({"from": _("A period is at most a year.")})
        return {"start": start, "end": end}


def period_of(request: Request) -> tuple[datetime.date, datetime.date]:
    payload = PeriodSerializer(data=request.query_params)
    payload.is_valid(raise_exception=True)
    return payload.validated_data["start"], payload.validated_data["end"]


PERIOD_PARAMETERS = [
    OpenApiParameter(
        "from", OpenApiTypes.DATE, description="First day (default: 1st of the month)"
    ),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last day, inclusive (default: today)"),
]


class SubtreeFilter(filters.FilterSet):
    """``?grid=`` filters on a grid and its whole subtree (MPTT bounds)."""

    grid = filters.NumberFilter(method="filter_subtree", label=_("Grid (with its subtree)"))
    grid_path = "grid"

    def filter_subtree(self, queryset, name, value):
        grid = Grid.objects.filter(pk=value).first()
        if grid is None:
            return queryset.none()
        return queryset.filter(selectors.subtree_q(grid, via=self.grid_path))

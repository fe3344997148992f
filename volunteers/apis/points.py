"""API of the points ledger: accounts and their entries, reversals, rules, awards and the
leaderboards (``/api/v1/points-*``)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from grids.apis import VisibleGridField
from grids.models import Grid, PartyOrganization
from volunteers import selectors, services
from volunteers.apis.common import (
    PERIOD_PARAMETERS,
    AccountField,
    PersonSerializer,
    answers,
    period_of,
)
from volunteers.models import (
    AccountKind,
    PointsAccount,
    PointsAward,
    PointsEntry,
    PointsRule,
)

LEADERBOARD_MAX = 100


class AccountSerializer(serializers.ModelSerializer):
    # a plain string: "kind" enums are documented once, on the rules
    kind = serializers.CharField(read_only=True, help_text=_("resident, party_member or household"))
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    name = serializers.SerializerMethodField()

    class Meta:
        model = PointsAccount
        fields = [
            "id",
            "kind",
            "kind_display",
            "name",
            "resident",
            "party_member",
            "household",
            "balance",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_name(self, account: PointsAccount) -> str:
        return selectors.account_label(account)


class EntrySerializer(serializers.ModelSerializer):
    reason_display = serializers.CharField(source="get_reason_display", read_only=True)
    rule_name = serializers.CharField(
        source="rule.name", read_only=True, default=None, allow_null=True
    )
    grid_name = serializers.CharField(source="grid.name", read_only=True)
    source_type = serializers.CharField(source="source_type.model", read_only=True)
    posted_by = PersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = PointsEntry
        fields = [
            "id",
            "account",
            "amount",
            "reason",
            "reason_display",
            "rule",
            "rule_name",
            "source_type",
            "source_id",
            "grid",
            "grid_name",
            "reverses",
            "note",
            "posted_by",
            "posted_at",
            "balance_after",
        ]
        read_only_fields = fields


class AccountFilter(filters.FilterSet):
    mine = filters.BooleanFilter(method="filter_mine", label=_("My own accounts"))

    class Meta:
        model = PointsAccount
        fields = ["kind", "resident", "party_member", "household"]

    def filter_mine(self, queryset, name, value):
        own = selectors.own_accounts_q(self.request.user)
        return queryset.filter(own) if value else queryset.exclude(own)


@extend_schema(tags=["points"])
class AccountViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Points accounts (积分): yours (``?mine=true``) and those of your grids, with their
    balance, which is always the sum of the entries."""

    serializer_class = AccountSerializer
    filterset_class = AccountFilter
    ordering_fields = ["balance", "created_at"]

    def get_queryset(self) -> QuerySet[PointsAccount]:
        return selectors.account_list(user=self.request.user).order_by("pk")

    @extend_schema(responses=answers(EntrySerializer(many=True), 404))
    @action(detail=True, methods=["get"], filter_backends=[])
    def entries(self, request: Request, pk=None) -> Response:
        """The account's ledger, newest first."""
        account = self.get_object()
        rows = (
            PointsEntry.objects.filter(account=account)
            .select_related("rule", "grid", "posted_by", "source_type")
            .order_by("-posted_at", "-pk")
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(EntrySerializer(page, many=True).data)


class EntryFilter(filters.FilterSet):
    class Meta:
        model = PointsEntry
        fields = ["account", "reason", "grid"]


class NotePayloadSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=200)


@extend_schema(tags=["points"])
class EntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The ledger's entries of the accounts you see. Append-only: a correction is a
    ``reverse`` (staff), never an edit."""

    serializer_class = EntrySerializer
    filterset_class = EntryFilter
    ordering_fields = ["posted_at"]

    def get_queryset(self) -> QuerySet[PointsEntry]:
        return selectors.entry_list(user=self.request.user).order_by("-posted_at", "-pk")

    @extend_schema(
        request=NotePayloadSerializer,
        responses=answers(EntrySerializer, 400, 403, 404, 409, success=201),
    )
    @action(detail=True, methods=["post"])
    def reverse(self, request: Request, pk=None) -> Response:
        """Post the entry's reversal (with the reason in ``note``); 409 when it is already
        reversed or the points were spent."""
        payload = NotePayloadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        reversal = services.points_entry_reverse(
            actor=request.user, entry=self.get_object(), note=payload.validated_data["note"]
        )
        fresh = self.get_queryset().get(pk=reversal.pk)
        return Response(EntrySerializer(fresh).data, status=status.HTTP_201_CREATED)


# --- rules and awards ------------------------------------------------------------------------


RULE_KINDS_HELP = _("volunteer_hour, ticket_claim, award or party_duty")


class RuleSerializer(serializers.ModelSerializer):
    # plain strings: another app's "kind" enum (visits) holds the component name
    kind = serializers.CharField(read_only=True, help_text=RULE_KINDS_HELP)
    grid_name = serializers.CharField(source="grid.name", read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = PointsRule
        fields = [
            "id",
            "grid",
            "grid_name",
            "kind",
            "kind_display",
            "code",
            "name",
            "points",
            "effective_from",
            "note",
            "created_at",
        ]
        read_only_fields = fields


class RuleWriteSerializer(serializers.Serializer):
    grid = VisibleGridField()
    kind = serializers.CharField(max_length=16, help_text=RULE_KINDS_HELP)
    code = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    name = serializers.CharField(max_length=100)
    points = serializers.IntegerField(min_value=0)
    effective_from = serializers.DateField(required=False, allow_null=True, default=None)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class RuleFilter(filters.FilterSet):
    class Meta:
        model = PointsRule
        fields = ["grid", "kind", "code"]


@extend_schema(tags=["points"])
class RuleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Points rules per community, versioned by date: POST adds a version that applies from
    ``effective_from`` on (today or later for a rule that exists); DELETE withdraws a
    version that has not started."""

    serializer_class = RuleSerializer
    filterset_class = RuleFilter

    def get_queryset(self) -> QuerySet[PointsRule]:
        return selectors.rule_list(user=self.request.user).order_by(
            "grid__tree_id", "grid__lft", "kind", "code", "-effective_from"
        )

    @extend_schema(
        request=RuleWriteSerializer, responses=answers(RuleSerializer, 400, 403, success=201)
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        payload = RuleWriteSerializer(data=request.data, context=self.get_serializer_context())
        payload.is_valid(raise_exception=True)
        rule = services.rule_set(actor=request.user, **payload.validated_data)
        fresh = self.get_queryset().get(pk=rule.pk)
        return Response(RuleSerializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None, **answers(None, 403, 404, 409)})
    def destroy(self, request: Request, *args, **kwargs) -> Response:
        services.rule_delete(actor=request.user, rule=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class AwardSerializer(serializers.ModelSerializer):
    rule_name = serializers.CharField(source="rule.name", read_only=True)
    points = serializers.IntegerField(source="rule.points", read_only=True)
    grid_name = serializers.CharField(source="grid.name", read_only=True)
    awarded_by = PersonSerializer(read_only=True)

    class Meta:
        model = PointsAward
        fields = [
            "id",
            "account",
            "rule",
            "rule_name",
            "points",
            "grid",
            "grid_name",
            "note",
            "awarded_on",
            "awarded_by",
            "created_at",
        ]
        read_only_fields = fields


class AwardWriteSerializer(serializers.Serializer):
    account = AccountField()
    grid = VisibleGridField()
    kind = serializers.CharField(max_length=16, help_text=_("award or party_duty"))
    code = serializers.CharField(max_length=40)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


@extend_schema(tags=["points"])
class AwardViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Awards under a rule (先进评比, party duties): POST awards and posts the points."""

    serializer_class = AwardSerializer
    filterset_fields = ["account", "grid", "rule"]

    def get_queryset(self) -> QuerySet[PointsAward]:
        return selectors.award_list(user=self.request.user).order_by("-created_at", "-pk")

    @extend_schema(
        request=AwardWriteSerializer, responses=answers(AwardSerializer, 400, 403, success=201)
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        payload = AwardWriteSerializer(data=request.data, context=self.get_serializer_context())
        payload.is_valid(raise_exception=True)
        award = services.points_award(actor=request.user, **payload.validated_data)
        fresh = self.get_queryset().get(pk=award.pk)
        return Response(AwardSerializer(fresh).data, status=status.HTTP_201_CREATED)


# --- leaderboards ----------------------------------------------------------------------------


class LeaderboardRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    account = serializers.IntegerField(source="account.pk")
    name = serializers.CharField()
    points = serializers.IntegerField()


# One board per request: ``list`` is the route's name, not the shape of the answer.
@extend_schema_serializer(many=False)
class LeaderboardSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    rows = LeaderboardRowSerializer(many=True)


@extend_schema(tags=["points"])
class LeaderboardViewSet(viewsets.ViewSet):
    """积分榜: points earned in a period (net of reversals), most first. Either a party
    ``organization`` (its party members, branch and below: 积分制管理) or a ``grid``
    (accounts placed in its subtree; ``kind=party_member`` for party members only)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("grid", OpenApiTypes.INT),
            OpenApiParameter("organization", OpenApiTypes.INT),
            OpenApiParameter("kind", OpenApiTypes.STR, enum=AccountKind.values),
            OpenApiParameter("limit", OpenApiTypes.INT, description="At most 100 (default 20)"),
            *PERIOD_PARAMETERS,
        ],
        responses=answers(LeaderboardSerializer, 400, 404),
    )
    def list(self, request: Request) -> Response:
        start, end = period_of(request)
        params = request.query_params
        try:
            limit = min(int(params.get("limit") or 20), LEADERBOARD_MAX)
        except ValueError as exc:
            raise ValidationError({"limit": [_("A whole number.")]}) from exc
        kind = params.get("kind") or None
        if kind is not None and kind not in AccountKind.values:
            raise ValidationError({"kind": [_("Choose resident, party_member or household.")]})
        if params.get("organization"):
            organization = get_object_or_404(
                PartyOrganization.objects.select_related("grid"),
                pk=_as_int(params["organization"], "organization"),
            )
            if not selectors.sees_people_of(request.user, organization.grid):
                raise NotFound
            accounts = selectors.branch_accounts(organization)
        elif params.get("grid"):
            grid = get_object_or_404(Grid, pk=_as_int(params["grid"], "grid"))
            if not selectors.sees_people_of(request.user, grid):
                raise NotFound
            accounts = selectors.community_accounts(grid, kind=kind)
        else:
            raise ValidationError({"grid": [_("Give a grid or a party organization.")]})
        rows = selectors.leaderboard(accounts=accounts, start=start, end=end, limit=limit)
        return Response(LeaderboardSerializer({"start": start, "end": end, "rows": rows}).data)


def _as_int(value: str, field: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise ValidationError({field: [_("A whole number.")]}) from exc

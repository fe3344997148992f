"""API of activities and sign-ups (``/api/v1/volunteer-activities/``, ``volunteer-signups/``)."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from governance.api.mixins import ServiceWriteMixin
from volunteers import permissions, selectors, services
from volunteers.apis.common import (
    ActiveUserField,
    PersonSerializer,
    ReachableGridField,
    SubtreeFilter,
    TeamField,
    VolunteerField,
    answers,
)
from volunteers.models import (
    Activity,
    PointsBasis,
    Signup,
)

# --- activities --------------------------------------------------------------------------------


class ActivitySerializer(serializers.ModelSerializer):
    """An activity with its places left, the caller's own sign-up (``my_signup``,
    ``my_signup_status``) and, for its organisers only, the venue's check-in code."""

    grid_name = serializers.CharField(source="grid.name", read_only=True)
    team_name = serializers.CharField(
        source="team.name", read_only=True, default=None, allow_null=True
    )
    organiser = PersonSerializer(read_only=True)
    taken = serializers.IntegerField(read_only=True, default=0)
    places_left = serializers.SerializerMethodField()
    check_in_code = serializers.SerializerMethodField()
    my_signup = serializers.IntegerField(read_only=True, default=None, allow_null=True)
    my_signup_status = serializers.CharField(read_only=True, default=None, allow_null=True)

    class Meta:
        model = Activity
        fields = [
            "id",
            "title",
            "description",
            "grid",
            "grid_name",
            "place",
            "starts_at",
            "ends_at",
            "signup_closes_at",
            "capacity",
            "taken",
            "places_left",
            "team",
            "team_name",
            "organiser",
            "points_basis",
            "attendance_points",
            "status",
            "cancel_reason",
            "check_in_code",
            "my_signup",
            "my_signup_status",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_places_left(self, activity: Activity) -> int | None:
        if activity.capacity is None:
            return None
        return max(activity.capacity - (getattr(activity, "taken", 0) or 0), 0)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_check_in_code(self, activity: Activity) -> str | None:
        user = self.context["request"].user
        return activity.check_in_code if permissions.can_organise(user, activity) else None


class ActivityWriteSerializer(serializers.Serializer):
    grid = ReachableGridField()
    title = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    place = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    signup_closes_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    capacity = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    team = TeamField(required=False, allow_null=True, default=None)
    organiser = ActiveUserField(required=False, allow_null=True, default=None)
    points_basis = serializers.ChoiceField(choices=PointsBasis.choices, default=PointsBasis.HOURS)
    attendance_points = serializers.IntegerField(min_value=0, required=False, default=0)


class ActivityUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    place = serializers.CharField(max_length=200, required=False, allow_blank=True)
    starts_at = serializers.DateTimeField(required=False)
    ends_at = serializers.DateTimeField(required=False)
    signup_closes_at = serializers.DateTimeField(required=False)
    capacity = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    organiser = ActiveUserField(required=False)
    points_basis = serializers.ChoiceField(choices=PointsBasis.choices, required=False)
    attendance_points = serializers.IntegerField(min_value=0, required=False)


class ActivityFilter(SubtreeFilter):
    upcoming = filters.BooleanFilter(method="filter_upcoming", label=_("Not over yet"))

    class Meta:
        model = Activity
        fields = ["status", "team", "points_basis"]

    def filter_upcoming(self, queryset, name, value):
        now = timezone.now()
        return queryset.filter(ends_at__gt=now) if value else queryset.filter(ends_at__lte=now)


class SignUpPayloadSerializer(serializers.Serializer):
    volunteer = VolunteerField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_("Someone else to sign up (organisers); leave out to sign yourself up."),
    )


class CodePayloadSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=12, required=False, allow_blank=True, default="")


class ReasonPayloadSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ConfirmPayloadSerializer(serializers.Serializer):
    hours = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, required=False, allow_null=True, default=None
    )
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ConfirmedCountSerializer(serializers.Serializer):
    confirmed = serializers.IntegerField()


class SignupSerializer(serializers.ModelSerializer):
    activity_title = serializers.CharField(source="activity.title", read_only=True)
    starts_at = serializers.DateTimeField(source="activity.starts_at", read_only=True)
    volunteer_name = serializers.CharField(source="volunteer.name", read_only=True)

    class Meta:
        model = Signup
        fields = [
            "id",
            "activity",
            "activity_title",
            "starts_at",
            "volunteer",
            "volunteer_name",
            "status",
            "signed_up_at",
            "cancelled_at",
            "checked_in_at",
            "checked_out_at",
            "hours",
            "confirmed_at",
            "note",
        ]
        read_only_fields = fields


@extend_schema(tags=["volunteers"])
class ActivityViewSet(
    ServiceWriteMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Volunteer activities (志愿服务活动) the caller reaches: their community's and the grids
    above it. ``sign-up``, ``check-in`` (with the venue's code), ``cancel``,
    ``attendance`` and ``confirm-all`` are actions."""

    serializer_class = ActivitySerializer
    filterset_class = ActivityFilter
    search_fields = ["title", "place"]
    ordering_fields = ["starts_at", "created_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    write_serializer_class = ActivityWriteSerializer
    update_serializer_class = ActivityUpdateSerializer

    def get_queryset(self) -> QuerySet[Activity]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return Activity.objects.none()
        user = self.request.user
        mine = Signup.objects.filter(activity=OuterRef("pk"), volunteer__user=user)
        return (
            selectors.activity_list(user=user)
            .select_related("team__leader")
            .annotate(
                my_signup=Subquery(mine.values("pk")[:1]),
                my_signup_status=Subquery(mine.values("status")[:1]),
            )
            .order_by("-starts_at", "-pk")
        )

    def perform_service_create(self, data):
        return services.activity_create(actor=self.request.user, **data)

    def perform_service_update(self, activity, data):
        return services.activity_update(actor=self.request.user, activity=activity, **data)

    @extend_schema(
        request=ActivityWriteSerializer,
        responses=answers(ActivitySerializer, 400, 403, success=201),
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        """Publish an activity (staff of the grid, or the leader of its team)."""
        return super().create(request, *args, **kwargs)

    @extend_schema(
        request=ActivityUpdateSerializer, responses=answers(ActivitySerializer, 400, 403, 404, 409)
    )
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        return super().partial_update(request, *args, **kwargs)

    @extend_schema(
        request=SignUpPayloadSerializer,
        responses=answers(SignupSerializer, 400, 403, 404, 409, success=201),
    )
    @action(detail=True, methods=["post"], url_path="sign-up")
    def sign_up(self, request: Request, pk=None) -> Response:
        """Sign yourself up before the cut-off, or (organisers) someone else until the end.
        409 when the activity is full."""
        payload = SignUpPayloadSerializer(data=request.data, context={"request": request})
        payload.is_valid(raise_exception=True)
        signup = services.signup_create(
            actor=request.user, activity=self.get_object(), **payload.validated_data
        )
        return Response(SignupSerializer(signup).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=CodePayloadSerializer, responses=answers(SignupSerializer, 400, 403, 404, 409)
    )
    @action(detail=True, methods=["post"], url_path="check-in")
    def check_in(self, request: Request, pk=None) -> Response:
        """At the venue: type its code to check in, and again to check out."""
        payload = CodePayloadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        signup = services.activity_check_in_with_code(
            actor=request.user, activity=self.get_object(), code=payload.validated_data["code"]
        )
        return Response(SignupSerializer(signup).data)

    @extend_schema(
        request=ReasonPayloadSerializer, responses=answers(ActivitySerializer, 403, 404, 409)
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk=None) -> Response:
        """Call the activity off (its organisers), before it is over."""
        payload = ReasonPayloadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        activity = services.activity_cancel(
            actor=request.user, activity=self.get_object(), **payload.validated_data
        )
        return self._read(activity)

    @extend_schema(request=None, responses=answers(SignupSerializer(many=True), 403, 404))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def attendance(self, request: Request, pk=None) -> Response:
        """Everyone signed up, checked in or out: the organiser's list at the venue."""
        activity = self.get_object()
        if not permissions.can_organise(request.user, activity):
            raise PermissionDenied(_("Only the organisers see the attendance."))
        rows = selectors.attendance(activity=activity).select_related("activity")
        return Response(SignupSerializer(rows, many=True).data)

    @extend_schema(request=None, responses=answers(ConfirmedCountSerializer, 403, 404))
    @action(detail=True, methods=["post"], url_path="confirm-all")
    def confirm_all(self, request: Request, pk=None) -> Response:
        """Confirm the derived hours of everyone checked out; posts their points."""
        count = services.activity_confirm_all(actor=request.user, activity=self.get_object())
        return Response({"confirmed": count})


class SignupFilter(filters.FilterSet):
    mine = filters.BooleanFilter(method="filter_mine", label=_("My own sign-ups"))

    class Meta:
        model = Signup
        fields = ["activity", "status", "volunteer"]

    def filter_mine(self, queryset, name, value):
        user = self.request.user
        return (
            queryset.filter(volunteer__user=user)
            if value
            else queryset.exclude(volunteer__user=user)
        )


@extend_schema(tags=["volunteers"])
class SignupViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Sign-ups: your own, and those of activities you organise or whose grid you see."""

    serializer_class = SignupSerializer
    filterset_class = SignupFilter
    ordering_fields = ["signed_up_at"]

    def get_queryset(self) -> QuerySet[Signup]:
        return selectors.signup_list(user=self.request.user).order_by("-signed_up_at", "-pk")

    def _answer(self, signup: Signup) -> Response:
        return Response(SignupSerializer(self.get_queryset().get(pk=signup.pk)).data)

    @extend_schema(request=None, responses=answers(SignupSerializer, 403, 404, 409))
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk=None) -> Response:
        """Cancel before the cut-off (the volunteer) or before check-in (the organiser)."""
        return self._answer(services.signup_cancel(actor=request.user, signup=self.get_object()))

    @extend_schema(
        request=CodePayloadSerializer, responses=answers(SignupSerializer, 400, 403, 404, 409)
    )
    @action(detail=True, methods=["post"], url_path="check-in")
    def check_in(self, request: Request, pk=None) -> Response:
        """The organiser checks the volunteer in; the volunteer may, with the venue's code."""
        payload = CodePayloadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        signup = services.signup_check_in(
            actor=request.user, signup=self.get_object(), **payload.validated_data
        )
        return self._answer(signup)

    @extend_schema(
        request=CodePayloadSerializer, responses=answers(SignupSerializer, 400, 403, 404, 409)
    )
    @action(detail=True, methods=["post"], url_path="check-out")
    def check_out(self, request: Request, pk=None) -> Response:
        """409 before a check-in. The hours served are derived at once."""
        payload = CodePayloadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        signup = services.signup_check_out(
            actor=request.user, signup=self.get_object(), **payload.validated_data
        )
        return self._answer(signup)

    @extend_schema(
        request=ConfirmPayloadSerializer, responses=answers(SignupSerializer, 400, 403, 404, 409)
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk=None) -> Response:
        """The organiser confirms the hours (or corrects them), once; posts the points."""
        payload = ConfirmPayloadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        signup = services.signup_confirm(
            actor=request.user, signup=self.get_object(), **payload.validated_data
        )
        return self._answer(signup)

"""REST API of deliberation (网格议事): ``/api/v1/meetings/`` and ``/api/v1/agenda-items/``.

Views are thin: reads through ``selectors_meetings`` (scoped: a meeting is visible when
its grid is, anything else is a 404), writes through ``services`` (400 bad input, 403
without the right, 409 when the meeting's, item's or ticket's state does not allow it).
``register(router)`` adds the routes to the API root.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from tickets import permissions as rights
from tickets import selectors_meetings as selectors
from tickets import services
from tickets.apis import (
    ERRORS,
    ActiveCategoryField,
    ActiveUserField,
    DepartmentField,
    ReportableGridField,
    TicketPersonSerializer,
    VisibleGridField,
    VisibleTicketField,
)
from tickets.models import AgendaItem, Decision, Meeting, MeetingStatus, Ticket


def _answers(serializer, *codes: int, success: int = 200) -> dict:
    return {success: serializer, **{code: ERRORS[code] for code in codes}}


@extend_schema_field(OpenApiTypes.INT)
class VisibleMeetingField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return selectors.meeting_visible(user=self.context["request"].user)


# --- read shapes -------------------------------------------------------------------------------


class FollowUpTicketSerializer(serializers.ModelSerializer):
    class Meta:
        model = Ticket
        fields = ["id", "number", "title", "status"]
        read_only_fields = fields


class AgendaItemSerializer(serializers.ModelSerializer):
    ticket_number = serializers.CharField(
        source="ticket.number", read_only=True, allow_null=True, default=None
    )
    ticket_status = serializers.CharField(
        source="ticket.status", read_only=True, allow_null=True, default=None
    )
    subject = serializers.CharField(read_only=True)
    proposer = TicketPersonSerializer(read_only=True, allow_null=True)
    # blank until the meeting decides: declared so the schema's enum admits ""
    decision = serializers.ChoiceField(choices=Decision.choices, allow_blank=True, read_only=True)
    decision_display = serializers.CharField(source="get_decision_display", read_only=True)
    decided_by = TicketPersonSerializer(read_only=True, allow_null=True)
    is_open = serializers.BooleanField(read_only=True)
    follow_ups = FollowUpTicketSerializer(many=True, read_only=True)

    class Meta:
        model = AgendaItem
        fields = [
            "id",
            "meeting",
            "order",
            "ticket",
            "ticket_number",
            "ticket_status",
            "proposal",
            "subject",
            "proposer",
            "proposer_name",
            "decision",
            "decision_display",
            "decision_note",
            "decided_at",
            "decided_by",
            "withdrawn_at",
            "is_open",
            "follow_ups",
            "created_at",
        ]
        read_only_fields = fields


class MeetingSerializer(serializers.ModelSerializer):
    """A meeting as lists show it: counts, not the agenda."""

    grid_name = serializers.CharField(source="grid.name", read_only=True)
    tier_display = serializers.CharField(source="get_tier_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    chaired_by = TicketPersonSerializer(read_only=True, allow_null=True)
    attendee_count = serializers.IntegerField(read_only=True)
    item_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Meeting
        fields = [
            "id",
            "grid",
            "grid_name",
            "tier",
            "tier_display",
            "title",
            "venue",
            "scheduled_at",
            "held_at",
            "status",
            "status_display",
            "chaired_by",
            "attendee_count",
            "resident_attendees",
            "item_count",
            "created_at",
        ]
        read_only_fields = fields


class MeetingDetailSerializer(MeetingSerializer):
    """A meeting with its attendees, minutes, agenda and what the caller may do now."""

    # a plain string here: the status enum is documented once, on the list shape
    status = serializers.CharField(
        read_only=True, help_text=_("planned, held or cancelled, as in the list.")
    )
    attendees = TicketPersonSerializer(many=True, read_only=True)
    items = AgendaItemSerializer(many=True, read_only=True)
    allowed_actions = serializers.SerializerMethodField()

    class Meta(MeetingSerializer.Meta):
        fields = [
            *MeetingSerializer.Meta.fields,
            "attendees",
            "minutes",
            "cancel_reason",
            "items",
            "allowed_actions",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_allowed_actions(self, meeting: Meeting) -> list[str]:
        """``record``, ``cancel``, ``add_item`` (a ticket) and ``propose`` (a proposal)."""
        user = self.context["request"].user
        if meeting.status == MeetingStatus.CANCELLED:
            return []
        runs = rights.can_run_meeting(user, meeting.grid)
        actions = ["record", "cancel"] if meeting.status == MeetingStatus.PLANNED and runs else []
        if runs:
            actions.append("add_item")
        if rights.can_propose(user, meeting.grid):
            actions.append("propose")
        return actions


# --- request shapes ----------------------------------------------------------------------------


class MeetingCreateSerializer(serializers.Serializer):
    grid = VisibleGridField()
    title = serializers.CharField(max_length=200)
    venue = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    scheduled_at = serializers.DateTimeField()
    chaired_by = ActiveUserField(required=False, allow_null=True, default=None)


class MeetingRecordSerializer(serializers.Serializer):
    minutes = serializers.CharField()
    attendees = ActiveUserField(many=True, required=False, default=list)
    resident_attendees = serializers.IntegerField(min_value=0, required=False, default=0)
    held_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text=_("Default: now.")
    )
    chaired_by = ActiveUserField(required=False, allow_null=True, default=None)


class MeetingCancelSerializer(serializers.Serializer):
    reason = serializers.CharField()


class AgendaItemCreateSerializer(serializers.Serializer):
    meeting = VisibleMeetingField()
    ticket = VisibleTicketField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_("A ticket in deliberation on the meeting's grid or below it."),
    )
    proposal = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text=_("A resident's proposal, instead of a ticket."),
    )
    proposer = ActiveUserField(required=False, allow_null=True, default=None)
    proposer_name = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default=""
    )


class FollowUpSerializer(serializers.Serializer):
    category = ActiveCategoryField()
    grid = ReportableGridField()
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class AgendaItemDecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=Decision.choices)
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text=_("Required when rejecting: it becomes a rejected ticket's reason."),
    )
    follow_ups = FollowUpSerializer(many=True, required=False, default=list)
    assignee = ActiveUserField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_("Adopted ticket: dispatch it to this person."),
    )
    claim_board = serializers.BooleanField(
        default=False, help_text=_("Adopted ticket: publish it on the claim board.")
    )
    departments = DepartmentField(
        many=True,
        required=False,
        default=list,
        help_text=_("Adopted ticket: whistle it to these departments."),
    )
    close_ticket = serializers.BooleanField(
        default=False, help_text=_("Adopted ticket: close it with the decision as resolution.")
    )


# --- views ----------------------------------------------------------------------------------


@extend_schema(tags=["deliberation"])
class MeetingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Deliberation meetings (网格议事; 协商点 / 协商站 / 协商厅 by the grid's level) whose grid
    the caller may see. Staff of the grid schedule, record and cancel them."""

    filterset_class = selectors.MeetingFilter
    search_fields = ["title", "venue"]
    ordering_fields = ["scheduled_at", "held_at", "created_at"]

    def get_queryset(self) -> QuerySet[Meeting]:
        return selectors.meeting_list(user=self.request.user, with_items=self.detail)

    def get_serializer_class(self):
        return MeetingDetailSerializer if self.detail else MeetingSerializer

    def _read(self, meeting: Meeting, *, code: int = status.HTTP_200_OK) -> Response:
        fresh = selectors.meeting_list(user=self.request.user, with_items=True).get(pk=meeting.pk)
        serializer = MeetingDetailSerializer(fresh, context=self.get_serializer_context())
        return Response(serializer.data, code)

    def _payload(self, request: Request, shape) -> dict:
        payload = shape(data=request.data, context=self.get_serializer_context())
        payload.is_valid(raise_exception=True)
        return payload.validated_data

    @extend_schema(
        request=MeetingCreateSerializer,
        responses=_answers(MeetingDetailSerializer, 400, 403, success=201),
    )
    def create(self, request: Request) -> Response:
        """Schedule a meeting at a community, estate or micro grid."""
        values = self._payload(request, MeetingCreateSerializer)
        meeting = services.meeting_schedule(actor=request.user, **values)
        return self._read(meeting, code=status.HTTP_201_CREATED)

    @extend_schema(
        request=MeetingRecordSerializer,
        responses=_answers(MeetingDetailSerializer, 400, 403, 404, 409),
    )
    @action(detail=True, methods=["post"])
    def record(self, request: Request, pk=None) -> Response:
        """The meeting was held: attendees, residents without an account (a count) and
        the minutes. Decide its items afterwards with ``agenda-items/{id}/decide/``."""
        meeting = self.get_object()
        values = self._payload(request, MeetingRecordSerializer)
        return self._read(services.meeting_record(actor=request.user, meeting=meeting, **values))

    @extend_schema(
        request=MeetingCancelSerializer,
        responses=_answers(MeetingDetailSerializer, 400, 403, 404, 409),
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk=None) -> Response:
        """Call a planned meeting off; its open items are withdrawn (their tickets stay in
        deliberation for the next meeting)."""
        meeting = self.get_object()
        values = self._payload(request, MeetingCancelSerializer)
        return self._read(services.meeting_cancel(actor=request.user, meeting=meeting, **values))


@extend_schema(tags=["deliberation"])
class AgendaItemViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Items on the agenda of meetings the caller may see: a ticket in deliberation or a
    resident's proposal, and the meeting's decision on it."""

    serializer_class = AgendaItemSerializer

    def get_queryset(self) -> QuerySet[AgendaItem]:
        return selectors.agenda_item_list(user=self.request.user)

    def _read(self, item: AgendaItem, *, code: int = status.HTTP_200_OK) -> Response:
        fresh = selectors.agenda_item_list(user=self.request.user).get(pk=item.pk)
        return Response(AgendaItemSerializer(fresh).data, code)

    @extend_schema(
        request=AgendaItemCreateSerializer,
        responses=_answers(AgendaItemSerializer, 400, 403, 409, success=201),
    )
    def create(self, request: Request) -> Response:
        """Put a ticket in deliberation (staff) or a resident's proposal (anyone working on
        the grid: 群众提事) on a planned or held meeting's agenda."""
        payload = AgendaItemCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        payload.is_valid(raise_exception=True)
        item = services.meeting_add_item(actor=request.user, **payload.validated_data)
        return self._read(item, code=status.HTTP_201_CREATED)

    @extend_schema(
        request=AgendaItemDecideSerializer,
        responses=_answers(AgendaItemSerializer, 400, 403, 404, 409),
    )
    @action(detail=True, methods=["post"])
    def decide(self, request: Request, pk=None) -> Response:
        """The held meeting's decision. ``adopted`` opens ``follow_ups`` (at least one for a
        proposal) and moves a ticket on: exactly one of ``assignee``, ``claim_board``,
        ``departments``, ``close_ticket``. ``rejected`` (with a ``note``) rejects the
        ticket; ``deferred`` leaves it in deliberation for a later meeting."""
        item = self.get_object()
        payload = AgendaItemDecideSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        payload.is_valid(raise_exception=True)
        values = dict(payload.validated_data)
        values["follow_ups"] = [services.FollowUp(**row) for row in values["follow_ups"]]
        services.item_decide(actor=request.user, item=item, **values)
        return self._read(item)

    @extend_schema(request=None, responses=_answers(AgendaItemSerializer, 403, 404, 409))
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk=None) -> Response:
        """Take an open item off the agenda (its ticket was handled another way)."""
        item = services.item_withdraw(actor=request.user, item=self.get_object())
        return self._read(item)


def register(router) -> None:
    router.register("meetings", MeetingViewSet, basename="meeting")
    router.register("agenda-items", AgendaItemViewSet, basename="agenda-item")

"""REST API of tickets, whistles and categories (``/api/v1/``).

Views are thin: reads go through ``selectors`` (scoped, so a ticket one may not see is a
404), writes through ``services`` (400 for bad input, 403 without the right, 409 when the
ticket's state does not allow the transition, each with a reason in ``detail``).
"""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from governance.api.pagination import CursorPagination
from grids import scoping
from grids.models import Grid, GridKind
from residents.apis import VisibleHouseholdField
from tickets import duplicates, selectors, services
from tickets import permissions as rights
from tickets import photos as photo_rules
from tickets.deadlines import is_overdue
from tickets.filters import TicketFilter
from tickets.models import (
    Category,
    Channel,
    Rating,
    Ticket,
    TicketEvent,
    TicketPhoto,
    Whistle,
)

# --- shared fields ----------------------------------------------------------------------------


class TicketPersonSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="__str__", read_only=True)


class TicketErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="Field errors: {field: [messages]}"),
    403: OpenApiResponse(TicketErrorSerializer, description="You may not do this."),
    404: OpenApiResponse(TicketErrorSerializer, description="Not found, or outside your scope."),
    409: OpenApiResponse(TicketErrorSerializer, description="The state does not allow it."),
}


def _errors(*codes: int) -> dict:
    return {code: ERRORS[code] for code in codes}


def _answers(serializer, *codes: int) -> dict:
    """The success shape and the errors an endpoint may answer with, for the schema."""
    return {200: serializer, **_errors(*codes)}


@extend_schema_field(OpenApiTypes.INT)
class ActiveCategoryField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return Category.objects.filter(is_active=True)


@extend_schema_field(OpenApiTypes.INT)
class ReportableGridField(serializers.PrimaryKeyRelatedField):
    """Any active territorial grid: anyone may report a problem anywhere."""

    def get_queryset(self):
        return Grid.objects.filter(is_active=True).exclude(kind=GridKind.INDUSTRY)


@extend_schema_field(OpenApiTypes.INT)
class VisibleGridField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return scoping.filter_visible(Grid.objects.all(), self.context["request"].user)


@extend_schema_field(OpenApiTypes.INT)
class DepartmentField(serializers.PrimaryKeyRelatedField):
    """An industry grid; whether it serves the ticket's county is the service's check."""

    def get_queryset(self):
        return Grid.objects.filter(kind=GridKind.INDUSTRY)


@extend_schema_field(OpenApiTypes.INT)
class VisibleTicketField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return selectors.ticket_visible(user=self.context["request"].user)


@extend_schema_field(OpenApiTypes.INT)
class ActiveUserField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return get_user_model().objects.filter(is_active=True)


def mask_phone(phone: str) -> str:
    """138****5678: enough to recognise a number, not to call it."""
    if len(phone) < 8:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


# --- read shapes -------------------------------------------------------------------------------


class WhistleSerializer(serializers.ModelSerializer):
    ticket_number = serializers.CharField(source="ticket.number", read_only=True)
    department_name = serializers.CharField(source="department.name", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    reported_by = TicketPersonSerializer(read_only=True, allow_null=True)
    replied_by = TicketPersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Whistle
        fields = [
            "id",
            "ticket",
            "ticket_number",
            "department",
            "department_name",
            "status",
            "status_display",
            "report_by",
            "reported_at",
            "reported_by",
            "reply",
            "replied_at",
            "replied_by",
            "created_at",
        ]
        read_only_fields = fields


class TicketSerializer(serializers.ModelSerializer):
    """A ticket as lists and details show it, with its whistles and what the caller may do
    with it now (``allowed_actions``, the names of the transition endpoints)."""

    channel_display = serializers.CharField(source="get_channel_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    grid_name = serializers.CharField(source="grid.name", read_only=True)
    category_name = serializers.CharField(source="category.name", read_only=True)
    reporter = TicketPersonSerializer(read_only=True, allow_null=True)
    reporter_phone = serializers.SerializerMethodField()
    assignee = TicketPersonSerializer(read_only=True, allow_null=True)
    duplicate_of_number = serializers.CharField(
        source="duplicate_of.number", read_only=True, allow_null=True, default=None
    )
    # blank until the ticket is rated: declared so the schema's enum admits ""
    rating = serializers.ChoiceField(choices=Rating.choices, allow_blank=True, read_only=True)
    rating_display = serializers.CharField(source="get_rating_display", read_only=True)
    is_overdue = serializers.SerializerMethodField()
    whistles = WhistleSerializer(many=True, read_only=True)
    allowed_actions = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = [
            "id",
            "number",
            "channel",
            "channel_display",
            "status",
            "status_display",
            "grid",
            "grid_name",
            "category",
            "category_name",
            "title",
            "description",
            "lat",
            "lng",
            "address",
            "household",
            "reporter",
            "reporter_name",
            "reporter_phone",
            "assignee",
            "respond_by",
            "resolve_by",
            "responded_at",
            "resolved_at",
            "closed_at",
            "is_overdue",
            "duplicate_of",
            "duplicate_of_number",
            "reject_reason",
            "rating",
            "rating_display",
            "rating_comment",
            "rated_at",
            "created_at",
            "updated_at",
            "whistles",
            "allowed_actions",
        ]
        read_only_fields = fields

    @property
    def _user(self):
        return self.context["request"].user

    @extend_schema_field(OpenApiTypes.STR)
    def get_reporter_phone(self, ticket: Ticket) -> str:
        """In full for those who call the reporter back; masked for everyone else."""
        phone = ticket.reporter_phone
        user = self._user
        if not phone or rights.may_see_reporter_phone(user, ticket):
            return phone
        return mask_phone(phone)

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_is_overdue(self, ticket: Ticket) -> bool:
        return is_overdue(ticket)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_allowed_actions(self, ticket: Ticket) -> list[str]:
        return rights.allowed_actions(self._user, ticket)


class TicketEventSerializer(serializers.ModelSerializer):
    actor = TicketPersonSerializer(read_only=True, allow_null=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    # plain strings: the status enum is documented once, on the ticket
    from_status = serializers.CharField(read_only=True)
    to_status = serializers.CharField(read_only=True)
    data = serializers.JSONField(read_only=True)

    class Meta:
        model = TicketEvent
        fields = [
            "id",
            "kind",
            "kind_display",
            "actor",
            "from_status",
            "to_status",
            "note",
            "data",
            "created_at",
        ]
        read_only_fields = fields


class TicketCategorySerializer(serializers.ModelSerializer):
    department = DepartmentField(allow_null=True, required=False)
    parent = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = Category
        fields = [
            "id",
            "name",
            "code",
            "parent",
            "level",
            "respond_within",
            "resolve_within",
            "report_within",
            "default_route",
            "department",
            "allows_anonymous",
            "auto_dispatch",
            "is_active",
        ]
        read_only_fields = ["level"]
        # the service owns the rules (unique code included)
        extra_kwargs = {"code": {"validators": []}}


class TicketDepartmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Grid
        fields = ["id", "name", "code"]
        read_only_fields = fields


class TicketPhotoSerializer(serializers.ModelSerializer):
    """A photo of the report (``event`` null) or of a timeline event; the files are read
    through ``url`` and ``thumbnail_url`` with the same authentication."""

    uploaded_by = TicketPersonSerializer(read_only=True, allow_null=True)
    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = TicketPhoto
        fields = [
            "id",
            "event",
            "width",
            "height",
            "byte_size",
            "uploaded_by",
            "created_at",
            "url",
            "thumbnail_url",
        ]
        read_only_fields = fields

    def _url(self, photo: TicketPhoto, *, thumbnail: bool) -> str:
        path = reverse("ticket-photo", kwargs={"pk": photo.ticket_id, "photo_pk": photo.pk})
        return self.context["request"].build_absolute_uri(
            path + ("?size=thumbnail" if thumbnail else "")
        )

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, photo: TicketPhoto) -> str:
        return self._url(photo, thumbnail=False)

    @extend_schema_field(OpenApiTypes.URI)
    def get_thumbnail_url(self, photo: TicketPhoto) -> str:
        return self._url(photo, thumbnail=True)


class PossibleDuplicateTicketSerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    grid_name = serializers.CharField(source="grid.name", read_only=True)

    class Meta:
        model = Ticket
        fields = [
            "id",
            "number",
            "title",
            "status",
            "status_display",
            "grid",
            "grid_name",
            "address",
            "lat",
            "lng",
            "created_at",
        ]
        read_only_fields = fields


class PossibleDuplicateSerializer(serializers.Serializer):
    ticket = PossibleDuplicateTicketSerializer(read_only=True)
    distance_m = serializers.FloatField(
        read_only=True,
        allow_null=True,
        help_text=_("Metres between the two reports; null when matched by grid."),
    )
    hours_apart = serializers.FloatField(
        read_only=True, help_text=_("Hours by which the other ticket was reported earlier.")
    )


class PossibleDuplicateQuerySerializer(serializers.Serializer):
    radius = serializers.IntegerField(
        min_value=10, max_value=duplicates.MAX_RADIUS_M, default=duplicates.DEFAULT_RADIUS_M
    )
    hours = serializers.IntegerField(
        min_value=1,
        max_value=int(duplicates.MAX_WINDOW.total_seconds() // 3600),
        default=int(duplicates.DEFAULT_WINDOW.total_seconds() // 3600),
    )


# --- request shapes ----------------------------------------------------------------------------


class TicketCreateSerializer(serializers.Serializer):
    category = ActiveCategoryField()
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    grid = ReportableGridField(required=False, allow_null=True, default=None)
    lat = serializers.FloatField(
        required=False, allow_null=True, default=None, min_value=-90, max_value=90
    )
    lng = serializers.FloatField(
        required=False, allow_null=True, default=None, min_value=-180, max_value=180
    )
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    household = VisibleHouseholdField(required=False, allow_null=True, default=None)
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.API)
    anonymous = serializers.BooleanField(
        default=False,
        help_text=_(
            "Report for someone without an account (phone number required); "
            "a 12345 hotline order is always entered this way."
        ),
    )
    reporter_name = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default=""
    )
    reporter_phone = serializers.CharField(
        max_length=20, required=False, allow_blank=True, default=""
    )
    # Checked by content in ``tickets.photos`` (not by name or declared type), so the
    # service gives the one message for every way a file can be wrong.
    photos = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True),
        required=False,
        default=list,
        help_text=_(
            "Up to 5 JPEG, PNG or WebP images of at most 10 MB each (multipart/form-data). "
            "Without lat/lng, the first photo's EXIF GPS position is used; EXIF is removed."
        ),
    )


class TicketNoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class TicketDispatchSerializer(TicketNoteSerializer):
    assignee = ActiveUserField(required=False, allow_null=True, default=None)
    claim_board = serializers.BooleanField(default=False)
    departments = DepartmentField(many=True, required=False, default=list)


class TicketWhistleSerializer(TicketNoteSerializer):
    departments = DepartmentField(many=True, allow_empty=False)


class TicketRateSerializer(serializers.Serializer):
    rating = serializers.ChoiceField(choices=Rating.choices)
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class TicketRejectSerializer(serializers.Serializer):
    reason = serializers.CharField()


class TicketReturnSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text=_("Why the order is not ours; the hotline is told."))


class TicketDuplicateSerializer(TicketNoteSerializer):
    original = VisibleTicketField()


class TicketRerouteSerializer(TicketNoteSerializer):
    category = ActiveCategoryField(required=False, allow_null=True, default=None)
    grid = VisibleGridField(required=False, allow_null=True, default=None)


class WhistleReplySerializer(serializers.Serializer):
    reply = serializers.CharField()


# --- views ----------------------------------------------------------------------------------


@extend_schema(tags=["tickets"])
class TicketViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Tickets (工单) the caller may see: by grid scope, as reporter, or as a whistled
    department. Transitions are POST actions named as in ``allowed_actions``."""

    serializer_class = TicketSerializer
    pagination_class = CursorPagination
    filterset_class = TicketFilter
    search_fields = ["number", "title", "address"]
    ordering_fields = ["created_at", "respond_by", "resolve_by", "number"]

    def get_queryset(self) -> QuerySet[Ticket]:
        return selectors.ticket_list(user=self.request.user)

    def _read(self, ticket: Ticket, *, code: int = status.HTTP_200_OK) -> Response:
        """The ticket after a write, read afresh (the writer may no longer see it by scope,
        e.g. an anonymous report entered by an integrator: they still get the answer)."""
        fresh = selectors.ticket_with_relations(pk=ticket.pk)
        return Response(TicketSerializer(fresh, context=self.get_serializer_context()).data, code)

    def _transition(self, request: Request, service, payload_class=None) -> Response:
        ticket = self.get_object()
        values = {}
        if payload_class is not None:
            payload = payload_class(data=request.data, context=self.get_serializer_context())
            payload.is_valid(raise_exception=True)
            values = payload.validated_data
        service(actor=request.user, ticket=ticket, **values)
        return self._read(ticket)

    @extend_schema(
        request=TicketCreateSerializer, responses={201: TicketSerializer, **_errors(400, 403)}
    )
    def create(self, request: Request) -> Response:
        """Report a problem. Without ``grid`` the coordinates locate it (随手拍)."""
        payload = TicketCreateSerializer(data=request.data, context=self.get_serializer_context())
        payload.is_valid(raise_exception=True)
        values = dict(payload.validated_data)
        anonymous = values.pop("anonymous") or values["channel"] == Channel.HOTLINE
        ticket = services.ticket_open(
            actor=request.user, reporter=None if anonymous else request.user, **values
        )
        return self._read(ticket, code=status.HTTP_201_CREATED)

    @extend_schema(
        request=TicketDispatchSerializer, responses=_answers(TicketSerializer, 400, 403, 404, 409)
    )
    # not named ``dispatch``: that is the method every Django view routes requests through
    @action(detail=True, methods=["post"], url_path="dispatch", url_name="dispatch")
    def dispatch_ticket(self, request: Request, pk=None) -> Response:
        """社区派单: to a person (``assignee``), to the claim board (``claim_board``) or to
        departments (``departments``): exactly one."""
        return self._transition(request, services.ticket_dispatch, TicketDispatchSerializer)

    @extend_schema(
        request=TicketNoteSerializer, responses=_answers(TicketSerializer, 403, 404, 409)
    )
    @action(detail=True, methods=["post"])
    def claim(self, request: Request, pk=None) -> Response:
        """党员接单: the first claim wins; the others get 409."""
        return self._transition(request, services.ticket_claim, TicketNoteSerializer)

    @extend_schema(
        request=TicketNoteSerializer, responses=_answers(TicketSerializer, 403, 404, 409)
    )
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk=None) -> Response:
        return self._transition(request, services.ticket_accept, TicketNoteSerializer)

    @extend_schema(
        request=TicketNoteSerializer, responses=_answers(TicketSerializer, 403, 404, 409)
    )
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk=None) -> Response:
        return self._transition(request, services.ticket_start, TicketNoteSerializer)

    @extend_schema(
        request=TicketWhistleSerializer,
        responses=_answers(TicketSerializer, 400, 403, 404, 409),
    )
    @action(detail=True, methods=["post"])
    def whistle(self, request: Request, pk=None) -> Response:
        """网格吹哨: call one or more departments (industry grids of the county) in."""
        return self._transition(request, services.ticket_whistle, TicketWhistleSerializer)

    @extend_schema(
        request=TicketNoteSerializer, responses=_answers(TicketSerializer, 403, 404, 409)
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk=None) -> Response:
        return self._transition(request, services.ticket_resolve, TicketNoteSerializer)

    @extend_schema(
        request=TicketRateSerializer, responses=_answers(TicketSerializer, 400, 403, 404, 409)
    )
    @action(detail=True, methods=["post"])
    def rate(self, request: Request, pk=None) -> Response:
        """闭环评事: satisfied closes the ticket, unsatisfied reopens it."""
        return self._transition(request, services.ticket_rate, TicketRateSerializer)

    @extend_schema(
        request=TicketNoteSerializer, responses=_answers(TicketSerializer, 403, 404, 409)
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk=None) -> Response:
        return self._transition(request, services.ticket_reopen, TicketNoteSerializer)

    @extend_schema(
        request=TicketRejectSerializer, responses=_answers(TicketSerializer, 400, 403, 404, 409)
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk=None) -> Response:
        return self._transition(request, services.ticket_reject, TicketRejectSerializer)

    @extend_schema(
        request=TicketReturnSerializer, responses=_answers(TicketSerializer, 400, 403, 404, 409)
    )
    # ``return`` is a Python keyword: the method has another name, the URL is ``return/``
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_to_hotline(self, request: Request, pk=None) -> Response:
        """退单: send a 12345 order nobody has taken on yet back to the hotline, with the
        reason (409 for a ticket from another channel or in another status)."""
        return self._transition(request, services.ticket_return, TicketReturnSerializer)

    @extend_schema(
        request=TicketDuplicateSerializer,
        responses=_answers(TicketSerializer, 400, 403, 404, 409),
    )
    @action(detail=True, methods=["post"])
    def duplicate(self, request: Request, pk=None) -> Response:
        """Close this ticket as a duplicate of ``original``; its reporter follows that one."""
        return self._transition(request, services.ticket_mark_duplicate, TicketDuplicateSerializer)

    @extend_schema(
        request=TicketRerouteSerializer, responses=_answers(TicketSerializer, 400, 403, 404, 409)
    )
    @action(detail=True, methods=["post"])
    def reroute(self, request: Request, pk=None) -> Response:
        """Correct the category and/or grid; the policy and route apply afresh."""
        return self._transition(request, services.ticket_reroute, TicketRerouteSerializer)

    @extend_schema(
        request=TicketNoteSerializer, responses=_answers(TicketSerializer, 403, 404, 409)
    )
    @action(detail=True, methods=["post"])
    def deliberate(self, request: Request, pk=None) -> Response:
        """网格议事: put the ticket before the grid's deliberation."""
        return self._transition(request, services.ticket_send_to_deliberation, TicketNoteSerializer)

    @extend_schema(responses={200: TicketEventSerializer(many=True), **_errors(404)})
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def timeline(self, request: Request, pk=None) -> Response:
        """The ticket's events, oldest first: who did what, when, from which status to which."""
        events = selectors.ticket_timeline(ticket=self.get_object())
        return Response(TicketEventSerializer(events, many=True).data)

    @extend_schema(responses={200: TicketDepartmentSerializer(many=True), **_errors(404)})
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def departments(self, request: Request, pk=None) -> Response:
        """The departments this ticket can be whistled to (its county's industry grids)."""
        grids = selectors.ticket_departments(ticket=self.get_object())
        return Response(TicketDepartmentSerializer(grids, many=True).data)

    # --- possible duplicates and photos (随手拍) --------------------------------------------

    @extend_schema(
        parameters=[PossibleDuplicateQuerySerializer],
        responses={200: PossibleDuplicateSerializer(many=True), **_errors(400, 403, 404)},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="possible-duplicates",
        url_name="possible-duplicates",
        pagination_class=None,
        filter_backends=[],
    )
    def possible_duplicates(self, request: Request, pk=None) -> Response:
        """Open tickets of the same category reported near this one (default 200 m) and
        close in time (default 72 h), nearest first: offered to the dispatcher (staff of
        the ticket), never merged; mark one with ``duplicate``."""
        ticket = self.get_object()
        if not rights.is_staff(request.user, ticket):
            raise exceptions.PermissionDenied(_("Only the ticket's dispatchers see this."))
        query = PossibleDuplicateQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        found = duplicates.possible_duplicates(
            ticket,
            user=request.user,
            radius_m=query.validated_data["radius"],
            window=datetime.timedelta(hours=query.validated_data["hours"]),
        )
        return Response(PossibleDuplicateSerializer(found, many=True).data)

    @extend_schema(responses={200: TicketPhotoSerializer(many=True), **_errors(404)})
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def photos(self, request: Request, pk=None) -> Response:
        """The report's photos and those of its events, oldest first (EXIF removed)."""
        ticket = self.get_object()
        rows = ticket.photos.select_related("uploaded_by").order_by("created_at", "pk")
        return Response(
            TicketPhotoSerializer(rows, many=True, context=self.get_serializer_context()).data
        )

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "size",
                str,
                enum=["full", "thumbnail"],
                description=f"thumbnail: at most {photo_rules.THUMBNAIL_EDGE} px",
            )
        ],
        responses={(200, "image/jpeg"): OpenApiTypes.BINARY, **_errors(404)},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"photos/(?P<photo_pk>[0-9]+)",
        url_name="photo",
        pagination_class=None,
        filter_backends=[],
    )
    def photo(self, request: Request, pk=None, photo_pk=None) -> FileResponse:
        """One photo's file (JPEG) to whoever may see the ticket: never a public media
        URL, since photos show people's homes."""
        ticket = self.get_object()
        photo = get_object_or_404(TicketPhoto, pk=photo_pk, ticket=ticket)
        field = photo.thumbnail if request.query_params.get("size") == "thumbnail" else photo.image
        try:
            response = FileResponse(field.open("rb"), content_type="image/jpeg")
        except FileNotFoundError as exc:
            raise Http404 from exc
        patch_cache_control(response, private=True, max_age=3600)
        return response


@extend_schema_serializer(component_name="ClaimableTicket")
class ClaimableTicketSerializer(TicketSerializer):
    """A ticket as everywhere else. A component of its own in the schema only: the claim
    board's pages are numbered while the tickets' list pages by cursor, and two lists of
    one component would share one ``PaginatedTicketList`` (the second shape was lost)."""


@extend_schema(tags=["tickets"])
class ClaimBoardViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """党员接单: tickets on the claim board that the caller may claim, most urgent first.
    Claim one with ``POST /api/v1/tickets/{id}/claim/``."""

    serializer_class = ClaimableTicketSerializer
    filterset_class = TicketFilter
    search_fields = ["number", "title", "address"]

    def get_queryset(self) -> QuerySet[Ticket]:
        return selectors.claim_board(user=self.request.user)


@extend_schema(tags=["tickets"])
class WhistleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Whistles (网格吹哨) of tickets the caller sees, and those to the caller's department."""

    serializer_class = WhistleSerializer
    filterset_fields = ["status", "department", "ticket"]

    def get_queryset(self) -> QuerySet[Whistle]:
        return selectors.whistle_list(user=self.request.user)

    def _read(self, whistle: Whistle) -> Response:
        fresh = selectors.whistle_list(user=self.request.user).get(pk=whistle.pk)
        return Response(WhistleSerializer(fresh, context=self.get_serializer_context()).data)

    @extend_schema(
        request=TicketNoteSerializer, responses=_answers(WhistleSerializer, 403, 404, 409)
    )
    @action(detail=True, methods=["post"], url_path="report-in")
    def report_in(self, request: Request, pk=None) -> Response:
        """部门报到: the department acknowledges the whistle."""
        payload = TicketNoteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        whistle = services.whistle_report_in(
            actor=request.user, whistle=self.get_object(), **payload.validated_data
        )
        return self._read(whistle)

    @extend_schema(
        request=WhistleReplySerializer, responses=_answers(WhistleSerializer, 400, 403, 404, 409)
    )
    @action(detail=True, methods=["post"])
    def reply(self, request: Request, pk=None) -> Response:
        """The department's reply; it joins the ticket's timeline."""
        payload = WhistleReplySerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        whistle = services.whistle_reply(
            actor=request.user, whistle=self.get_object(), **payload.validated_data
        )
        return self._read(whistle)


class ReadForAllWriteForSuperusers(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method in permissions.SAFE_METHODS or request.user.is_superuser


@extend_schema(tags=["tickets"])
class CategoryViewSet(viewsets.ModelViewSet):
    """Ticket categories with their deadline policy and route; administrators edit them."""

    serializer_class = TicketCategorySerializer
    permission_classes = [ReadForAllWriteForSuperusers]
    filterset_fields = ["is_active", "default_route", "parent"]
    search_fields = ["name", "code"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Category]:
        return Category.objects.select_related("department").order_by("tree_id", "lft")

    def perform_create(self, serializer):
        serializer.instance = services.category_create(
            actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.category_update(
            actor=self.request.user, category=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.category_delete(actor=self.request.user, category=instance)


def register(router) -> None:
    router.register("tickets", TicketViewSet, basename="ticket")
    router.register("claim-board", ClaimBoardViewSet, basename="claim-board")
    router.register("whistles", WhistleViewSet, basename="whistle")
    router.register("ticket-categories", CategoryViewSet, basename="ticket-category")
    # imported here: both modules import this one's fields
    from tickets import apis_meetings, apis_notifications

    apis_meetings.register(router)
    apis_notifications.register(router)

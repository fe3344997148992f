"""Every write of the hotline app: receiving an order (from a file or the API), placing
one by hand, returning one (退单), and the import jobs.

An order is received in its own transaction, under a row lock on the order when it is
known: two imports of one order at once give one order and one ticket (the second finds
the first's row, or fails on the order number's unique constraint and reads it again).
Rows are not all written in one transaction, unlike the residents' import: opening a
ticket locks the day's ticket-number sequence until its transaction commits, and one
transaction around a thousand orders would stop every other report of the day until it
ended. Each row is idempotent instead, so an interrupted import is finished by running
the same file again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from governance.errors import Conflict
from governance.queueing import enqueue_on_commit
from grids import scoping
from grids.models import Grid, GridKind
from hotline.columns import COMPARED, OrderValues, column_label, title_from
from hotline.files import EXTENSIONS, MAX_BYTES
from hotline.matching import Matcher, Placement
from hotline.models import HotlineImport, HotlineOrder, OrderStatus
from residents.models import ImportStatus
from residents.personal_data import validate_phone
from tickets import services as ticket_services
from tickets import states
from tickets.models import Category, Channel, Ticket

# What receiving one order did (the row report's "action").
OPEN = "open"  # a ticket was opened (a new order, or a listed one that can now be placed)
STAGE = "stage"  # kept in the list for a dispatcher, with the reason (new or changed)
UPDATE = "update"  # a known order changed: its fields and its ticket's were updated
UNCHANGED = "unchanged"
DUPLICATE = "duplicate"  # the same order again later in the file: the later line is used
REFUSED = "refused"  # a value could not be read, or another desk holds the order
ACTIONS = (OPEN, STAGE, UPDATE, UNCHANGED, DUPLICATE, REFUSED)
WRITING = (OPEN, STAGE, UPDATE)


def _refusal(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return getattr(exc, "message", "") or str(exc) or _("You may not do this.")


# --- the area (the desk's subtree) ----------------------------------------------------------


def default_area(user) -> Grid | None:
    """The one top grid of what the user may change (a single-tree superuser: its root),
    or ``None`` when there are several or none and the user must choose."""
    scope = scoping.scope_for(user)
    if scope.is_global:
        tops = Grid.objects.filter(parent__isnull=True, is_active=True)
    else:
        condition = Q(pk__in=[])
        for tree_id, lft, _rght in scope.change:
            condition |= Q(tree_id=tree_id, lft=lft)
        tops = Grid.objects.filter(condition, is_active=True)
    tops = list(tops.exclude(kind=GridKind.INDUSTRY)[:2])
    return tops[0] if len(tops) == 1 else None


def check_area(actor, area: Grid | None) -> Grid:
    """The area orders are received for: an active territorial grid the actor may change."""
    scope = scoping.scope_for(actor)
    if not (scope.is_global or scope.change):
        raise PermissionDenied(_("Only community staff and grid leaders receive 12345 orders."))
    if area is None:
        area = default_area(actor)
        if area is None:
            raise ValidationError({"area": _("Choose the area the orders are for.")})
    area = Grid.objects.filter(pk=area.pk).first()  # fresh bounds: the tree may have moved
    if area is None or not area.is_active or area.kind == GridKind.INDUSTRY:
        raise ValidationError({"area": _("Choose an active territorial grid.")})
    if not scoping.can_change(actor, area):
        raise PermissionDenied(_("Only the staff of this area receive its 12345 orders."))
    return area


# --- deciding ------------------------------------------------------------------------------


@dataclass
class Decision:
    action: str
    reason: str = ""
    placement: Placement | None = None
    changed: list[str] = field(default_factory=list)


def changed_fields(order: HotlineOrder, values: OrderValues) -> list[str]:
    received = values.compared()
    return [name for name in COMPARED if getattr(order, name) != received[name]]


def decide(values: OrderValues, existing: HotlineOrder | None, matcher: Matcher, actor) -> Decision:
    """What receiving ``values`` does, without writing: the dry run and the real run ask
    the same question, so they give the same verdict on the same data. Reasons are
    written in the site's language whoever asks, so that comparing a listed order's
    stored reason with today's never depends on the importer's language."""
    with translation.override(settings.LANGUAGE_CODE):
        return _decide(values, existing, matcher, actor)


def _decide(values: OrderValues, existing: HotlineOrder | None, matcher: Matcher, actor):
    if existing is None:
        placement = matcher.place(values)
        return Decision(OPEN if placement.placeable else STAGE, placement.reason, placement)
    if not scoping.can_change(actor, existing.area):
        return Decision(REFUSED, _("Another desk holds this order (its area is not yours)."))
    changed = changed_fields(existing, values)
    if existing.status != OrderStatus.UNPLACEABLE:
        if not changed:
            return Decision(UNCHANGED)
        return Decision(UPDATE, _describe_changes(changed), changed=changed)
    placement = matcher.place(values)
    if placement.placeable:
        return Decision(OPEN, "", placement, changed)
    same_category = (placement.category.pk if placement.category else None) == existing.category_id
    if changed or placement.reason != existing.reason or not same_category:
        return Decision(STAGE, placement.reason, placement, changed)
    return Decision(UNCHANGED, existing.reason)


def _describe_changes(changed: list[str]) -> str:
    columns = ", ".join(column_label(COMPARED[name]) for name in changed)
    return _("Changed: %(fields)s.") % {"fields": columns}


# --- writing one order -------------------------------------------------------------------------


@dataclass
class Received:
    action: str
    reason: str
    order: HotlineOrder | None
    grid: Grid | None = None
    created: bool = False  # the order was not known before

    @property
    def ticket(self) -> Ticket | None:
        return self.order.ticket if self.order is not None else None


def find_order(values: OrderValues, *, lock: bool = False) -> HotlineOrder | None:
    """The known order these values belong to: by number, or, without one, by fingerprint."""
    orders = HotlineOrder.objects.select_related("area", "ticket")
    if lock:
        orders = orders.select_for_update(of=("self",))
    if values.number:
        return orders.filter(number=values.number).first()
    return orders.filter(fingerprint=values.fingerprint).first()


def receive_order(*, actor, area: Grid, values: OrderValues, matcher: Matcher) -> Received:
    """Receive one order: open its ticket, list it for a dispatcher, update it, or leave it
    as it is. One transaction; a concurrent first insert of the same order is retried once
    as the update it then is."""
    for attempt in (1, 2):
        try:
            with transaction.atomic(), translation.override(settings.LANGUAGE_CODE):
                existing = find_order(values, lock=True)
                decision = decide(values, existing, matcher, actor)
                return _carry_out(actor, area, values, existing, decision)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _new_order(actor, area: Grid, values: OrderValues) -> HotlineOrder:
    return HotlineOrder(
        area=area,
        number=values.number,
        fingerprint="" if values.number else values.fingerprint,
        received_by=actor if actor is not None and actor.is_authenticated else None,
    )


def _assign(order: HotlineOrder, values: OrderValues) -> None:
    received = values.compared()
    for name in COMPARED:
        setattr(order, name, received[name])


def _carry_out(
    actor, area: Grid, values: OrderValues, existing: HotlineOrder | None, decision: Decision
) -> Received:
    if decision.action not in WRITING:
        return Received(decision.action, decision.reason, existing)
    order = existing or _new_order(actor, area, values)
    created = existing is None
    _assign(order, values)
    if existing is not None and decision.changed:
        order.revisions += 1
    placement = decision.placement
    if decision.action == UPDATE:
        order.save()
        note = _sync_ticket(order, decision.changed)
        return Received(UPDATE, " ".join(filter(None, [decision.reason, note])), order)
    order.category = placement.category
    if decision.action == STAGE:
        order.status, order.reason = OrderStatus.UNPLACEABLE, placement.reason
        order.save()
        return Received(STAGE, placement.reason, order, created=created)
    if order.pk is None:
        order.status, order.reason = OrderStatus.UNPLACEABLE, ""
        order.save()  # claims the order number before the ticket is opened
    try:
        with transaction.atomic():
            ticket = _open_ticket(
                actor,
                order,
                grid=placement.grid,
                category=placement.category,
                phone=placement.phone,
            )
    except (ValidationError, PermissionDenied, Conflict) as exc:
        order.status, order.reason = OrderStatus.UNPLACEABLE, _refusal(exc)
        order.save()
        return Received(STAGE, order.reason, order, created=created)
    order.status, order.reason, order.ticket = OrderStatus.PLACED, "", ticket
    order.save()
    return Received(OPEN, "", order, placement.grid, created=created)


def _open_ticket(actor, order: HotlineOrder, *, grid: Grid, category: Category, phone: str):
    """The order's ticket: channel hotline, the order number as external number, the
    caller as reporter name and phone (no account), then the hotline's deadline."""
    ticket = ticket_services.ticket_open(
        actor=actor,
        category=category,
        title=title_from(order.content),
        channel=Channel.HOTLINE,
        description=order.content,
        grid=grid,
        lat=order.lat,
        lng=order.lng,
        address=order.address[:200],
        reporter=None,
        reporter_name=order.caller,
        reporter_phone=phone,
        external_number=order.number,
    )
    _tighten_deadline(ticket, order.deadline)
    return ticket


def _tighten_deadline(ticket: Ticket, deadline) -> bool:
    """The hotline's deadline (办理时限) is ours when it is earlier than our policy's
    resolution deadline; the response deadline then may not come after it. It only ever
    tightens: a later one never loosens our policy."""
    if deadline is None or ticket.status not in states.OPEN or deadline >= ticket.resolve_by:
        return False
    ticket.resolve_by = deadline
    ticket.respond_by = min(ticket.respond_by, deadline)
    ticket.save(update_fields=["resolve_by", "respond_by", "updated_at"])
    return True


def _sync_ticket(order: HotlineOrder, changed: list[str]) -> str:
    """Carry a changed order onto its ticket while the ticket is not finished: the words
    (title and description), the caller, a valid phone, the address, a tighter deadline.
    Grid and category stay as our dispatchers left them."""
    if order.ticket_id is None or not changed:
        return ""
    ticket = Ticket.objects.select_for_update(of=("self",)).get(pk=order.ticket_id)
    if ticket.status in states.FINISHED:
        return _("Its ticket is finished and keeps its text.")
    fields: list[str] = []
    note = ""
    if "content" in changed:
        ticket.title, ticket.description = title_from(order.content), order.content
        fields += ["title", "description"]
    if "caller" in changed:
        ticket.reporter_name = order.caller
        fields.append("reporter_name")
    if "phone" in changed:
        try:
            ticket.reporter_phone = validate_phone(order.phone)
            fields.append("reporter_phone")
        except ValidationError:
            note = _("The new phone number is not valid; the ticket keeps the old one.")
    if "address" in changed:
        ticket.address = order.address[:200]
        fields.append("address")
    if fields:
        ticket.save(update_fields=[*fields, "updated_at"])
    if "deadline" in changed:
        _tighten_deadline(ticket, order.deadline)
    return note


# --- one order over the API ---------------------------------------------------------------------


def order_receive(*, actor, values: OrderValues, area: Grid | None = None) -> Received:
    """``POST /api/v1/hotline/orders/``: the same as one row of a file. Sending the same
    order again changes nothing; a changed one updates the order and its ticket."""
    area = check_area(actor, area)
    if not values.number:
        raise ValidationError({"number": _("Give the order number (工单编号).")})
    matcher = Matcher(user=actor, area=area)
    received = receive_order(actor=actor, area=area, values=values, matcher=matcher)
    if received.action == REFUSED:
        raise Conflict(received.reason, code="other_desk")
    return received


# --- by hand: place, return ------------------------------------------------------------------


def check_handler(actor, order: HotlineOrder) -> None:
    """Placing and returning an order by hand is for the staff of its area."""
    if not scoping.can_change(actor, order.area):
        raise PermissionDenied(_("Only the staff of the order's area place or return it."))


def _locked(order: HotlineOrder) -> HotlineOrder:
    return (
        HotlineOrder.objects.select_for_update(of=("self",))
        .select_related("area", "ticket", "category")
        .get(pk=order.pk)
    )


@transaction.atomic
def order_place(
    *,
    actor,
    order: HotlineOrder,
    grid: Grid | None,
    category: Category | None = None,
    phone: str = "",
    number: str = "",
) -> HotlineOrder:
    """A dispatcher places a listed order: on ``grid``, with ``category`` (else the one
    its 诉求分类 named), calling back on ``phone`` (else the order's own), under
    ``number`` when the hotline sent none. The ticket opens as an imported one would; the
    order's received fields stay as the hotline sent them."""
    order = _locked(order)
    if order.status != OrderStatus.UNPLACEABLE:
        raise Conflict(_("This order is not waiting to be placed."), code="not_unplaceable")
    check_handler(actor, order)
    errors: dict[str, str] = {}
    if grid is None:
        errors["grid"] = _("Choose the grid.")
    number = (number or "").strip() or order.number
    if not number:
        errors["number"] = _("The hotline sent no number: enter the order number.")
    elif number != order.number and HotlineOrder.objects.filter(number=number).exists():
        errors["number"] = _("Another order has this number.")
    category = category or order.category
    if category is None:
        errors["category"] = _("Choose the category.")
    raw_phone = (phone or "").strip() or order.phone
    try:
        phone = validate_phone(raw_phone) if raw_phone else ""
        if not phone:
            errors["phone"] = _("Enter the number to call the caller back on.")
    except ValidationError as exc:
        errors["phone"] = " ".join(exc.messages)
    if errors:
        raise ValidationError(errors)
    order.number = number
    try:
        with transaction.atomic():
            ticket = _open_ticket(actor, order, grid=grid, category=category, phone=phone)
    except ValidationError as exc:
        if hasattr(exc, "error_dict") and "reporter_phone" in exc.error_dict:
            raise ValidationError({"phone": exc.error_dict["reporter_phone"]}) from exc
        raise
    order.category, order.ticket = category, ticket
    order.status, order.reason = OrderStatus.PLACED, ""
    order.save()
    return order


@transaction.atomic
def order_return(*, actor, order: HotlineOrder, reason: str) -> HotlineOrder:
    """退单 from the list: a placed order's ticket goes back (``ticket_return``, which
    checks its state and the right); a listed order that never became a ticket goes
    back directly, by the staff of its area."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the order goes back to the hotline.")})
    order = _locked(order)
    if order.status == OrderStatus.RETURNED:
        raise Conflict(_("This order has already been returned."), code="returned")
    if order.ticket_id is not None:
        ticket_services.ticket_return(actor=actor, ticket=order.ticket, reason=reason)
        order.refresh_from_db()  # the ticket's event updated the order (``receivers``)
        return order
    check_handler(actor, order)
    order.status, order.return_reason = OrderStatus.RETURNED, reason
    order.returned_at = timezone.now()
    order.save()
    return order


# --- import jobs -------------------------------------------------------------------------------


def check_upload(upload) -> None:
    if not upload.name.lower().endswith(EXTENSIONS):
        raise ValidationError({"file": _("Upload an .xlsx or .csv file.")})
    if upload.size > MAX_BYTES:
        raise ValidationError({"file": _("The file is larger than 20 MB.")})


@transaction.atomic
def import_job_start(*, actor, upload, area: Grid | None = None) -> HotlineImport:
    """Store the upload and queue its dry run after the commit."""
    from hotline.tasks import import_plan_task

    area = check_area(actor, area)
    check_upload(upload)
    job = HotlineImport.objects.create(
        created_by=actor, area=area, file=upload, original_name=upload.name[:200]
    )
    enqueue_on_commit(import_plan_task, job.pk)
    return job


@transaction.atomic
def import_job_confirm(*, actor, job: HotlineImport) -> HotlineImport:
    """Queue the real import of a checked job (only its uploader confirms it)."""
    from hotline.tasks import import_apply_task

    job = HotlineImport.objects.select_for_update().get(pk=job.pk)
    if job.created_by_id != actor.pk:
        raise PermissionDenied(_("Only the person who uploaded it can confirm it."))
    if job.status != ImportStatus.PLANNED:
        raise Conflict(_("This import is not waiting for confirmation."), code="not_planned")
    enqueue_on_commit(import_apply_task, job.pk)
    return job


# --- the export -------------------------------------------------------------------------------


def orders_export(
    *,
    user,
    orders,
    file_format: str,
    encoding: str = "utf-8",
    ip_address: str | None = None,
    path: str = "",
) -> tuple[bytes, str, str]:
    """The export file (``(content, content type, file name)``) and one line in the
    personal data access log: the file carries the callers' phone numbers in full, which
    the hotline needs to call them back, so who took them, when and from where is kept
    like any other read in clear."""
    from hotline.exporting import export_file
    from residents.models import PersonalDataAccess

    exported = export_file(orders, file_format=file_format, encoding=encoding)
    PersonalDataAccess.objects.create(
        user=user,
        fields="phone (12345 export)",
        ip_address=ip_address,
        path=path[:200],
    )
    return exported

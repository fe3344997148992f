"""Writes of the webhooks: subscriptions (create, change, rotate the secret, delete) and
the replay of a delivery. One function per change, keyword-only, atomic.

Who may: a subscription belongs to its owner, the user who created it; only the owner
(or a superuser) changes, deletes, rotates or replays (others get ``PermissionDenied``;
the API does not even show them: 404). A user subscribes only to a grid in their scope
(``grids.scoping.can_view``): an integrator account needs a grid assignment covering the
grid (any role; a district leader's read-only one is enough), or to be a superuser.
Being ``is_staff`` alone gives no scope. Departments (industry grids) hold no tickets of
their own and cannot be subscribed to.

Errors: ``ValidationError`` keyed by field (400), ``PermissionDenied`` (403), ``Conflict``
(409) for a replay while the delivery is being sent or its subscription is inactive.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from governance.errors import Conflict
from governance.queueing import enqueue_on_commit
from grids import scoping
from grids.models import Grid, GridKind
from webhooks import signing, transport
from webhooks.models import Delivery, DeliveryStatus, EventType, Subscription
from webhooks.tasks import deliver_task

URL_MAX_LENGTH = 500
NAME_MAX_LENGTH = 100
LOCAL_NAMES = ("localhost", "localhost.localdomain")

# --- checks (shared with the admin's form) -----------------------------------------------------


def _is_private_host(host: str) -> bool:
    """A literal private address or a local name. Names are resolved and checked again at
    every attempt (``webhooks.transport``), since their address may change."""
    host = host.strip("[]").lower()
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        return True
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return False


def url_error(url: str) -> str:
    """Why ``url`` is not a usable target (empty: it is)."""
    if not url:
        return _("Enter the address to send the events to.")
    if len(url) > URL_MAX_LENGTH:
        return _("The address is too long (at most %(max)d characters).") % {"max": URL_MAX_LENGTH}
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        return _("Enter a full http:// or https:// address.")
    parts = urlsplit(url)
    if parts.username or parts.password:
        return _("Put no user name or password in the address; the signature authenticates us.")
    if not transport.private_targets_allowed() and _is_private_host(parts.hostname or ""):
        return _("This address is on a private network; events are sent to public addresses only.")
    return ""


def grid_error(actor, grid: Grid | None) -> str:
    if grid is None:
        return _("Choose a grid.")
    if grid.kind == GridKind.INDUSTRY:
        return _("Choose a territorial grid: departments hold no tickets of their own.")
    if not scoping.can_view(actor, grid):
        return _("Choose a grid in your scope.")
    return ""


def clean_event_types(event_types: Iterable[str] | None) -> list[str]:
    chosen = sorted(set(event_types or ()))
    if not chosen:
        raise ValidationError({"event_types": _("Choose at least one event type.")})
    unknown = [t for t in chosen if t not in EventType.values]
    if unknown:
        raise ValidationError(
            {"event_types": _("Unknown event type: %(type)s.") % {"type": unknown[0]}}
        )
    return chosen


def subscription_errors(*, actor, grid: Grid | None, url: str, event_types) -> dict[str, str]:
    """Every problem of a subscription's fields, by field (the admin's form shows them)."""
    errors = {}
    if message := grid_error(actor, grid):
        errors["grid"] = message
    if message := url_error((url or "").strip()):
        errors["url"] = message
    try:
        clean_event_types(event_types)
    except ValidationError as exc:
        errors.update({field: messages[0] for field, messages in exc.message_dict.items()})
    return errors


def _check(errors: dict[str, str]) -> None:
    if errors:
        raise ValidationError(errors)


def _check_owner(actor, subscription: Subscription) -> None:
    if not (actor.is_active and (actor.is_superuser or subscription.owner_id == actor.pk)):
        raise PermissionDenied(_("Only the subscription's owner may do this."))


# --- subscriptions ------------------------------------------------------------------------------


@transaction.atomic
def subscription_create(
    *,
    actor,
    grid: Grid,
    url: str,
    event_types: Iterable[str],
    name: str = "",
    is_active: bool = True,
) -> tuple[Subscription, str]:
    """Subscribe ``actor`` to events of ``grid``'s subtree. Returns the subscription and
    its secret, in clear for the only time: it is stored encrypted."""
    url = (url or "").strip()
    _check(subscription_errors(actor=actor, grid=grid, url=url, event_types=event_types))
    secret = signing.new_secret()
    encrypted, hint = signing.seal(secret)
    subscription = Subscription.objects.create(
        owner=actor,
        name=(name or "").strip()[:NAME_MAX_LENGTH],
        grid=grid,
        url=url,
        event_types=clean_event_types(event_types),
        secret_encrypted=encrypted,
        secret_hint=hint,
        is_active=is_active,
    )
    return subscription, secret


@transaction.atomic
def subscription_update(*, actor, subscription: Subscription, **changes) -> Subscription:
    """Change the name, grid, address, event types or active flag (others are ignored).
    Deactivating stops sending at once: pending deliveries are cancelled when they come
    due. The secret is changed only by ``subscription_rotate_secret``."""
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    _check_owner(actor, subscription)
    grid = changes.get("grid", subscription.grid)
    url = (changes.get("url", subscription.url) or "").strip()
    event_types = changes.get("event_types", subscription.event_types)
    errors = subscription_errors(actor=actor, grid=grid, url=url, event_types=event_types)
    if "grid" not in changes and grid.pk == subscription.grid_id:
        errors.pop("grid", None)  # an unchanged grid stays, even if the scope shrank
    _check(errors)
    subscription.grid, subscription.url = grid, url
    subscription.event_types = clean_event_types(event_types)
    if "name" in changes:
        subscription.name = (changes["name"] or "").strip()[:NAME_MAX_LENGTH]
    if "is_active" in changes:
        subscription.is_active = bool(changes["is_active"])
    subscription.save()
    return subscription


@transaction.atomic
def subscription_rotate_secret(*, actor, subscription: Subscription) -> tuple[Subscription, str]:
    """A new secret, in force for every attempt from now on (also for retries of events
    from before). Returns it in clear, once."""
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    _check_owner(actor, subscription)
    secret = signing.new_secret()
    subscription.secret_encrypted, subscription.secret_hint = signing.seal(secret)
    subscription.save(update_fields=["secret_encrypted", "secret_hint", "updated_at"])
    return subscription, secret


@transaction.atomic
def subscription_delete(*, actor, subscription: Subscription) -> None:
    """Delete the subscription with its deliveries and their attempts (the events stay)."""
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    _check_owner(actor, subscription)
    subscription.delete()


# --- deliveries ---------------------------------------------------------------------------------


@transaction.atomic
def delivery_replay(*, actor, delivery: Delivery) -> Delivery:
    """Send the delivery again, as a new chain of attempts (with its own retries), with the
    same event id and body: a receiver that already has the event recognises it. Allowed
    in any status, except while an attempt is under way."""
    delivery = (
        Delivery.objects.select_for_update(of=("self",))
        .select_related("subscription")
        .get(pk=delivery.pk)
    )
    _check_owner(actor, delivery.subscription)
    now = timezone.now()
    if delivery.claimed_until is not None and delivery.claimed_until > now:
        raise Conflict(
            _("This delivery is being sent right now; try again in a moment."),
            code="being_sent",
        )
    if not delivery.subscription.is_active:
        raise Conflict(
            _("The subscription is inactive; activate it before replaying."),
            code="inactive_subscription",
        )
    delivery.status = DeliveryStatus.PENDING
    delivery.attempt_count = 0
    delivery.replays += 1
    delivery.next_attempt_at = now
    delivery.claimed_until = delivery.claim_token = None
    delivery.save()
    enqueue_on_commit(deliver_task, delivery.pk)
    return delivery

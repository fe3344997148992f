"""Reads of the webhooks: a user's own subscriptions and deliveries, nobody else's.

Subscriptions are private to their owner in the API (another's is a 404, whatever the
grid); the admin shows them by grid scope (``webhooks.admin``).
"""

from __future__ import annotations

from django.db.models import QuerySet

from webhooks.models import Attempt, Delivery, Subscription


def subscription_list(*, user) -> QuerySet[Subscription]:
    if user is None or not user.is_authenticated:
        return Subscription.objects.none()
    return Subscription.objects.filter(owner=user).select_related("grid")


def delivery_list(*, user) -> QuerySet[Delivery]:
    """The user's deliveries, newest first, with their event and subscription."""
    if user is None or not user.is_authenticated:
        return Delivery.objects.none()
    return (
        Delivery.objects.filter(subscription__owner=user)
        .select_related("subscription", "event")
        .order_by("-created_at", "-pk")
    )


def delivery_attempts(*, delivery: Delivery) -> QuerySet[Attempt]:
    return Attempt.objects.filter(delivery=delivery).order_by("number")

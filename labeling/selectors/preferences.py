"""Reads of per-user settings, and the queue orders a user can choose."""

from __future__ import annotations

from typing import Any

from labeling.models import UserPreference
from mlpipeline.strategies import DEFAULT_STRATEGY, STRATEGIES

# The one list of queue orders, in the order the API documents them: the default first,
# then mlpipeline's strategies in their own order.
DEFAULT_QUEUE_ORDER = DEFAULT_STRATEGY
# "favourited": videos favourited on TikTok (an imported data export, newest favourite
# first), then liked ones (newest first), then the rest by id.
FAVOURITED_ORDER = "favourited"
QUEUE_ORDERS: tuple[str, ...] = (
    DEFAULT_QUEUE_ORDER,
    *(name for name in STRATEGIES if name != DEFAULT_QUEUE_ORDER),
    FAVOURITED_ORDER,
)


def queue_order_for_user(*, user: Any) -> str:
    """The user's saved queue order (the default for anonymous users or stale values)."""
    pref = UserPreference.objects.filter(user=user).first() if user.is_authenticated else None
    order = pref.queue_order if pref else DEFAULT_QUEUE_ORDER
    return order if order in QUEUE_ORDERS else DEFAULT_QUEUE_ORDER

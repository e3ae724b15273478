"""Writes of per-user settings."""

from __future__ import annotations

from typing import Any

from labeling.models import UserPreference
from labeling.selectors.preferences import QUEUE_ORDERS


def user_preference_set(*, user: Any, queue_order: str) -> UserPreference:
    """Save the user's queue order (one row per user, created on first use)."""
    if queue_order not in QUEUE_ORDERS:
        raise ValueError(f"unknown queue order {queue_order!r}")
    preference, _ = UserPreference.objects.update_or_create(
        user=user, defaults={"queue_order": queue_order}
    )
    return preference

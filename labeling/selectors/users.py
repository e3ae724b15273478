"""Reads of user accounts (for the management commands)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def user_exists(*, username: str) -> bool:
    User = get_user_model()
    return User.objects.filter(**{User.USERNAME_FIELD: username}).exists()


def user_by_username(*, username: str) -> User | None:
    model = get_user_model()
    return model.objects.filter(**{model.USERNAME_FIELD: username}).first()

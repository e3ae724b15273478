"""Reads of user accounts (for the management commands)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser


def user_exists(*, username: str) -> bool:
    User = get_user_model()
    return User.objects.filter(**{User.USERNAME_FIELD: username}).exists()


def user_by_username(*, username: str) -> AbstractBaseUser | None:
    User = get_user_model()
    return User.objects.filter(**{User.USERNAME_FIELD: username}).first()

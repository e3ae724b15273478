"""Writes on users and their API tokens (the admin user and `vidsort_token`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def user_admin_create(*, username: str, password: str) -> User:
    return get_user_model().objects.create_superuser(username=username, email="", password=password)


def user_token_revoke(*, user: User) -> bool:
    """Delete the user's token; True when there was one."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return bool(deleted)


def user_token_get_or_create(*, user: User, rotate: bool = False) -> tuple[Token, bool]:
    """The user's token (created=True when new); rotate replaces the old key at once."""
    with transaction.atomic():
        if rotate:
            Token.objects.filter(user=user).delete()
        return Token.objects.get_or_create(user=user)

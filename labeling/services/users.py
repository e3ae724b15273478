"""Writes on users and their API tokens (the admin user and `vidsort_token`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token

from labeling.models import TokenScope

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def user_admin_create(*, username: str, password: str) -> User:
    return get_user_model().objects.create_superuser(username=username, email="", password=password)


def user_token_revoke(*, user: User) -> bool:
    """Delete the user's token; True when there was one."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return bool(deleted)


def user_token_get_or_create(
    *, user: User, rotate: bool = False, read_only: bool | None = None
) -> tuple[Token, bool]:
    """The user's token (created=True when new); rotate replaces the old key at once.

    read_only True limits the token to reading (GET, HEAD, OPTIONS), False lifts that
    limit, None keeps the token's scope (a rotated key keeps it too; a new token: full,
    within its user's role).
    """
    with transaction.atomic():
        if rotate:
            if read_only is None:
                read_only = TokenScope.objects.filter(token__user=user, read_only=True).exists()
            Token.objects.filter(user=user).delete()
        token, created = Token.objects.get_or_create(user=user)
        if read_only is not None:
            TokenScope.objects.update_or_create(token=token, defaults={"read_only": read_only})
        return token, created

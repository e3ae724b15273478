"""Who may do what in a library: the one place that reads a user's role.

Roles rank viewer < labeller < reviewer < owner; each can do everything the ones below it
can. Superusers are owners of every library; a user without a membership has no role.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labeling.models import Library, Membership

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

Role = Membership.Role

ROLE_RANK: dict[str, int] = {
    Role.VIEWER: 1,
    Role.LABELLER: 2,
    Role.REVIEWER: 3,
    Role.OWNER: 4,
}


def role_of(user: AbstractBaseUser | AnonymousUser, library: Library) -> str | None:
    """The user's role in this library, or None."""
    if not user.is_authenticated:
        return None
    if getattr(user, "is_superuser", False):
        return Role.OWNER
    return (
        Membership.objects.filter(library=library, user_id=user.pk)
        .values_list("role", flat=True)
        .first()
    )


def role_at_least(user: AbstractBaseUser | AnonymousUser, library: Library, minimum: str) -> bool:
    """True when the user's role in the library is `minimum` or above."""
    role = role_of(user, library)
    return role is not None and ROLE_RANK[role] >= ROLE_RANK[minimum]

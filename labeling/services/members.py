"""Writes on memberships: who holds which role in a library (docs/team.md, "Roles").

A library keeps at least one owner membership once it has one: the last owner can be
neither removed nor given a lower role (409), so nobody locks the team out of its
settings. Superusers are owners of every library without a membership.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from labeling.models import Library, Membership
from labeling.services.errors import ConflictError, InvalidError, NotFoundError

Role = Membership.Role


def _last_owner_guard(*, library: Library, membership: Membership, action: str) -> None:
    """ConflictError when `membership` is the library's only owner."""
    if membership.role != Role.OWNER:
        return
    others = (
        Membership.objects.select_for_update()
        .filter(library=library, role=Role.OWNER)
        .exclude(pk=membership.pk)
    )
    if not others.exists():
        raise ConflictError(
            f"cannot {action} the last owner of library {library.pk}; make another user "
            "owner first",
            code="last_owner",
        )


def member_set(*, library: Library, user_id: int, role: str) -> tuple[Membership, bool]:
    """Give the user this role in the library (created=True when they had none)."""
    if role not in Role.values:
        raise InvalidError(f"unknown role {role!r}; one of {', '.join(Role.values)}")
    if not get_user_model().objects.filter(pk=user_id).exists():
        raise NotFoundError(f"no user with id {user_id}")
    with transaction.atomic():
        # Lock the library's owner rows: two demotions at once cannot both pass the guard.
        list(Membership.objects.select_for_update().filter(library=library, role=Role.OWNER))
        membership = (
            Membership.objects.select_for_update().filter(library=library, user_id=user_id).first()
        )
        if membership is None:
            return Membership.objects.create(library=library, user_id=user_id, role=role), True
        if membership.role != role:
            if role != Role.OWNER:
                _last_owner_guard(library=library, membership=membership, action="demote")
            membership.role = role
            membership.save(update_fields=["role"])
        return membership, False


def member_remove(*, library: Library, user_id: int) -> None:
    """Take the user's role in the library away (NotFoundError when they had none)."""
    with transaction.atomic():
        list(Membership.objects.select_for_update().filter(library=library, role=Role.OWNER))
        membership = (
            Membership.objects.select_for_update().filter(library=library, user_id=user_id).first()
        )
        if membership is None:
            raise NotFoundError(f"user {user_id} has no role in library {library.pk}")
        _last_owner_guard(library=library, membership=membership, action="remove")
        membership.delete()

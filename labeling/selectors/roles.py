"""Who may do what in a library: the one place that reads a user's role.

Roles rank viewer < labeller < reviewer < owner; each can do everything the ones below it
can. Superusers are owners of every library; a user without a membership has no role.
The API (labeling/api/access.py), the pages and the video stream all ask `role_check`;
docs/team.md lists which role each route needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import QuerySet

from labeling.models import (
    Batch,
    Classifier,
    Folder,
    Job,
    Library,
    Membership,
    TokenScope,
    Video,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
    from django.db.models import Model

Role = Membership.Role

ROLE_RANK: dict[str, int] = {
    Role.VIEWER: 1,
    Role.LABELLER: 2,
    Role.REVIEWER: 3,
    Role.OWNER: 4,
}

# A policy level below every role: any signed-in user, whatever their role (their own
# preferences, the API's documentation). Not a role: nobody holds it.
SIGNED_IN = "signed-in"

# URL parameters that name an object of one library: the library the request concerns.
# Modules with objects of their own add theirs (e.g. "batch_id": Batch).
OBJECT_PARAMS: dict[str, type[Model]] = {
    "video_id": Video,
    "folder_id": Folder,
    "classifier_id": Classifier,
    "job_id": Job,
    "batch_id": Batch,
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
    return role_check(user, library, minimum).allowed


@dataclass(frozen=True)
class RoleCheck:
    """The answer to "may this user do what needs `required` here", with the reasons."""

    allowed: bool
    required: str
    role: str | None
    library_id: int | None

    @property
    def message(self) -> str:
        you = f"you are {self.role}" if self.role else "you have no role in this library"
        return f"needs the {self.required} role ({you})"


def role_check(
    user: AbstractBaseUser | AnonymousUser, library: Library | None, required: str
) -> RoleCheck:
    """May `user` do what needs the `required` role (or SIGNED_IN) in `library`?

    `library` None (no library exists yet): only superusers hold a role.
    """
    if required != SIGNED_IN and required not in ROLE_RANK:
        raise ValueError(f"unknown role {required!r}")
    if library is not None:
        role = role_of(user, library)
    else:
        role = Role.OWNER if getattr(user, "is_superuser", False) else None
    if required == SIGNED_IN:
        allowed = bool(user.is_authenticated)
    else:
        allowed = role is not None and ROLE_RANK[role] >= ROLE_RANK[required]
    return RoleCheck(
        allowed=allowed,
        required=required,
        role=role,
        library_id=library.pk if library is not None else None,
    )


def library_of_object(*, param: str, pk: object) -> Library | None:
    """The library of the object a URL parameter names (OBJECT_PARAMS), or None."""
    model = OBJECT_PARAMS.get(param)
    if model is None:
        return None
    try:
        key = int(str(pk))
    except ValueError:
        return None
    library_id = model._default_manager.filter(pk=key).values_list("library_id", flat=True).first()
    return Library.objects.filter(pk=library_id).first() if library_id is not None else None


def token_is_read_only(*, token_key: str) -> bool:
    """True when the API token with this key is limited to reading (TokenScope)."""
    return TokenScope.objects.filter(token_id=token_key, read_only=True).exists()


def members_of(*, library: Library) -> QuerySet[Membership]:
    """The library's memberships, with their users, by username."""
    return (
        Membership.objects.filter(library=library)
        .select_related("user")
        .order_by("user__username", "pk")
    )


def owners_count(*, library: Library) -> int:
    return Membership.objects.filter(library=library, role=Role.OWNER).count()

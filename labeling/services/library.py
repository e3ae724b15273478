"""Which library this installation works on."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from labeling.models import Library
from labeling.services.errors import NotFoundError
from labeling.services.scan import library_get_or_create


def library_current() -> Library:
    """The library named by VIDSORT_LIBRARY (created on first use)."""
    if settings.VIDSORT_LIBRARY is None:
        existing = Library.objects.order_by("pk").first()
        if existing is not None:
            return existing
        raise ImproperlyConfigured(
            "VIDSORT_LIBRARY is not set and no library has been scanned yet; set it to "
            "the folder holding your videos (or run `manage.py vidsort_demo PATH`)."
        )
    return library_get_or_create(root=settings.VIDSORT_LIBRARY)


def library_by_id_or_current(*, library_id: int | None) -> Library:
    """The library with this id (NotFoundError if none), or the current one."""
    if library_id is None:
        return library_current()
    library = Library.objects.filter(pk=library_id).first()
    if library is None:
        raise NotFoundError(f"no library with id {library_id}")
    return library

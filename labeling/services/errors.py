"""The one error family of the services: a message for people, a ``code`` for scripts.

Each kind carries its HTTP meaning (``http_status``), so the API maps every service error
in one place (labeling/api/errors.py) and views simply let them propagate.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base class: ``code`` is the API's error code, the message is for people."""

    code = "error"
    http_status = 500
    # Set when the error is about one input field: the API answers as a field error.
    field: str | None = None

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class NotFoundError(ServiceError):
    code = "not_found"
    http_status = 404


class InvalidError(ServiceError):
    code = "invalid"
    http_status = 400


class ConflictError(ServiceError):
    """The state changed under the request (moved meanwhile, being moved); nothing was done."""

    code = "conflict"
    http_status = 409


class RefusedError(ServiceError):
    """The operation cannot be done safely (file missing, changed, a symlink…)."""

    code = "refused"
    http_status = 409


class FailedError(ServiceError):
    """The disk refused (ENOSPC, EIO…); the operation was rolled back, nothing changed."""

    code = "disk_error"
    http_status = 503


class IncompleteError(ServiceError):
    """The file moved but the database could not be updated; reconcile will finish it."""

    code = "incomplete"
    http_status = 503


class BrokerUnavailableError(ServiceError):
    """The task queue (Redis) could not be reached; the job it was for is marked failed."""

    code = "broker_unavailable"
    http_status = 503

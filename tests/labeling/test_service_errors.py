"""Every service error reaches an API client in the one error shape, with its status."""

from __future__ import annotations

import pytest

from labeling.api.errors import api_exception_handler
from labeling.services.errors import (
    ConflictError,
    FailedError,
    IncompleteError,
    InvalidError,
    NotFoundError,
    RefusedError,
    ServiceError,
)
from labeling.services.folders import FolderBusy, FolderNameInvalid, FolderNameTaken


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (NotFoundError("no video with id 9"), 404, "not_found"),
        (InvalidError("'video' must be an integer id"), 400, "invalid"),
        (ConflictError("moved meanwhile"), 409, "conflict"),
        (ConflictError("undo refused", code="undo_refused"), 409, "undo_refused"),
        (RefusedError("a symlink"), 409, "refused"),
        (FailedError("ENOSPC"), 503, "disk_error"),
        (IncompleteError("reconcile will finish it"), 503, "incomplete"),
        (FolderNameTaken("a folder named 'Cats' already exists"), 409, "conflict"),
        (FolderBusy("folder 'cats' is not empty"), 409, "conflict"),
    ],
)
def test_a_service_error_keeps_its_status_code_and_message(error, status, code):
    response = api_exception_handler(error, {})
    assert response.status_code == status
    assert response.data == {"error": code, "detail": str(error)}


def test_a_folder_name_error_is_a_field_error():
    response = api_exception_handler(FolderNameInvalid("the folder name is empty"), {})
    assert response.status_code == 400
    assert response.data == {
        "error": "invalid",
        "detail": "name: the folder name is empty",
        "fields": {"name": "the folder name is empty"},
    }


def test_an_unclassified_service_error_is_a_server_error():
    response = api_exception_handler(ServiceError("something else"), {})
    assert response.status_code == 500
    assert response.data == {"error": "error", "detail": "something else"}

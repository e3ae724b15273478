"""Fixtures shared by the labeling tests: a library, the small sorting library, a user (an
owner of the libraries, see `owner_everywhere` in tests/conftest.py) and clients logged in
as that user. Helpers that are plain functions live in helpers.py.

A test file that needs a variant (another user name, a demo library under `library`)
defines a fixture of the same name, which wins inside that file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from labeling.models import Library
from labeling.services.scan import library_get_or_create
from tests.labeling.helpers import make_library

# The small sorting library: two loose videos, one in 'cats', and an empty 'dogs'.
SORT_FILES = {"clip.mp4": b"clip-bytes" * 10, "other.mp4": b"other", "cats/tom.mp4": b"tom"}


@pytest.fixture
def user(db: None, owner_everywhere: Callable[[Any], Any]) -> AbstractBaseUser:
    """Ann, owner of every library of the test: the one user of a single-user install.

    Role tests (test_roles*.py) make users with other roles themselves.
    """
    # No password: hashing one costs half a second per test on a slow machine.
    return owner_everywhere(get_user_model().objects.create_user("ann"))


@pytest.fixture
def api(user: AbstractBaseUser) -> APIClient:
    """An API client authenticated as `user`."""
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def user_client(client: Client, user: AbstractBaseUser) -> Client:
    """A browser-like client with `user`'s session."""
    client.force_login(user)
    return client


@pytest.fixture
def library(settings: Settings, library_dir: Path) -> Library:
    """An empty library, the app's current one (VIDSORT_LIBRARY)."""
    settings.VIDSORT_LIBRARY = library_dir
    return library_get_or_create(root=library_dir)


@pytest.fixture
def lib(settings: Settings, library_dir: Path) -> Library:
    """The small sorting library (SORT_FILES), current for the app."""
    settings.VIDSORT_LIBRARY = library_dir
    return make_library(library_dir, SORT_FILES, folders=("dogs",))

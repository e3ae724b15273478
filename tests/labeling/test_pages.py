"""The server-rendered pages: the gallery shell addresses folders by id only."""

from __future__ import annotations

from django.test import Client

from labeling.models import Folder, Library


def test_the_gallery_opens_a_folder_of_the_library_by_id(user_client: Client, lib: Library) -> None:
    folder = Folder.objects.get(library=lib, name="cats")
    response = user_client.get(f"/gallery/{folder.pk}")
    assert response.status_code == 200
    assert b"cats" in response.content


def test_the_gallery_refuses_unknown_ids_and_names(user_client: Client, lib: Library) -> None:
    missing = max(Folder.objects.values_list("pk", flat=True)) + 1
    assert user_client.get(f"/gallery/{missing}").status_code == 404
    assert user_client.get("/gallery/cats").status_code == 404


def test_the_gallery_of_unsorted_videos(user_client: Client, lib: Library) -> None:
    assert user_client.get("/gallery/unsorted").status_code == 200

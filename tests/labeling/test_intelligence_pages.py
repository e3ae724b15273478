"""The duplicates and suggestions pages render their shells and are linked from the nav."""

from __future__ import annotations

import pytest
from django.test import Client

from labeling.models import Library

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("url", "script"), [("/duplicates", "duplicates.js"), ("/suggestions", "suggestions.js")]
)
def test_page_renders_with_its_script_and_nav_link(
    user_client: Client, library: Library, url: str, script: str
) -> None:
    response = user_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert script in html and f'href="{url}"' in html
    assert f'"library": {library.pk}' in html


def test_pages_need_a_login(client: Client, library: Library) -> None:
    assert client.get("/duplicates").status_code == 302
    assert client.get("/suggestions").status_code == 302

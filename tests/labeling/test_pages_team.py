"""The pages' side of team mode: the player learns the mode and the user's role when it
loads (docs/player.md), and the team page shows the settings form to owners only.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from labeling.models import Library, Membership

pytestmark = pytest.mark.django_db


def player_config(client: Client) -> dict:
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    start = html.index('<script id="player-config" type="application/json">')
    body = html[html.index(">", start) + 1 : html.index("</script>", start)]
    return json.loads(body)


def signed_in(library: Library, name: str, role: str | None) -> Client:
    user = get_user_model().objects.create_user(name)
    if role:
        Membership.objects.create(library=library, user=user, role=role)
    client = Client()
    client.force_login(user)
    return client


def test_the_player_knows_the_mode_and_the_role(library: Library) -> None:
    labeller = signed_in(library, "lea", "labeller")
    config = player_config(labeller)
    assert (config["teamMode"], config["role"], config["library"]) == (
        False,
        "labeller",
        library.pk,
    )

    Library.objects.filter(pk=library.pk).update(team_mode=True)
    assert player_config(labeller)["teamMode"] is True
    assert player_config(signed_in(library, "rex", "reviewer"))["role"] == "reviewer"


def test_the_team_page_shows_the_settings_form_to_owners_only(library: Library) -> None:
    owner = signed_in(library, "olive", "owner")
    page = owner.get("/team/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="team-settings"' in html and "vidsort/teampage" in html
    assert 'name="batch_size" min="3" max="200" value="16"' in html

    for role in ("reviewer", "labeller"):
        page = signed_in(library, f"a-{role}", role).get("/team/")
        assert page.status_code == 200
        assert 'id="team-settings"' not in page.content.decode()
        assert 'id="labellers"' in page.content.decode()


def test_the_nav_links_the_team_page(library: Library) -> None:
    html = signed_in(library, "olive", "owner").get("/team/").content.decode()
    assert '<a href="/team/">Team</a>' in html


def gallery_config(client: Client) -> dict:
    html = client.get("/gallery/unsorted").content.decode()
    start = html.index('<script id="gallery-config" type="application/json">')
    return json.loads(html[html.index(">", start) + 1 : html.index("</script>", start)])


def test_gold_toggles_in_the_gallery_for_reviewers_in_team_mode(library: Library) -> None:
    reviewer = signed_in(library, "rex", "reviewer")
    labeller = signed_in(library, "lea", "labeller")
    assert gallery_config(reviewer)["canGold"] is False  # single-user mode: as before

    Library.objects.filter(pk=library.pk).update(team_mode=True)
    assert gallery_config(reviewer)["canGold"] is True
    assert gallery_config(labeller)["canGold"] is False

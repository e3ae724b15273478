"""Building a team-mode library for the team tests: loose videos, folders, gold videos and
users with roles, each with an API client of their own."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from labeling.models import Folder, GoldStandard, Library, Membership, Video
from tests.labeling.helpers import make_library

FOLDERS = ("a", "b", "c")


@dataclass
class Team:
    library: Library
    folders: dict[str, Folder]
    loose: list[Video]
    gold: dict[int, int]  # gold video id -> its folder id
    originals: dict[str, bytes]
    users: dict[str, Any] = field(default_factory=dict)

    def client(self, name: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(self.users[name])
        return client


def team_library(
    root: Path,
    *,
    loose: int,
    gold_per_folder: int = 2,
    votes_to_decide: int = 2,
    batch_size: int = 6,
    gold_per_batch: int = 2,
) -> Team:
    files = {f"v{i:03d}.mp4": f"video {i}".encode() * 3 for i in range(loose)}
    for name in FOLDERS[:2]:
        for j in range(gold_per_folder):
            files[f"{name}/gold-{name}{j}.mp4"] = f"gold {name} {j}".encode()
    library = make_library(root, files, folders=FOLDERS)
    Library.objects.filter(pk=library.pk).update(
        team_mode=True,
        votes_to_decide=votes_to_decide,
        batch_size=batch_size,
        gold_per_batch=gold_per_batch,
    )
    library.refresh_from_db()
    folders = {f.name: f for f in Folder.objects.filter(library=library)}
    gold = {}
    for video in Video.objects.filter(library=library, folder__isnull=False):
        GoldStandard.objects.create(video=video, folder=video.folder)
        gold[video.pk] = video.folder_id
    videos = list(Video.objects.filter(library=library, folder__isnull=True).order_by("pk"))
    return Team(library, folders, videos, gold, files)


def add_user(team: Team, name: str, role: str) -> Any:
    user = get_user_model().objects.create_user(name)
    Membership.objects.create(library=team.library, user=user, role=role)
    team.users[name] = user
    return user

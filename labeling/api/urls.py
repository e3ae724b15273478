"""The REST API under /api/. Each resource module exposes `urlpatterns`.

Paths are declared without a trailing slash and also answer with one (`/api/videos` and
`/api/videos/`), matching the script VidSort replaces and DRF habits alike.
"""

from __future__ import annotations

from labeling.api import (
    cmu,
    duplicates,
    export,
    insights,
    jobs,
    members,
    proxies,
    schema,
    search,
    sorting,
    suggestions,
    team,
    text,
    tiktok,
    videos,
)

urlpatterns: list = [
    *jobs.urlpatterns,
    *videos.urlpatterns,  # videos, folders (read), stats, preferences
    *insights.urlpatterns,  # insights: the charts' data (/overview)
    *proxies.urlpatterns,  # videos/<id>/proxy: a playable copy of an HEVC/AVI/… file
    *text.urlpatterns,  # videos/<id>/text: transcript and on-screen text
    *sorting.urlpatterns,  # sort, sort/bulk, undo, autofile
    *search.urlpatterns,  # search by text (?q=) or by example (?like=)
    *export.urlpatterns,  # export/events, export/labels (JSON or CSV)
    *duplicates.urlpatterns,  # duplicates, duplicates/resolve
    *suggestions.urlpatterns,  # suggestions, suggestions/accept
    *tiktok.urlpatterns,  # tiktok, tiktok/import: a TikTok data export's favourites
    *team.urlpatterns,  # team mode: batches, votes, review, decisions, gold, team stats
    *members.urlpatterns,  # members: roles in a library (owners)
    *cmu.urlpatterns,  # v1/get_batch, v1/send_batch, v1/get_label_statistics (CMU tool)
    *schema.urlpatterns,  # schema/ (OpenAPI), docs/ (Swagger UI)
    *schema.not_found_urlpatterns,  # last: any other /api/ path is a JSON 404
]

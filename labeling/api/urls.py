"""The REST API under /api/. Each resource module exposes `urlpatterns`.

Paths are declared without a trailing slash and also answer with one (`/api/videos` and
`/api/videos/`), matching the script VidSort replaces and DRF habits alike.
"""

from __future__ import annotations

from labeling.api import jobs, sorting, videos

urlpatterns: list = [
    *jobs.urlpatterns,
    *videos.urlpatterns,  # videos, folders (read), stats, preferences
    *sorting.urlpatterns,  # sort, sort/bulk, undo, autofile
]

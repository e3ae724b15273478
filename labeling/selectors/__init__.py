"""Reads: queries the pages, the API, tasks and commands share, one module per entity.

The names below are re-exported so ``from labeling.selectors import …`` keeps working;
search (labeling.selectors.search) is imported from its own module.
"""

from __future__ import annotations

from labeling.selectors.classifiers import (
    classifier_active,
    classifier_latest,
    classifiers_by_version,
    live_accuracy,
)
from labeling.selectors.folders import folder_with_count, folders_with_counts
from labeling.selectors.preferences import (
    DEFAULT_QUEUE_ORDER,
    QUEUE_ORDERS,
    queue_order_for_user,
)
from labeling.selectors.stats import labels_over_time, library_counts, library_stats
from labeling.selectors.videos import (
    DIVERSITY_POOL,
    queue_page,
    videos_with_history,
    videos_with_prediction,
)

__all__ = [
    "DEFAULT_QUEUE_ORDER",
    "DIVERSITY_POOL",
    "QUEUE_ORDERS",
    "classifier_active",
    "classifier_latest",
    "classifiers_by_version",
    "folder_with_count",
    "folders_with_counts",
    "labels_over_time",
    "library_counts",
    "library_stats",
    "live_accuracy",
    "queue_order_for_user",
    "queue_page",
    "videos_with_history",
    "videos_with_prediction",
]

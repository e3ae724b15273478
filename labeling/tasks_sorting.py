"""Celery task for the sort journal: reconcile open intents (thin wrapper).

Imported by labeling/tasks.py so that the worker registers it.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.exceptions import ImproperlyConfigured

from labeling.models import Library
from labeling.services.library import library_current
from labeling.services.reconcile import moves_reconcile

logger = logging.getLogger(__name__)


@shared_task(name="labeling.tasks.moves_reconcile_task", soft_time_limit=1800, time_limit=1900)
def moves_reconcile_task(
    library_id: int | None = None, min_age_seconds: float = 300.0, scan: bool = True
) -> dict:
    """Safe to run twice (and side by side: entries are claimed with SKIP LOCKED).

    The default age guard (5 minutes) keeps a periodic run away from moves in flight.
    Without ``library_id`` (beat's periodic run) it reconciles the configured library,
    and does nothing when none is configured.
    """
    if library_id is None:
        try:
            library = library_current()
        except ImproperlyConfigured as exc:
            logger.info("reconcile skipped: %s", exc)
            return {"ok": True, "skipped": str(exc)}
    else:
        library = Library.objects.get(pk=library_id)
    report = moves_reconcile(library=library, min_age_seconds=min_age_seconds, scan=scan)
    for alert in report.alerts:
        logger.error("reconcile ALERT: %s", alert)
    logger.info("reconcile %s: %s", library.root, report.summary())
    return {
        "ok": report.ok,
        "finished": report.finished,
        "rolled_back": report.rolled_back,
        "alerts": report.alerts,
        "duplicates": report.duplicates,
    }

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling.models import Job
from labeling.services.library import library_current
from labeling.services.retrain import jobs_mark_lost, retrain_request


class Command(BaseCommand):
    help = "Queue a retrain (scan, extract, train, predict) for a Celery worker to run."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--wait", action="store_true", help="Follow progress until it ends.")
        parser.add_argument("--timeout", type=float, default=0, help="Give up waiting after N s.")

    def handle(self, *args: Any, wait: bool = False, timeout: float = 0, **opts: Any) -> None:
        job, created = retrain_request(library=library_current())
        self.stdout.write(f"{'queued' if created else 'already running'}: retrain job {job.pk}")
        if not wait:
            return
        started = time.monotonic()
        last = None
        while True:
            jobs_mark_lost()
            job.refresh_from_db()
            line = f"{job.state} {job.stage} {job.progress_done}/{job.progress_total}"
            if line != last:
                self.stdout.write(line)
                last = line
            if job.state not in Job.ACTIVE_STATES:
                break
            if timeout and time.monotonic() - started > timeout:
                raise CommandError(f"job {job.pk} still {job.state} after {timeout:.0f} s")
            time.sleep(0.5)
        if job.state != Job.State.SUCCEEDED:
            raise CommandError(job.error or f"job {job.pk} ended {job.state}")
        version = job.metrics.get("classifier_version")
        self.stdout.write(self.style.SUCCESS(f"retrain {job.pk} succeeded: classifier v{version}"))

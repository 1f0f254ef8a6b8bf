"""``manage.py scheduler``: enqueues the periodic jobs (prune, prune_events, send_task_reminders)
on the background worker when their intervals pass. ``manage.py serve`` already runs it; run one
of these beside the workers when web and workers are separate processes. Several are safe: each
job is enqueued once per interval whichever process gets there first."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand

from whatshybrid.jobs import periodic_jobs
from whatshybrid.scheduling.services import schedule_enqueue_due, scheduler_run


class Command(BaseCommand):
    help = "Enqueue the periodic jobs when due (runs until stopped; --once for a single pass)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Enqueue what is due now, then exit.")
        parser.add_argument("--tick", type=float, default=None, help="Seconds between checks (SCHEDULER_TICK_SECONDS).")
        parser.add_argument(
            "--list", dest="list_jobs", action="store_true", help="List the jobs and their intervals, then exit."
        )

    def handle(self, *args: Any, once: bool, tick: float | None, list_jobs: bool, **options: Any) -> None:
        if list_jobs:
            for job in periodic_jobs():
                interval = job.interval()
                every = f"every {int(interval.total_seconds())}s" if interval else "off"
                self.stdout.write(f"{job.name}: {every} ({job.interval_setting})")
            return
        if once:
            enqueued = schedule_enqueue_due()
            self.stdout.write(f"enqueued: {', '.join(enqueued) or 'nothing due'}")
            return
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        scheduler_run(stop=stop, tick_seconds=tick)

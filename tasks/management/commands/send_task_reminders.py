"""Sends the task reminders whose time has passed (run it from cron, or rely on the worker).

Each reminder is normally sent by the job enqueued for its time; this sweep catches any whose
job was lost (a worker down past its time, a database restored from backup). It is safe to run
while workers run and as often as wanted: a reminder is sent once.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from tqdm import tqdm

from tasks import selectors, services


class Command(BaseCommand):
    help = "Sends every due task reminder that was not sent yet."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        pending = selectors.task_reminders_count_due()
        with tqdm(total=pending, unit="task", disable=options["no_progress"], file=self.stderr._out) as bar:
            sent = services.task_reminders_send_due(batch_size=max(1, batch_size), progress=bar.update)
        self.stdout.write(f"Sent {sent} reminder(s).")

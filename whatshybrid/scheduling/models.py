"""One row per periodic job: when it was last enqueued, the compare-and-set target of every scheduler."""

from __future__ import annotations

from django.db import models


class ScheduleEntry(models.Model):
    name = models.CharField(max_length=100, primary_key=True)
    last_enqueued_at = models.DateTimeField(null=True, blank=True)
    # The django-tasks-db result of that run: while it still waits for a worker, no other is queued.
    last_result_id = models.UUIDField(null=True, blank=True)

    class Meta:
        verbose_name = "schedule entry"
        verbose_name_plural = "schedule entries"

    def __str__(self) -> str:
        return self.name


class JobLease(models.Model):
    """The heartbeat of a running background job: its worker renews ``beat_at`` while the job
    runs. A running job whose lease has expired belongs to a dead worker (``jobs_reclaim``)."""

    result_id = models.UUIDField(primary_key=True)
    worker_id = models.CharField(max_length=64, blank=True)
    beat_at = models.DateTimeField()

    class Meta:
        verbose_name = "job lease"

    def __str__(self) -> str:
        return f"{self.result_id} @ {self.beat_at:%Y-%m-%d %H:%M:%S}"

"""Background contact imports (``django.tasks``; the worker is ``manage.py db_worker``)."""

from __future__ import annotations

from typing import Any

from django.tasks import TaskResultStatus, task
from django.utils import timezone

from contacts.models import ContactImport
from contacts.services import contact_import_run


@task()
def contact_import_job(*, workspace_id: str, import_id: str) -> str:
    """Runs (or resumes) an import. Idempotent: a finished import is left as it is."""
    job = ContactImport.objects.filter(workspace_id=workspace_id, pk=import_id).select_related("workspace").first()
    if job is None:
        return "missing"
    return contact_import_run(job=job).status


def contact_import_job_finished(sender: Any, task_result: Any, **kwargs: Any) -> None:
    """A job that failed without the import recording it (its workers kept dying, so the job
    reclaim gave up) fails the import too, so its status never stays ``running``."""
    if task_result.task.module_path != contact_import_job.module_path or task_result.status != TaskResultStatus.FAILED:
        return
    ContactImport.objects.filter(
        pk=task_result.kwargs.get("import_id"),
        status__in=[ContactImport.Status.PENDING, ContactImport.Status.RUNNING],
    ).update(
        status=ContactImport.Status.FAILED,
        message="Import stopped: its background job failed; the rows reported so far were imported.",
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )

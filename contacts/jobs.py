"""Background contact imports (``django.tasks``; the worker is ``manage.py db_worker``)."""

from __future__ import annotations

from django.tasks import task

from contacts.models import ContactImport
from contacts.services import contact_import_run


@task()
def contact_import_job(*, workspace_id: str, import_id: str) -> str:
    """Runs (or resumes) an import. Idempotent: a finished import is left as it is."""
    job = ContactImport.objects.filter(workspace_id=workspace_id, pk=import_id).select_related("workspace").first()
    if job is None:
        return "missing"
    return contact_import_run(job=job).status

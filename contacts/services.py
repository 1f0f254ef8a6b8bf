"""Contact writes. Every write publishes its event inside the same transaction."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Workspace
from contacts.models import Contact, ContactImport
from contacts.payloads import contact_payload, contact_representation
from contacts.phones import normalize_phone
from crm.models import Label
from whatshybrid.api.errors import Conflict
from whatshybrid.jobs import enqueue_on_commit
from whatshybrid.locking import hold_references, lock_for_delete, lock_to_change
from whatshybrid.realtime.publisher import publish, publish_many

SCALAR_FIELDS = ("name", "email", "company", "notes", "tags", "custom_fields", "source", "opted_out")
WRITABLE_FIELDS = (*SCALAR_FIELDS, "last_interaction_at")


def workspace_region(workspace: Workspace) -> str:
    return getattr(workspace, "default_country", "") or "BR"


def phone_identity(*, workspace: Workspace, phone: str) -> str:
    """Normalizes ``phone`` in the workspace's region; a bad phone is ``InvalidPhone`` (a 400 on ``phone``)."""
    return normalize_phone(phone, default_region=workspace_region(workspace))


def _duplicate(existing_id: Any, phone: str) -> Conflict:
    return Conflict(
        f"A contact with phone {phone} already exists.",
        code="CONTACT_EXISTS",
        errors={"phone": ["A contact with this phone already exists."]},
        extra={"id": str(existing_id), "contact_id": str(existing_id)},
    )


def _existing_id(*, workspace: Workspace, phone: str, exclude: Any = None) -> Any:
    queryset = Contact.objects.filter(workspace=workspace, phone=phone)
    if exclude is not None:
        queryset = queryset.exclude(pk=exclude)
    return queryset.values_list("pk", flat=True).first()


def _save_unique(contact: Contact, **save_kwargs: Any) -> None:
    """Saves in a savepoint so a concurrent writer of the same phone becomes a 409, not a 500."""
    try:
        with transaction.atomic():
            contact.save(**save_kwargs)
    except IntegrityError:
        existing = _existing_id(workspace=contact.workspace, phone=contact.phone, exclude=contact.pk)
        if existing is None:
            raise
        raise _duplicate(existing, contact.phone) from None


@transaction.atomic
def contact_create(*, workspace: Workspace, phone: str, labels: list | None = None, **fields: Any) -> Contact:
    """Creates a contact; a phone already in the workspace (any format) is a 409 with its id."""
    unknown = set(fields) - set(WRITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown contact fields: {sorted(unknown)}")
    identity = phone_identity(workspace=workspace, phone=phone)
    hold_references(Label, labels or (), field="labels")
    existing = _existing_id(workspace=workspace, phone=identity)
    if existing is not None:
        raise _duplicate(existing, identity)
    contact = Contact(workspace=workspace, phone=identity, phone_raw=phone.strip()[:64], **fields)
    _save_unique(contact, force_insert=True)
    if labels:
        contact.labels.set(labels)
        payload = contact_payload(contact)
    else:
        contact._label_rows = []  # just inserted, with no label links: nothing to read back
        payload = contact_representation(contact)
    publish(workspace, "contact:created", payload)
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, data: dict[str, Any]) -> Contact:
    """Partial update; changing the phone to another contact's identity is a 409."""
    hold_references(Label, data.get("labels") or (), field="labels")
    lock_to_change(Contact.objects.select_for_update(no_key=True), contact.pk)
    changed: list[str] = []
    if "phone" in data:
        identity = phone_identity(workspace=contact.workspace, phone=data["phone"])
        if identity != contact.phone:
            existing = _existing_id(workspace=contact.workspace, phone=identity, exclude=contact.pk)
            if existing is not None:
                raise _duplicate(existing, identity)
        contact.phone, contact.phone_raw = identity, data["phone"].strip()[:64]
        changed += ["phone", "phone_raw"]
    for field in WRITABLE_FIELDS:
        if field in data:
            setattr(contact, field, data[field])
            changed.append(field)
    _save_unique(contact, update_fields=[*changed, "updated_at"])
    if "labels" in data:
        contact.labels.set(data["labels"])
    publish(contact.workspace, "contact:updated", contact_payload(contact))
    return contact


@transaction.atomic
def contact_delete(*, contact: Contact) -> None:
    """Deletes the contact with its deals and conversations; its tasks (and its deals' tasks)
    stay, unlinked.

    Publishes what a client must apply to its copies: ``deal:deleted`` and ``conversation:deleted``
    per removed row (their messages and deal timelines go with them, unannounced), ``task:updated``
    per unlinked task, then ``contact:deleted`` ``{id, phone}``. A concurrent delete of the same
    contact waits for this one and then publishes nothing.
    """
    from messaging.models import Conversation
    from tasks.models import Task
    from tasks.services import task_payload

    if not lock_for_delete(contact):
        return
    deals = list(contact.deals.values_list("pk", "stage_id"))
    conversation_ids = list(Conversation.objects.filter(contact=contact).values_list("pk", flat=True))
    task_ids = list(
        Task.objects.filter(Q(contact=contact) | Q(deal__contact=contact)).values_list("pk", flat=True).distinct()
    )
    payload = {"id": str(contact.pk), "phone": contact.phone}
    workspace = contact.workspace
    contact.delete()
    events = [
        ("deal:deleted", {"id": str(pk), "contact_id": payload["id"], "stage_id": str(stage_id)})
        for pk, stage_id in deals
    ]
    events += [("conversation:deleted", {"id": str(pk)}) for pk in conversation_ids]
    tasks = Task.objects.filter(pk__in=task_ids).select_related("workspace").order_by("pk")
    events += [("task:updated", task_payload(task)) for task in tasks]
    publish_many(workspace, [*events, ("contact:deleted", payload)])


@transaction.atomic
def contact_get_or_create_by_phone(
    *, workspace: Workspace, phone: str, name: str = "", source: str = "whatsapp"
) -> tuple[Contact, bool]:
    """The contact whose identity is ``phone`` (any format), created when missing.

    Raises ``InvalidPhone`` for a phone that is not a phone, like ``normalize_phone``. A
    concurrent creator of the same phone is absorbed: both callers get the same row.
    """
    identity = normalize_phone(phone, default_region=workspace_region(workspace))
    contact = Contact.objects.filter(workspace=workspace, phone=identity).first()
    if contact is not None:
        return contact, False
    contact = Contact(
        workspace=workspace, phone=identity, phone_raw=phone.strip()[:64], name=name[:200], source=source[:50]
    )
    try:
        with transaction.atomic():
            contact.save(force_insert=True)
    except IntegrityError:
        return Contact.objects.get(workspace=workspace, phone=identity), False
    publish(workspace, "contact:created", contact_payload(contact))
    return contact, True


def contact_import_sync(
    *,
    workspace: Workspace,
    rows: list[Any],
    dry_run: bool = False,
    update_existing: bool = False,
    create_labels: bool = False,
) -> dict[str, Any]:
    """Imports ``rows`` now (batched transactions) and returns the row report."""
    from contacts.importing import contact_import_rows

    return contact_import_rows(
        workspace=workspace,
        rows=rows,
        dry_run=dry_run,
        update_existing=update_existing,
        create_labels=create_labels,
    ).as_dict()


@transaction.atomic
def contact_import_start(
    *,
    workspace: Workspace,
    rows: list[Any],
    dry_run: bool = False,
    update_existing: bool = False,
    create_labels: bool = False,
    user: Any = None,
) -> ContactImport:
    """Stores the rows as a pending import and enqueues its job once this transaction commits."""
    job = ContactImport.objects.create(
        workspace=workspace,
        created_by=user,
        rows=rows,
        total_rows=len(rows),
        dry_run=dry_run,
        update_existing=update_existing,
        create_labels=create_labels,
    )
    enqueue_on_commit("contacts.import", workspace_id=str(workspace.pk), import_id=str(job.pk))
    return job


def contact_import_run(*, job: ContactImport) -> ContactImport:
    """Runs a stored import from where it stopped; every batch commits its own progress."""
    from contacts.importing import contact_import_rows

    if job.status in (ContactImport.Status.SUCCEEDED, ContactImport.Status.FAILED):
        return job
    job.status = ContactImport.Status.RUNNING
    job.save(update_fields=["status", "updated_at"])
    try:
        contact_import_rows(
            workspace=job.workspace,
            rows=job.rows,
            dry_run=job.dry_run,
            update_existing=job.update_existing,
            create_labels=job.create_labels,
            job=job,
        )
    except Exception as exc:
        job.refresh_from_db()
        job.status, job.message = ContactImport.Status.FAILED, f"Import stopped: {exc}"[:500]
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "message", "finished_at", "updated_at"])
        raise
    job.status = ContactImport.Status.SUCCEEDED
    job.message = f"Imported {job.total_rows} rows."
    job.rows = []  # the report stays; the input is no longer needed
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "message", "input_json", "finished_at", "updated_at"])
    return job

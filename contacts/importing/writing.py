"""Writing an import: validated rows in batches, each batch in its own transaction."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Workspace
from contacts.importing.parsing import CleanRow, validate_rows
from contacts.models import Contact, ContactImport
from contacts.services import workspace_region
from crm.models import Label
from whatshybrid.locking import lock_keys
from whatshybrid.realtime.publisher import batches, publish

# Label names per lookup query: SQLite refuses statements with more than 32,766 parameters.
LABEL_LOOKUP_CHUNK = 1000


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "skipped": self.skipped, "errors": self.errors}


def _label_ids(workspace: Workspace, names: Iterable[str]) -> dict[str, Any]:
    """Label id by lower-cased name, for the workspace's labels named one of ``names`` in any case.

    The exact spelling is matched too: SQLite's lower() folds ASCII letters only, so "Équipe"
    would otherwise never find itself there.
    """
    labels = Label.objects.filter(workspace=workspace).annotate(key=Lower("name"))
    found: dict[str, Any] = {}
    for chunk in itertools.batched(names, LABEL_LOOKUP_CHUNK):
        matches = labels.filter(Q(key__in=[name.lower() for name in chunk]) | Q(name__in=chunk))
        found.update((name.lower(), pk) for name, pk in matches.values_list("name", "pk"))
    return found


def _resolve_labels(
    *, workspace: Workspace, batch: list[CleanRow], create_labels: bool, dry_run: bool
) -> tuple[list[CleanRow], list[dict[str, Any]], dict[str, Any]]:
    """Splits the batch into writable rows and ``unknown_label`` errors; returns the label ids too.

    One lookup for the whole batch. With ``create_labels`` the missing labels are inserted first
    (spelled as their first row wrote them); a dry run only pretends, with the name in place of
    an id, which no real id equals, so a would-be label still counts as a change.
    """
    wanted: dict[str, str] = {}
    spellings: set[str] = set()
    for row in batch:
        for name in row.labels or ():
            wanted.setdefault(name.lower(), name)
            spellings.add(name)
    if not wanted:
        return batch, [], {}
    ids = _label_ids(workspace, spellings)
    # Held until the batch commits (``whatshybrid.locking``): a label deleted meanwhile becomes
    # an unknown label of its rows, never a failed commit.
    alive = lock_keys(Label, ids.values())
    ids = {key: pk for key, pk in ids.items() if pk in alive}
    missing = [key for key in wanted if key not in ids]
    if missing and create_labels:
        if dry_run:
            ids.update((key, key) for key in missing)
        else:
            # ignore_conflicts: a label a concurrent writer just created serves as well as ours.
            Label.objects.bulk_create(
                [Label(workspace=workspace, name=wanted[key]) for key in missing], ignore_conflicts=True
            )
            ids.update(_label_ids(workspace, [wanted[key] for key in missing]))
    rows: list[CleanRow] = []
    errors: list[dict[str, Any]] = []
    for row in batch:
        unknown = [name for name in row.labels or () if name.lower() not in ids]
        if not unknown:
            rows.append(row)
            continue
        names = ", ".join(repr(name) for name in unknown)
        errors.append(
            {
                "row": row.number,
                "field": "labels",
                "code": "unknown_label",
                "message": f"No label named {names} in this workspace; create it first or import with create_labels.",
            }
        )
    return rows, errors, ids


def _current_label_ids(contact_ids: list[Any]) -> dict[Any, set[Any]]:
    current: dict[Any, set[Any]] = {contact_id: set() for contact_id in contact_ids}
    if contact_ids:
        links = Contact.labels.through.objects.filter(contact_id__in=contact_ids)
        for contact_id, label_id in links.values_list("contact_id", "label_id"):
            current[contact_id].add(label_id)
    return current


def _write_batch(
    *, workspace: Workspace, batch: list[CleanRow], label_ids: dict[str, Any], dry_run: bool, update_existing: bool
) -> tuple[int, int, int]:
    # Unordered: with the model's ``-created_at`` ordering SQLite answers the IN list by walking
    # the workspace's created_at index, so every batch read the whole workspace (a 100,000-row
    # import went quadratic: tests/test_query_plans.py).
    existing = {
        contact.phone: contact
        for contact in Contact.objects.filter(workspace=workspace, phone__in=[row.phone for row in batch]).order_by()
    }
    relabel_candidates = [existing[row.phone].pk for row in batch if row.labels is not None and row.phone in existing]
    current_labels = _current_label_ids(relabel_candidates if update_existing else [])
    to_create: list[Contact] = []
    to_update: list[Contact] = []
    changed_fields: set[str] = set()
    relabelled: list[Any] = []
    links: list[tuple[Any, Any]] = []
    skipped = 0
    for row in batch:
        contact = existing.get(row.phone)
        labels = None if row.labels is None else {label_ids[name.lower()] for name in row.labels}
        if contact is None:
            values = dict(row.values)
            source = values.pop("source", "") or "import"
            contact = Contact(workspace=workspace, phone=row.phone, phone_raw=row.phone_raw, source=source, **values)
            to_create.append(contact)
            links += [(contact.pk, label_id) for label_id in labels or ()]
            continue
        # A blank cell says nothing about the contact: it never erases a stored value.
        changes = {
            name: value
            for name, value in row.values.items()
            if value not in ("", [], {}, None) and getattr(contact, name) != value
        }
        relabel = labels is not None and update_existing and labels != current_labels[contact.pk]
        if not update_existing or not (changes or relabel):
            skipped += 1
            continue
        for name, value in changes.items():
            setattr(contact, name, value)
        changed_fields.update(changes)
        if changes:
            to_update.append(contact)
        if relabel:
            relabelled.append(contact.pk)
            links += [(contact.pk, label_id) for label_id in labels]
    # Contacts whose labels alone changed get one UPDATE of updated_at: bulk_update's per-row
    # CASE was most of the time of a label-only re-import.
    touched = list(set(relabelled).difference(contact.pk for contact in to_update))
    if not dry_run:
        Contact.objects.bulk_create(to_create)
        now = timezone.now()
        if to_update:
            for contact in to_update:
                contact.updated_at = now
            Contact.objects.bulk_update(to_update, [*sorted(changed_fields), "updated_at"])
        if touched:
            Contact.objects.filter(pk__in=touched).update(updated_at=now)
        through = Contact.labels.through
        if relabelled:
            through.objects.filter(contact_id__in=relabelled).delete()
        through.objects.bulk_create(
            [through(contact_id=contact_id, label_id=label_id) for contact_id, label_id in links]
        )
    return len(to_create), len(to_update) + len(touched), skipped


def _commit_batch(
    *,
    workspace: Workspace,
    outcome: list[CleanRow | dict[str, Any]],
    dry_run: bool,
    update_existing: bool,
    create_labels: bool,
    report: ImportReport,
    job: ContactImport | None,
) -> None:
    valid = [item for item in outcome if isinstance(item, CleanRow)]
    invalid = [item for item in outcome if isinstance(item, dict)]
    since = timezone.now()
    # A concurrent writer may insert one of our phones between the lookup and the insert: the
    # batch rolls back whole and is retried once against the new state.
    for attempt in range(2):
        try:
            with transaction.atomic():
                batch, label_errors, label_ids = _resolve_labels(
                    workspace=workspace, batch=valid, create_labels=create_labels, dry_run=dry_run
                )
                errors = sorted([*invalid, *label_errors], key=lambda error: error["row"])
                created, updated, skipped = _write_batch(
                    workspace=workspace,
                    batch=batch,
                    label_ids=label_ids,
                    dry_run=dry_run,
                    update_existing=update_existing,
                )
                if job is not None:
                    job.processed_rows += len(outcome)
                    job.created_count += created
                    job.updated_count += updated
                    job.skipped_count += skipped
                    job.errors = [*job.errors, *errors]
                    job.save(
                        update_fields=[
                            "processed_rows",
                            "created_count",
                            "updated_count",
                            "skipped_count",
                            "errors",
                            "updated_at",
                        ]
                    )
                if (created or updated) and not dry_run:
                    publish(
                        workspace,
                        "contacts:imported",
                        {
                            "import_id": str(job.pk) if job else None,
                            "created": created,
                            "updated": updated,
                            "since": since.isoformat(),
                        },
                    )
            break
        except IntegrityError:
            if job is not None:
                job.refresh_from_db()
            if attempt:
                raise
    report.created += created
    report.updated += updated
    report.skipped += skipped
    report.errors.extend(errors)


def contact_import_rows(
    *,
    workspace: Workspace,
    rows: list[Any],
    dry_run: bool = False,
    update_existing: bool = False,
    create_labels: bool = False,
    job: ContactImport | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Validates and writes ``rows``; with a ``job``, resumes after its ``processed_rows``.

    ``created + updated + skipped + len(errors)`` always equals ``len(rows)`` (for a job: over
    the job's whole life, since the counters are committed with each batch).
    """
    outcome = validate_rows(rows, region=workspace_region(workspace))
    report = ImportReport()
    start = job.processed_rows if job is not None else 0
    size = max(1, settings.CONTACTS_IMPORT_BATCH_SIZE)
    for chunk in batches(outcome[start:], size):
        _commit_batch(
            workspace=workspace,
            outcome=list(chunk),
            dry_run=dry_run,
            update_existing=update_existing,
            create_labels=create_labels,
            report=report,
            job=job,
        )
        if on_progress is not None:
            on_progress(len(chunk))
    return report

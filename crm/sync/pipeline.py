"""The pipeline part of the CRM sync: the client's slug-id stages are the workspace's stage rows.

Stages carry no ``updatedAt``, so the client's copy of a stage (name, colour, icon, order)
applies only when the server's has not changed since the client's ``lastSync``; otherwise the
server's comes back. Stages the client does not know are kept.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from accounts.models import Workspace
from contacts.sync import as_uuid, row_key
from crm.models import PipelineStage
from crm.services import pipeline_lock, stage_parked_position, stages_renumber
from whatshybrid.api.bodies import invalid, read_id, read_int, read_list, read_object, read_text

_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
MAX_STAGES = 100


@dataclass
class StageIn:
    key: str
    name: str
    color: str
    icon: str
    order: int


def read_color(item: dict[str, Any], path: str, default: str) -> str:
    color = read_text(item, "color", path, max_length=7)
    if color and not _COLOR.match(color):
        raise invalid(f"{path}.color", "Must be a hex colour like #3b82f6.")
    return color.lower() or default


def with_icon(extra: dict[str, Any], icon: str) -> dict[str, Any]:
    """``client_extra`` carrying the client's icon. No icon is no key, as the stored rows without
    one have it: a browser echoing ``"icon": ""`` back is not an edit (it rewrote every default
    label and published their events)."""
    return {**extra, "icon": icon} if icon else {key: value for key, value in extra.items() if key != "icon"}


def read_pipeline(raw: Any) -> list[StageIn] | None:
    if raw is None:
        return None
    document = read_object(raw, "pipeline")
    stages = []
    for index, value in enumerate(read_list(document.get("stages"), "pipeline.stages", max_items=MAX_STAGES)):
        path = f"pipeline.stages[{index}]"
        item = read_object(value, path)
        key = read_id(item, "id", path)
        order = read_int(item, "order", path, minimum=-1_000_000, maximum=1_000_000)
        stages.append(
            StageIn(
                key=key,
                name=read_text(item, "name", path, max_length=80) or key,
                color=read_color(item, path, "#3b82f6"),
                icon=read_text(item, "icon", path, max_length=40),
                order=index if order is None else order,
            )
        )
    return stages


@dataclass
class PipelineMerge:
    created: list[Any]
    changed: list[Any]  # stage pks whose row changed (renamed, recoloured, moved)
    by_key: dict[str, PipelineStage]


def _match(item: StageIn, stages: dict[Any, PipelineStage], taken: set[Any]) -> PipelineStage | None:
    """The row the client's stage names: client key, server id, then a server stage of the
    same name or, for the ``won``/``lost`` slugs, the won/lost stage (the workspace defaults)."""
    free = [stage for stage in stages.values() if stage.pk not in taken and stage.client_key is None]
    for stage in stages.values():
        if stage.client_key == item.key:
            return stage
    if (pk := as_uuid(item.key)) is not None and pk in stages:
        return stages[pk]
    for stage in free:
        if stage.name.casefold() == item.name.casefold():
            return stage
    for stage in free:
        if (item.key == "won" and stage.is_won) or (item.key == "lost" and stage.is_lost):
            return stage
    return None


def pipeline_merge(
    *, workspace: Workspace, items: list[StageIn], last_sync: datetime.datetime | None, now: datetime.datetime
) -> PipelineMerge:
    before = pipeline_lock(workspace=workspace)
    stages = {stage.pk: stage for stage in PipelineStage.objects.filter(workspace=workspace)}
    unchanged_since = last_sync is not None and all(stage.updated_at <= last_sync for stage in stages.values())
    merge = PipelineMerge(created=[], changed=[], by_key={})
    placed: list[tuple[int, int, Any]] = []
    taken: set[Any] = set()
    edited, adopted = [], []
    for index, item in enumerate(items):
        stage = _match(item, stages, taken)
        if stage is None:
            stage = PipelineStage(
                workspace=workspace,
                client_key=item.key,
                name=item.name,
                color=item.color,
                client_extra=with_icon({}, item.icon),
                position=stage_parked_position(len(stages) + len(merge.created)),
                is_won=item.key == "won",
                is_lost=item.key == "lost",
                probability=100 if item.key == "won" else 0,
            )
            merge.created.append(stage)
        else:
            if stage.client_key is None and as_uuid(item.key) is None:
                stage.client_key = item.key
                adopted.append(stage)
            if last_sync is not None and stage.updated_at <= last_sync:
                wanted = {
                    "name": item.name,
                    "color": item.color,
                    "client_extra": with_icon(stage.client_extra, item.icon),
                }
                if any(getattr(stage, name) != value for name, value in wanted.items()):
                    for name, value in wanted.items():
                        setattr(stage, name, value)
                    stage.updated_at = now
                    edited.append(stage)
        taken.add(stage.pk)
        merge.by_key[item.key] = stage
        placed.append((item.order, index, stage.pk))
    PipelineStage.objects.bulk_create(merge.created)
    PipelineStage.objects.bulk_update(edited, ["name", "color", "client_extra", "client_key", "updated_at"])
    PipelineStage.objects.bulk_update([stage for stage in adopted if stage not in edited], ["client_key"])
    created_ids = [stage.pk for stage in merge.created]
    if unchanged_since or not before:
        # The client's order, then the stages it does not know in their order.
        listed = [pk for _, _, pk in sorted(placed)]
        after = [*dict.fromkeys(listed), *(pk for pk in before if pk not in listed)]
    else:
        after = [*before, *created_ids]
    if after != before:
        stages_renumber(workspace=workspace, ordered_ids=after)
    moved = [pk for index, pk in enumerate(after) if pk in stages and before.index(pk) != index]
    merge.changed = list(dict.fromkeys([*(stage.pk for stage in edited), *moved]))
    return merge


def stage_keys(*, workspace: Workspace) -> dict[str, PipelineStage]:
    """Every stage of the workspace by each id a client may use for it (client key, server id)."""
    keys: dict[str, PipelineStage] = {}
    for stage in PipelineStage.objects.filter(workspace=workspace):
        keys[str(stage.pk)] = stage
        if stage.client_key:
            keys[stage.client_key] = stage
    return keys


def pipeline_data(*, workspace: Workspace) -> dict[str, Any] | None:
    stages = PipelineStage.objects.filter(workspace=workspace).order_by("position", "id")
    shaped = [
        {
            "id": row_key(stage),
            "name": stage.name,
            "color": stage.color,
            "icon": stage.client_extra.get("icon", ""),
            "order": stage.position,
        }
        for stage in stages
    ]
    return {"id": "default", "name": "Pipeline", "stages": shaped} if shaped else None

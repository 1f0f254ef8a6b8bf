"""CRM writes: pipeline stages (``pipeline``), deals with their activity timeline (``deals``) and
labels (``labels``).

Every write runs in one transaction and publishes its event inside it, so an event is never
announced for a change that rolled back. The defaults a new workspace gets publish nothing:
nobody can be listening to a workspace that is being created.
"""

from crm.services.deals import DEAL_FIELDS, deal_create, deal_delete, deal_status_for, deal_update
from crm.services.labels import LABEL_FIELDS, label_create, label_delete, label_update
from crm.services.pipeline import (
    STAGE_FIELDS,
    crm_defaults_create,
    pipeline_lock,
    stage_create,
    stage_delete,
    stage_parked_position,
    stage_reorder,
    stage_update,
    stages_renumber,
)

__all__ = [
    "DEAL_FIELDS",
    "LABEL_FIELDS",
    "STAGE_FIELDS",
    "crm_defaults_create",
    "deal_create",
    "deal_delete",
    "deal_status_for",
    "deal_update",
    "label_create",
    "label_delete",
    "label_update",
    "pipeline_lock",
    "stage_create",
    "stage_delete",
    "stage_parked_position",
    "stage_reorder",
    "stage_update",
    "stages_renumber",
]

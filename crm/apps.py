from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.signals import workspace_created
        from crm.receivers import give_workspace_crm_defaults
        from whatshybrid.events import register_event

        workspace_created.connect(give_workspace_crm_defaults, dispatch_uid="crm_defaults")

        deal, stage, label = "crm.payloads.deal_payload", "crm.payloads.stage_payload", "crm.payloads.label_payload"
        register_event("deal:created", "the new deal (as `GET /crm/deals/:id`)", payload=deal)
        register_event("deal:updated", "the deal after a change (also when its stage is deleted)", payload=deal)
        register_event("deal:deleted", "`{id, contact_id, stage_id}` of the deleted deal")
        register_event("stage:created", "the new pipeline stage", payload=stage)
        register_event(
            "stage:updated",
            "the stage, also for each stage a create, move, reorder or delete repositioned",
            payload=stage,
        )
        register_event("stage:deleted", "`{id}` of the deleted stage")
        register_event("label:created", "the new label", payload=label)
        register_event("label:updated", "the label after a change", payload=label)
        register_event("label:deleted", "`{id}` of the deleted label")

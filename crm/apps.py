from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.signals import workspace_created
        from crm.receivers import give_workspace_crm_defaults

        workspace_created.connect(give_workspace_crm_defaults, dispatch_uid="crm_defaults")

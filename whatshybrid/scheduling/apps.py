from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "whatshybrid.scheduling"
    label = "scheduling"
    verbose_name = "Periodic jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from whatshybrid.api.pruning import register_pruner
        from whatshybrid.scheduling.services import task_results_prune

        register_pruner("task_results", task_results_prune)

        from whatshybrid.scheduling.leases import leases_connect

        leases_connect()

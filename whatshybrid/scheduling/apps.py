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

        from whatshybrid.jobs import register_job, register_periodic
        from whatshybrid.scheduling.jobs import jobs_reclaim_job

        register_job("scheduling.reclaim_jobs", jobs_reclaim_job)
        register_periodic(
            "reclaim_jobs", interval_setting="SCHEDULE_RECLAIM_JOBS_SECONDS", job_name="scheduling.reclaim_jobs"
        )

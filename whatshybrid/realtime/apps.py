from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "whatshybrid.realtime"
    label = "realtime"
    verbose_name = "Realtime events"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from whatshybrid.events import subscribe_after_commit
        from whatshybrid.jobs import register_job, register_periodic
        from whatshybrid.realtime.jobs import events_prune_job
        from whatshybrid.realtime.publisher import fan_out

        subscribe_after_commit(fan_out)

        register_job("realtime.prune_events", events_prune_job)
        register_periodic(
            "prune_events", interval_setting="SCHEDULE_PRUNE_EVENTS_SECONDS", job_name="realtime.prune_events"
        )

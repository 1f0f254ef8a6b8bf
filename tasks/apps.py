from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tasks.jobs import task_reminder_job, task_reminders_sweep_job
        from whatshybrid.jobs import register_job, register_periodic

        register_job("tasks.reminder", task_reminder_job)
        register_job("tasks.reminders_sweep", task_reminders_sweep_job)
        register_periodic(
            "send_task_reminders", interval_setting="SCHEDULE_TASK_REMINDERS_SECONDS", job_name="tasks.reminders_sweep"
        )

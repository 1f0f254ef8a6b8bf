from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tasks.jobs import task_reminder_job, task_reminders_sweep_job
        from whatshybrid.events import register_event
        from whatshybrid.jobs import register_job, register_periodic

        register_job("tasks.reminder", task_reminder_job)
        register_job("tasks.reminders_sweep", task_reminders_sweep_job)
        register_periodic(
            "send_task_reminders", interval_setting="SCHEDULE_TASK_REMINDERS_SECONDS", job_name="tasks.reminders_sweep"
        )

        task = "tasks.payloads.task_payload"
        register_event("task:created", "the new task (as `GET /tasks/:id`)", payload=task)
        register_event("task:updated", "the task after a change", payload=task)
        register_event("task:completed", "the task, when it becomes completed", payload=task)
        register_event("task:reminder", "the task, once when its `reminder_at` passes", payload=task)
        register_event("task:deleted", "`{id}` of the deleted task")

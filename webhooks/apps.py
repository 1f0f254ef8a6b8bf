from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from webhooks.jobs import webhook_deliver_due_job, webhook_deliver_job
        from webhooks.services import OUTBOX, deliveries_record
        from whatshybrid.events import register_event, subscribe_in_transaction
        from whatshybrid.jobs import register_job, register_periodic

        register_job("webhooks.deliver", webhook_deliver_job)
        register_job("webhooks.deliver_due", webhook_deliver_due_job)
        register_periodic(
            "deliver_webhooks", interval_setting="SCHEDULE_WEBHOOK_DELIVERIES_SECONDS", job_name="webhooks.deliver_due"
        )
        register_event(
            "webhook:disabled",
            "the webhook, when deliveries stop (410 Gone or failing too long)",
            payload="webhooks.payloads.webhook_payload",
        )
        subscribe_in_transaction(deliveries_record, opt_in=OUTBOX)

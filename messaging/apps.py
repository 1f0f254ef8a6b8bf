from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from messaging.jobs import conversation_wake
        from whatshybrid.jobs import register_job

        register_job("messaging.conversation_wake", conversation_wake)

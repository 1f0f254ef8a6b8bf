from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from messaging.jobs import conversation_wake
        from whatshybrid.events import register_event
        from whatshybrid.jobs import register_job

        register_job("messaging.conversation_wake", conversation_wake)

        message, conversation = "messaging.payloads.message_payload", "messaging.payloads.conversation_payload"
        register_event("message:created", "the new message (as in `GET /conversations/:id/messages`)", payload=message)
        register_event("message:updated", "the message after a delivery-status change", payload=message)
        register_event(
            "conversation:created", "the new conversation (as `GET /conversations/:id`)", payload=conversation
        )
        register_event(
            "conversation:updated", "the conversation after a change (also after each message)", payload=conversation
        )
        register_event("conversation:deleted", "`{id}` of the deleted conversation")

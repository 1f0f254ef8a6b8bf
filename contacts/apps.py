from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "contacts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from contacts.jobs import contact_import_job
        from whatshybrid.events import register_event
        from whatshybrid.jobs import register_job

        register_job("contacts.import", contact_import_job)

        contact = "contacts.payloads.contact_payload"
        register_event("contact:created", "the new contact (as `GET /contacts/:id` → `contact`)", payload=contact)
        register_event("contact:updated", "the contact after the change", payload=contact)
        register_event("contact:deleted", "`{id, phone}` of the deleted contact")
        register_event(
            "contacts:imported",
            "`{import_id, created, updated, since}`: one per committed import batch, not one per contact",
        )

        from django.tasks.signals import task_finished

        from contacts.jobs import contact_import_job_finished

        task_finished.connect(contact_import_job_finished, dispatch_uid="contacts-import-finished")

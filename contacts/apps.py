from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "contacts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.tasks.signals import task_finished

        from contacts.jobs import contact_import_job_finished

        task_finished.connect(contact_import_job_finished, dispatch_uid="contacts-import-finished")

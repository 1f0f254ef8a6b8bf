from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "contacts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from contacts.jobs import contact_import_job
        from whatshybrid.jobs import register_job

        register_job("contacts.import", contact_import_job)

from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "whatshybrid.realtime"
    label = "realtime"
    verbose_name = "Realtime events"
    default_auto_field = "django.db.models.BigAutoField"

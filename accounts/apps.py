from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.services import session_prune
        from whatshybrid.api.pruning import register_pruner

        register_pruner("auth_sessions", session_prune)

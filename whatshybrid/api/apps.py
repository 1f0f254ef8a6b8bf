from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "whatshybrid.api"
    label = "api"
    verbose_name = "API plumbing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from whatshybrid import crypto, http

        # Malformed keys or allowlist entries stop every entry point here, not at first use.
        crypto.check_configuration()
        http.check_configuration()

        from whatshybrid.api import schema  # noqa: F401  (registers the OpenAPI auth extension)
        from whatshybrid.api.idempotency import idempotency_prune
        from whatshybrid.api.pruning import register_pruner

        register_pruner("idempotency_keys", idempotency_prune)

        from whatshybrid.api.jobs import prune_expired
        from whatshybrid.jobs import register_job, register_periodic

        register_job("api.prune", prune_expired)
        register_periodic("prune", interval_setting="SCHEDULE_PRUNE_SECONDS", job_name="api.prune")

from webhooks.tests.receiver import receiver  # noqa: F401  (a fixture of this package)

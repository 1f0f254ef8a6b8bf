from django.dispatch import Signal

# Sent inside the registration transaction with ``workspace``; apps add their defaults
# (pipeline stages, labels, ...) so a new workspace is complete or does not exist at all.
workspace_created = Signal()

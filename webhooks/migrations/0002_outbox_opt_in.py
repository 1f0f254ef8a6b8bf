"""Opts in the workspaces that already have an active webhook (deliveries_record runs only there)."""

from django.db import migrations


def opt_in_workspaces_with_webhooks(apps, schema_editor):
    Webhook = apps.get_model("webhooks", "Webhook")
    EventSequence = apps.get_model("realtime", "EventSequence")
    workspace_ids = set(Webhook.objects.filter(active=True).values_list("workspace_id", flat=True))
    EventSequence.objects.bulk_create(
        [EventSequence(workspace_id=workspace_id) for workspace_id in workspace_ids], ignore_conflicts=True
    )
    for counter in EventSequence.objects.filter(workspace_id__in=workspace_ids):
        if "webhooks" not in counter.opted_in:
            counter.opted_in = sorted({*counter.opted_in, "webhooks"})
            counter.save(update_fields=["opted_in"])


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
        ("realtime", "0002_event_sequence_opted_in"),
    ]

    operations = [migrations.RunPython(opt_in_workspaces_with_webhooks, migrations.RunPython.noop)]

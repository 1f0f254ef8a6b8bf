"""Knowledge documents synced before items existed (issue #16's ``/knowledge/sync``) get their
searchable items. ``items_rebuild`` is idempotent, so a document already mapped is left as is."""

from django.db import migrations


def map_documents(apps, schema_editor):
    from ai.knowledge import items_rebuild

    item_model = apps.get_model("ai", "KnowledgeItem")
    documents = apps.get_model("ai", "KnowledgeDocument").objects.values_list("workspace_id", "data")
    for workspace_id, data in documents.iterator(chunk_size=100):
        items_rebuild(workspace_id=workspace_id, data=data, item_model=item_model)


class Migration(migrations.Migration):
    dependencies = [("ai", "0002_ai_calls_credits_knowledge")]

    # Nothing to undo: 0002's reversal drops the items table.
    operations = [migrations.RunPython(map_documents, migrations.RunPython.noop, elidable=True)]

"""A trigram index for the conversation list's ``q`` search in message text (PostgreSQL only).

``content__icontains`` compiles to ``UPPER(content::text) LIKE UPPER(%s)`` on PostgreSQL, so the
index is on that expression. SQLite has no trigram indexes: there the migration does nothing and
the search stays a scan. Built CONCURRENTLY (outside a transaction) so that adding it to a large
table does not block message writes.
"""

from django.db import migrations

INDEX_NAME = "msg_content_upper_trgm"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    message = apps.get_model("messaging", "Message")._meta
    quote = schema_editor.quote_name
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {quote(INDEX_NAME)} ON {quote(message.db_table)} "
        f"USING gin (UPPER({quote(message.get_field('content').column)}) gin_trgm_ops)"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(INDEX_NAME)}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("messaging", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]

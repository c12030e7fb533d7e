"""Relevance by recency window: the search GIN index also holds the id's recency bucket and the
generator (btree_gin), the planner keeps more of the document's statistics, and the function
that sizes the window from its estimate (prompts.search.sql). Drops `prompt_public_list`: every
public list is served by the partial `prompt_feed_*` indexes, and nothing else filters on
(status, is_deleted) by date.

Indexes are built and dropped CONCURRENTLY on PostgreSQL (the prompt table takes writes while
they build), so this migration is not atomic.
"""

from django.db import migrations

from prompts.search import sql


def concurrently(statement: str) -> str:
    return statement.replace("CREATE INDEX", "CREATE INDEX CONCURRENTLY").replace(
        "DROP INDEX", "DROP INDEX CONCURRENTLY"
    )


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in sql.POSTGRES_WINDOW_FORWARD:
            schema_editor.execute(concurrently(statement), params=None)
        schema_editor.execute("ANALYZE prompts_prompt")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in sql.POSTGRES_WINDOW_REVERSE:
            schema_editor.execute(concurrently(statement), params=None)


def drop_public_list(apps, schema_editor):
    prefix = "DROP INDEX CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else "DROP INDEX"
    schema_editor.execute(f"{prefix} IF EXISTS prompt_public_list")


def create_public_list(apps, schema_editor):
    schema_editor.execute(
        'CREATE INDEX IF NOT EXISTS prompt_public_list ON prompts_prompt ("status", "is_deleted", "created_on" DESC)'
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("prompts", "0012_search"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.RemoveIndex(model_name="prompt", name="prompt_public_list")],
            database_operations=[migrations.RunPython(drop_public_list, create_public_list)],
        ),
    ]

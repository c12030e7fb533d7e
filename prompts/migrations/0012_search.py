"""Search, feeds and trending: the database-maintained columns, the keyset indexes, and the
PostgreSQL full-text machinery (trigger-kept tsvector, GIN index, pg_trgm word dictionary).

The PostgreSQL-only parts run only there; SQLite (the development database) gets the same tables
and the like counter's triggers, and searches with a simpler fallback.
"""

import django.contrib.postgres.search
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from prompts.search import sql


def database_side(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = sql.POSTGRES_FORWARD + sql.POSTGRES_BACKFILL + sql.POSTGRES_LIKE_TRIGGERS
    elif vendor == "sqlite":
        statements = sql.SQLITE_LIKE_TRIGGERS
    else:
        statements = []
    for statement in [*statements, sql.LIKE_COUNT_BACKFILL]:
        schema_editor.execute(statement)


def drop_database_side(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = sql.POSTGRES_LIKE_TRIGGERS_REVERSE + sql.POSTGRES_REVERSE
    elif vendor == "sqlite":
        statements = sql.SQLITE_LIKE_TRIGGERS_REVERSE
    else:
        statements = []
    for statement in statements:
        schema_editor.execute(statement)


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name="refresh_trending",
        defaults={"func": "prompts.tasks.refresh_trending", "schedule_type": "I", "minutes": 10, "repeats": -1},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="refresh_trending").delete()


class Migration(migrations.Migration):

    dependencies = [
        ('prompts', '0011_upload_claim_checked_hash_private_slugs'),
        ('taggit', '0006_rename_taggeditem_content_type_object_id_taggit_tagg_content_8fc721_idx'),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='PromptDailyViews',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('views', models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name='SearchWord',
            fields=[
                ('word', models.CharField(max_length=40, primary_key=True, serialize=False)),
            ],
        ),
        migrations.AddField(
            model_name='prompt',
            name='like_count',
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name='prompt',
            name='search_vector',
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name='prompt',
            name='trending_score',
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddIndex(
            model_name='like',
            index=models.Index(fields=['created_at'], name='like_created'),
        ),
        migrations.AddIndex(
            model_name='prompt',
            index=models.Index(condition=models.Q(('is_deleted', False), ('status', 1)), fields=['created_on', 'id'], name='prompt_feed_newest'),
        ),
        migrations.AddIndex(
            model_name='prompt',
            index=models.Index(condition=models.Q(('is_deleted', False), ('status', 1)), fields=['like_count', 'id'], name='prompt_feed_liked'),
        ),
        migrations.AddIndex(
            model_name='prompt',
            index=models.Index(condition=models.Q(('is_deleted', False), ('status', 1)), fields=['trending_score', 'id'], name='prompt_feed_trending'),
        ),
        migrations.AddIndex(
            model_name='prompt',
            index=models.Index(condition=models.Q(('is_deleted', False), ('status', 1)), fields=['ai_generator', 'created_on', 'id'], name='prompt_feed_generator'),
        ),
        migrations.AddIndex(
            model_name='prompt',
            index=models.Index(condition=models.Q(('is_deleted', False), ('status', 1)), fields=['author', 'created_on', 'id'], name='prompt_feed_author'),
        ),
        migrations.AddField(
            model_name='promptdailyviews',
            name='prompt',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='daily_views', to='prompts.prompt'),
        ),
        migrations.AddIndex(
            model_name='promptdailyviews',
            index=models.Index(fields=['day'], name='prompt_views_day'),
        ),
        migrations.AddConstraint(
            model_name='promptdailyviews',
            constraint=models.UniqueConstraint(fields=('prompt', 'day'), name='prompt_views_per_day'),
        ),
        migrations.RunPython(database_side, drop_database_side),
        migrations.RunPython(create_schedule, remove_schedule),
    ]

from django.db import migrations


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name="purge_stale_media",
        defaults={"func": "prompts.tasks.purge_stale_media", "schedule_type": "I", "minutes": 5, "repeats": -1},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="purge_stale_media").delete()


class Migration(migrations.Migration):
    dependencies = [("prompts", "0007_metadata_and_duplicates"), ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]

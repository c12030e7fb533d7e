"""The scheduled jobs exist after every deploy: created (or corrected) by name, never duplicated."""
from datetime import datetime, time, timedelta, timezone

from django.db import migrations

SCHEDULES = [
    # name, function, schedule type (D daily, H hourly, I every `minutes`), minutes
    ("cleanup_deleted_prompts", "prompts.tasks.cleanup_deleted_prompts", "D", None),
    ("sweep_orphaned_uploads", "prompts.tasks.sweep_orphaned_uploads", "H", None),
    ("recover_stuck_prompts", "prompts.tasks.recover_stuck_prompts", "I", 5),
    ("retry_failed_ai", "prompts.tasks.retry_failed_ai", "I", 1),
]


def next_3am_utc() -> datetime:
    now = datetime.now(timezone.utc)
    today = datetime.combine(now.date(), time(3, 0), tzinfo=timezone.utc)
    return today if today > now else today + timedelta(days=1)


def create_schedules(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func, kind, minutes in SCHEDULES:
        schedule, created = Schedule.objects.update_or_create(
            name=name, defaults={"func": func, "schedule_type": kind, "minutes": minutes, "repeats": -1},
        )
        if created and name == "cleanup_deleted_prompts":
            # Daily schedules repeat at the time of their first run: 03:00 UTC.
            schedule.next_run = next_3am_utc()
            schedule.save(update_fields=["next_run"])


def remove_schedules(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("prompts", "0003_processing_lifecycle_fields"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]

import uuid

import pytest
from django.db import IntegrityError, transaction

from prompts.models import Prompt


def make_prompt(author, **fields):
    return Prompt.objects.create(author=author, content="a red fox in the snow", ai_generator="midjourney", **fields)


def test_slug_is_unique_once_set_but_many_prompts_may_have_none(alice):
    make_prompt(alice)
    make_prompt(alice)  # two prompts still processing: no slug yet, no clash
    make_prompt(alice, slug="red-fox")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_prompt(alice, slug="red-fox")
    assert Prompt.objects.filter(slug__isnull=True).count() == 2


def test_processing_uuid_is_a_random_uuid4_and_unique(alice):
    first, second = make_prompt(alice), make_prompt(alice)
    assert first.processing_uuid.version == 4
    assert first.processing_uuid != second.processing_uuid
    with pytest.raises(IntegrityError), transaction.atomic():
        make_prompt(alice, processing_uuid=first.processing_uuid)


def test_a_published_prompt_must_have_a_slug(alice):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_prompt(alice, status=Prompt.Status.PUBLISHED)


def test_a_deleted_prompt_must_say_when(alice):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_prompt(alice, is_deleted=True)


def test_new_prompt_starts_in_its_processing_state(alice):
    prompt = make_prompt(alice)
    assert prompt.title == "Processing..."
    assert prompt.slug is None
    assert prompt.status == Prompt.Status.DRAFT
    assert prompt.processing_complete is False
    assert isinstance(prompt.processing_uuid, uuid.UUID)


def test_tag_vocabulary_is_seeded(db):
    from taggit.models import Tag

    assert Tag.objects.count() >= 100
    assert Tag.objects.filter(name="Photography").exists()


def test_scheduled_jobs_exist_after_migrate_without_anyone_creating_them(db):
    from django_q.models import Schedule

    schedules = {s.name: s for s in Schedule.objects.all()}
    assert schedules["cleanup_deleted_prompts"].schedule_type == "D"
    assert (
        schedules["cleanup_deleted_prompts"].next_run.hour,
        schedules["cleanup_deleted_prompts"].next_run.minute,
    ) == (3, 0)
    assert schedules["recover_stuck_prompts"].minutes == 5
    assert schedules["sweep_orphaned_uploads"].schedule_type == "H"
    assert schedules["retry_failed_ai"].func == "prompts.tasks.retry_failed_ai"
    assert schedules["purge_stale_media"].minutes == 5

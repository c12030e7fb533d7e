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

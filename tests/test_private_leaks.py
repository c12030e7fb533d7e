"""Other people's unpublished prompts must not show through slugs or the duplicate hold."""

import re

import pytest

from prompts import tasks
from prompts.models import Prompt
from prompts.services import submission
from tests import media_samples
from tests.conftest import csrf_client
from tests.factories import ready_upload_for

pytestmark = pytest.mark.django_db(transaction=True)

AI_SLUG = "glowing-horizon-over-a-quiet-dreamlike-scene"  # the fake AI's default title


def processed(user, *, draft: bool, data: bytes | None = None) -> Prompt:
    upload = ready_upload_for(user, data)
    prompt = submission.submit_prompt(
        user=user, upload_id=upload.id, content="a glowing horizon", ai_generator="flux", save_as_draft=draft
    )
    tasks.generate_ai_content(prompt.id)
    return Prompt.objects.get(id=prompt.id)


def test_a_private_draft_with_the_same_title_does_not_number_a_public_slug(alice, bob, fake_openai):
    bobs_draft = processed(bob, draft=True)
    assert bobs_draft.status == Prompt.Status.DRAFT
    assert re.fullmatch(rf"{AI_SLUG}-[0-9a-f]{{8}}", bobs_draft.slug) and not bobs_draft.slug_public
    alices = processed(alice, draft=False)
    assert alices.slug == AI_SLUG  # not "-2": nothing public had that title
    # The draft's author still reaches it; nobody else does.
    assert csrf_client(bob).get(f"/prompt/{bobs_draft.slug}/").status_code == 200
    assert csrf_client(alice).get(f"/prompt/{bobs_draft.slug}/").status_code == 404


def test_a_draft_gets_a_clean_slug_when_published_and_its_draft_url_redirects(alice, alice_client, fake_openai):
    draft = processed(alice, draft=True)
    response = alice_client.post(
        f"/prompt/edit/{draft.processing_uuid}/",
        {
            "csrfmiddlewaretoken": alice_client.cookies["csrftoken"].value,
            "title": draft.title,
            "description": draft.excerpt,
            "tags": [tag.id for tag in draft.tags.all()],
            "content": draft.content,
            "ai_generator": draft.ai_generator,
            "publish": "on",
        },
    )
    published = Prompt.objects.get(id=draft.id)
    assert published.status == Prompt.Status.PUBLISHED and published.slug == AI_SLUG and published.slug_public
    assert response["Location"] == f"/prompt/{AI_SLUG}/"
    moved = csrf_client().get(f"/prompt/{draft.slug}/")
    assert moved.status_code == 301 and moved["Location"] == f"/prompt/{AI_SLUG}/"


def test_a_published_title_still_numbers_the_next_one(alice, bob, fake_openai):
    assert processed(alice, draft=False).slug == AI_SLUG
    assert processed(bob, draft=False).slug == f"{AI_SLUG}-2"  # what was public is public knowledge


def test_the_same_bytes_as_someone_elses_draft_are_not_held(alice, bob, fake_openai):
    data = media_samples.jpeg_bytes(color=(7, 77, 177))
    processed(bob, draft=True, data=data)
    alices = processed(alice, draft=False, data=data)
    assert alices.duplicate_of_id is None
    assert alices.moderation_status == Prompt.ModerationStatus.NOT_NEEDED and alices.status == Prompt.Status.PUBLISHED
    answer = csrf_client(alice).get(f"/api/prompt/status/{alices.processing_uuid}/").json()
    assert "awaiting_moderation" not in answer


def test_the_same_bytes_as_someone_elses_published_prompt_are_held(alice, bob, fake_openai):
    data = media_samples.jpeg_bytes(color=(8, 88, 188))
    bobs = processed(bob, draft=False, data=data)
    alices = processed(alice, draft=False, data=data)
    assert alices.duplicate_of_id == bobs.id and alices.moderation_status == Prompt.ModerationStatus.PENDING
    answer = csrf_client(alice).get(f"/api/prompt/status/{alices.processing_uuid}/").json()
    assert answer["awaiting_moderation"] is True

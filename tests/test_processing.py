"""From submit to a finished prompt: the AI task, its fallbacks, the status endpoint."""

import pytest
from django.core.cache import cache
from taggit.models import Tag

from prompts import tasks
from prompts.media import storage
from prompts.models import Prompt
from prompts.services import trash
from tests.conftest import csrf_client
from tests.factories import LONG_PROMPT, submitted_prompt

pytestmark = pytest.mark.django_db


def status(client, prompt):
    response = client.get(f"/api/prompt/status/{prompt.processing_uuid}/")
    return response.status_code, response.json()


def test_happy_path_publishes_with_ai_title_slug_tags_and_seo_fields(alice, alice_client, fake_openai):
    prompt = submitted_prompt(alice)
    assert status(alice_client, prompt)[1]["processing_complete"] is False
    assert tasks.generate_ai_content(prompt.id)["status"] == "success"
    prompt.refresh_from_db()
    assert prompt.title == "Glowing Horizon Over A Quiet Dreamlike Scene"
    assert prompt.slug == "glowing-horizon-over-a-quiet-dreamlike-scene"
    assert prompt.status == Prompt.Status.PUBLISHED and prompt.processing_complete and not prompt.needs_seo_review
    assert prompt.excerpt.startswith("A richly detailed AI-generated scene")
    assert prompt.alt_text == "Glowing Horizon Over A Quiet Dreamlike Scene - Midjourney Prompt - AI-generated image"
    assert prompt.seo_filename_base.startswith("glowing-horizon-over-midjourney-prompt-")
    assert prompt.relevance_score == 0.85
    tags = sorted(prompt.tags.names())
    assert len(tags) == 3 and set(tags) <= set(Tag.objects.values_list("name", flat=True))
    code, answer = status(alice_client, prompt)
    assert code == 200 and answer == {
        "processing_complete": True,
        "success": True,
        "title": prompt.title,
        "description": prompt.excerpt,
        "tags": tags,
        "slug": prompt.slug,
        "final_url": f"/prompt/{prompt.slug}/",
        "is_draft": False,
    }
    # what the model was asked: the image as data, the prompt text, and the vocabulary
    (request,) = fake_openai.requests_of("content")
    assert request.images[0]["url"].startswith("data:image/jpeg;base64,")
    assert LONG_PROMPT in request.text and "Allowed tags:" in request.text


def test_the_content_task_uses_the_cached_bytes_and_downloads_when_the_cache_is_empty(alice, fake_openai):
    prompt = submitted_prompt(alice)
    cache.clear()
    assert tasks.generate_ai_content(prompt.id)["status"] == "success"  # downloaded from storage


def test_draft_requested_stays_draft(alice, alice_client, fake_openai):
    prompt = submitted_prompt(alice, draft=True)
    tasks.generate_ai_content(prompt.id)
    prompt.refresh_from_db()
    assert prompt.status == Prompt.Status.DRAFT and not prompt.needs_seo_review
    assert status(alice_client, prompt)[1]["is_draft"] is True


@pytest.mark.parametrize(
    "script,reason",
    [
        ({"delay": 3}, "ai_timeout"),
        ({"status": 500}, "ai_error"),
        ({"status": 429, "retry_after": 0}, "ai_error"),
        ({"behaviour": "malformed"}, "malformed"),
        ({"behaviour": "truncated"}, "malformed"),
        ({"behaviour": "refusal"}, "malformed"),
    ],
)
def test_ai_failures_fall_back_to_a_saved_draft_for_review(alice, alice_client, fake_openai, settings, script, reason):
    settings.AI_TIMEOUT_SECONDS = 1
    fake_openai.script("content", **script)
    prompt = submitted_prompt(alice)
    result = tasks.generate_ai_content(prompt.id)
    assert result == {"status": "fallback", "reason": reason}
    prompt.refresh_from_db()
    assert prompt.title == "a cinematic vertical frame of a stylish young..."  # 50 characters, cut at a word
    assert prompt.slug.startswith("a-cinematic-vertical-frame-of-a-stylish-young-")  # a draft's slug
    assert prompt.excerpt == "" and list(prompt.tags.all()) == []
    assert prompt.status == Prompt.Status.DRAFT and prompt.needs_seo_review and prompt.seo_review_reason == reason
    assert prompt.processing_complete is True
    code, answer = status(alice_client, prompt)
    assert answer == {
        "processing_complete": True,
        "success": False,
        "title": prompt.title,
        "description": "",
        "tags": [],
        "slug": prompt.slug,
        "final_url": f"/prompt/{prompt.slug}/",
        "is_draft": True,
        "needs_review": True,
    }


def test_image_download_failure_falls_back(alice, fake_openai):
    prompt = submitted_prompt(alice)
    cache.clear()
    storage.delete(prompt.media_keys["original"])
    assert tasks.generate_ai_content(prompt.id) == {"status": "fallback", "reason": "download_failed"}
    prompt.refresh_from_db()
    assert prompt.needs_seo_review and prompt.status == Prompt.Status.DRAFT and fake_openai.requests_of("content") == []


def test_partial_answer_keeps_what_came_and_flags_for_review(alice, alice_client, fake_openai):
    fake_openai.script(
        "content",
        {
            "title": "Vintage Fashion Against Urban Backdrop",
            "description": None,
            "tags": [],
            "relevance_score": None,
            "relevance_explanation": None,
        },
    )
    prompt = submitted_prompt(alice)
    assert tasks.generate_ai_content(prompt.id)["status"] == "partial"
    prompt.refresh_from_db()
    assert prompt.title == "Vintage Fashion Against Urban Backdrop"
    assert prompt.slug.startswith("vintage-fashion-against-urban-backdrop-")  # a draft's slug
    assert prompt.needs_seo_review and prompt.seo_review_reason == "partial" and prompt.status == Prompt.Status.DRAFT
    assert status(alice_client, prompt)[1]["success"] is False


def test_tags_outside_the_vocabulary_are_dropped_never_created(alice, fake_openai):
    before = Tag.objects.count()
    fake_openai.script(
        "content",
        {
            "title": "Neon Cat In The Rain",
            "description": "A cat in neon rain.",
            "tags": ["Cats", "neon lighting", "Totally New Tag", "<script>x</script>"],
            "relevance_score": 0.5,
            "relevance_explanation": "ok",
        },
    )
    prompt = submitted_prompt(alice)
    tasks.generate_ai_content(prompt.id)
    assert sorted(Prompt.objects.get(id=prompt.id).tags.names()) == ["Cats", "Neon Lighting"]
    assert Tag.objects.count() == before


def test_html_from_the_ai_is_stripped_to_text(alice, fake_openai):
    fake_openai.script(
        "content",
        {
            "title": '<img src=x onerror=alert(1)>Sunset "Over" <b>Hills</b>',
            "description": "<script>alert(1)</script>Warm light.",
            "tags": ["Landscape"],
            "relevance_score": 0.9,
            "relevance_explanation": "fine",
        },
    )
    prompt = submitted_prompt(alice)
    tasks.generate_ai_content(prompt.id)
    prompt.refresh_from_db()
    assert "<" not in prompt.title and "<" not in prompt.excerpt
    assert prompt.title == 'Sunset "Over" Hills' and "Warm light." in prompt.excerpt


def test_slug_collisions_get_a_number(alice, fake_openai):
    first, second, third = submitted_prompt(alice), submitted_prompt(alice), submitted_prompt(alice)
    for prompt in (first, second, third):
        tasks.generate_ai_content(prompt.id)
    slugs = [Prompt.objects.get(id=p.id).slug for p in (first, second, third)]
    base = "glowing-horizon-over-a-quiet-dreamlike-scene"
    assert slugs == [base, f"{base}-2", f"{base}-3"]


def test_running_the_task_twice_changes_nothing_the_second_time(alice, fake_openai):
    prompt = submitted_prompt(alice)
    assert tasks.generate_ai_content(prompt.id)["status"] == "success"
    before = Prompt.objects.get(id=prompt.id)
    assert tasks.generate_ai_content(prompt.id) == {"status": "skipped", "reason": "complete"}
    after = Prompt.objects.get(id=prompt.id)
    assert (after.title, after.slug, sorted(after.tags.names())) == (
        before.title,
        before.slug,
        sorted(before.tags.names()),
    )
    assert len(fake_openai.requests_of("content")) == 1


def test_a_deleted_prompt_is_not_processed(alice, fake_openai):
    prompt = submitted_prompt(alice)
    trash.cancel_prompt(user=alice, processing_uuid=prompt.processing_uuid)
    assert tasks.generate_ai_content(prompt.id) == {"status": "skipped", "reason": "deleted"}
    prompt.refresh_from_db()
    assert prompt.title == "Processing..." and prompt.status == Prompt.Status.DRAFT
    assert fake_openai.requests_of("content") == []


def test_a_flagged_prompt_stays_draft_even_when_the_ai_succeeds(alice, fake_openai):
    prompt = submitted_prompt(alice)
    Prompt.objects.filter(id=prompt.id).update(moderation_status=Prompt.ModerationStatus.PENDING)
    tasks.generate_ai_content(prompt.id)
    prompt.refresh_from_db()
    assert prompt.status == Prompt.Status.DRAFT and prompt.title.startswith("Glowing")


def test_processing_page_and_status_are_for_the_author_only(alice, bob, alice_client, fake_openai):
    prompt = submitted_prompt(alice)
    page = alice_client.get(f"/prompt/processing/{prompt.processing_uuid}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('<span aria-hidden="true">⏳</span> Generating...') == 3
    assert '<span aria-hidden="true">📋</span> Copy Prompt' in html and LONG_PROMPT in html
    assert 'aria-disabled="true"' in html  # Edit shown, disabled
    assert "Just now" in html and "@alice" in html
    bob_client = csrf_client(bob)
    assert bob_client.get(f"/prompt/processing/{prompt.processing_uuid}/").status_code == 404
    code, answer = status(bob_client, prompt)
    assert code == 404 and answer == {"error": "This prompt was not found."}
    assert csrf_client().get(f"/api/prompt/status/{prompt.processing_uuid}/").status_code == 401


def test_the_status_endpoint_is_one_query_while_processing(
    alice, alice_client, fake_openai, django_assert_max_num_queries
):
    prompt = submitted_prompt(alice)
    url = f"/api/prompt/status/{prompt.processing_uuid}/"
    alice_client.get(url)
    # session + user + the prompt itself
    with django_assert_max_num_queries(3):
        alice_client.get(url)


def test_try_again_requeues_a_fallback_and_fills_in_the_details(alice, alice_client, fake_openai):
    fake_openai.script("content", status=500, times=1)
    prompt = submitted_prompt(alice)
    assert tasks.generate_ai_content(prompt.id)["status"] == "fallback"
    response = alice_client.post(
        f"/api/prompt/retry/{prompt.processing_uuid}/",
        "{}",
        content_type="application/json",
        HTTP_X_CSRFTOKEN=alice_client.cookies["csrftoken"].value,
    )
    assert response.status_code == 200
    assert status(alice_client, prompt)[1]["processing_complete"] is False
    assert tasks.generate_ai_content(prompt.id)["status"] == "success"
    prompt.refresh_from_db()
    assert prompt.status == Prompt.Status.PUBLISHED and not prompt.needs_seo_review
    assert prompt.slug == "glowing-horizon-over-a-quiet-dreamlike-scene"  # the fallback slug was replaced


def test_cancel_moves_to_trash_with_the_spec_message(alice, alice_client, fake_openai):
    prompt = submitted_prompt(alice)
    response = alice_client.post(
        f"/prompt/processing/{prompt.processing_uuid}/cancel/",
        {"csrfmiddlewaretoken": alice_client.cookies["csrftoken"].value},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/upload/"
    assert "Upload cancelled. You can restore it from trash within 5 days." in response.content.decode()
    prompt.refresh_from_db()
    assert prompt.is_deleted and prompt.deleted_at is not None
    assert alice_client.get(f"/prompt/processing/{prompt.processing_uuid}/").status_code == 404


def test_edit_completes_a_flagged_prompt_and_publishes(alice, alice_client, fake_openai):
    fake_openai.script("content", status=500)
    prompt = submitted_prompt(alice)
    tasks.generate_ai_content(prompt.id)
    landscape = Tag.objects.get(name="Landscape")
    response = alice_client.post(
        f"/prompt/edit/{prompt.processing_uuid}/",
        {
            "csrfmiddlewaretoken": alice_client.cookies["csrftoken"].value,
            "title": "Cinematic Eighties Street Portrait",
            "description": "A woman beside a classic car.",
            "tags": [landscape.id],
            "content": LONG_PROMPT,
            "ai_generator": "midjourney",
            "publish": "on",
        },
    )
    prompt.refresh_from_db()
    assert response.status_code == 302 and response["Location"] == f"/prompt/{prompt.slug}/"
    assert not prompt.needs_seo_review and prompt.status == Prompt.Status.PUBLISHED
    assert prompt.title == "Cinematic Eighties Street Portrait" and list(prompt.tags.names()) == ["Landscape"]
    assert csrf_client().get(f"/prompt/{prompt.slug}/").status_code == 200


def test_waiting_shows_queue_position_and_an_estimate(alice, bob, alice_client, fake_openai):
    earlier = [submitted_prompt(bob), submitted_prompt(bob)]
    mine = submitted_prompt(alice)
    code, answer = status(alice_client, mine)
    assert answer["queue_position"] == 2
    assert answer["estimated_seconds"] >= 1
    assert answer["estimate_text"].startswith("About ") and answer["estimate_text"].endswith("2 uploads ahead of yours")
    for prompt in earlier:
        tasks.generate_ai_content(prompt.id)
    code, answer = status(alice_client, mine)
    assert answer["queue_position"] == 0 and "ahead" not in answer["estimate_text"]


@pytest.mark.django_db(transaction=True)  # the prompt completes in another thread, on its own connection
def test_long_poll_answers_when_the_prompt_completes(alice, alice_client, fake_openai):
    """The request waits on the server, and answers after the prompt completed, not at once."""
    import threading
    import time

    from django.core.signals import request_started
    from django.db import connection

    prompt = submitted_prompt(alice)
    url = f"/api/prompt/status/{prompt.processing_uuid}/?wait=15"
    request_began = threading.Event()
    completed_at = []

    def mark_started(**kwargs):
        request_began.set()

    def finish_while_it_waits():
        try:
            assert request_began.wait(10), "the status request never started"
            time.sleep(0.5)  # the request is waiting on the server by now (an answer at once came ~10 ms in)
            completed_at.append(time.monotonic())  # the prompt cannot read as complete before this moment
            tasks.generate_ai_content(prompt.id)
        finally:
            connection.close()

    request_started.connect(mark_started)
    worker = threading.Thread(target=finish_while_it_waits)
    worker.start()
    try:
        answer = alice_client.get(url).json()
        answered_at = time.monotonic()
    finally:
        request_started.disconnect(mark_started)
        worker.join()
    assert completed_at, "the prompt was not completed"
    assert answered_at >= completed_at[0], "the status request answered before the prompt completed"
    assert answer["processing_complete"] is True and answer["success"] is True and answer["waited"] is True


def test_long_poll_gives_up_at_its_deadline_with_the_current_state(alice, alice_client, fake_openai):
    prompt = submitted_prompt(alice)
    answer = alice_client.get(f"/api/prompt/status/{prompt.processing_uuid}/?wait=0.3").json()
    assert answer["processing_complete"] is False and "estimate_text" in answer
    assert alice_client.get(f"/api/prompt/status/{prompt.processing_uuid}/?wait=abc").status_code == 200


@pytest.mark.django_db(transaction=True)  # the tasks are queued on commit
def test_retry_all_requeues_every_limited_prompt_of_the_author_only(alice, bob, fake_openai):
    from django_q.models import OrmQ

    fake_openai.script("content", status=500)
    mine = [submitted_prompt(alice), submitted_prompt(alice)]
    others = submitted_prompt(bob)
    for prompt in [*mine, others]:
        tasks.generate_ai_content(prompt.id)
    OrmQ.objects.all().delete()
    client = csrf_client(alice)
    profile = client.get("/u/alice/").content.decode()
    assert "Saved with limited details (2)" in profile and "Retry all" in profile
    assert "Saved with limited details" not in csrf_client(bob).get("/u/alice/").content.decode()
    response = client.post_form("/me/retry-all/", follow=True)
    assert "2 prompts queued to try the AI again." in response.content.decode()
    queued = sorted(t.task["args"][0] for t in OrmQ.objects.all() if t.func() == "prompts.tasks.generate_ai_content")
    assert queued == sorted(p.id for p in mine)


def test_long_polls_past_the_per_process_limit_answer_at_once(alice, alice_client, fake_openai):
    from prompts import selectors

    prompt = submitted_prompt(alice)
    taken = 0
    while selectors._LONG_POLLS.acquire(blocking=False):  # every waiting slot is busy
        taken += 1
    try:
        answer = alice_client.get(f"/api/prompt/status/{prompt.processing_uuid}/?wait=15").json()
    finally:
        for _ in range(taken):
            selectors._LONG_POLLS.release()
    assert taken >= 1
    assert answer["processing_complete"] is False and answer["waited"] is False
    waited = alice_client.get(f"/api/prompt/status/{prompt.processing_uuid}/?wait=0.2").json()
    assert waited["waited"] is True


def test_the_processing_page_fetches_what_its_script_imports_beside_the_script(alice, alice_client):
    """processing.js's imports are preloaded from the head: fetched with it, not only once it is parsed
    (the page's modal waits on DOMContentLoaded, which waits for every module)."""
    import re
    from pathlib import Path

    from django.conf import settings

    script = (Path(settings.BASE_DIR) / "static" / "js" / "processing.js").read_text()
    imports = re.findall(r"^import .* from '\./([\w.]+)';$", script, re.M)
    assert imports
    prompt = submitted_prompt(alice)
    html = alice_client.get(f"/prompt/processing/{prompt.processing_uuid}/").content.decode()
    head = html[: html.index("</head>")]
    for name in imports:
        assert re.search(rf'<link rel="modulepreload" href="[^"]*/js/{re.escape(name)}">', head), name

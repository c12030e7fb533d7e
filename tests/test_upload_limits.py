"""Abuse of the limits: uploads in flight count toward the weekly limit (checked at presign, complete and
submit), and "Try again" queues at most one AI task at a time, never past the attempt cap."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import OrmQ

from prompts import tasks
from prompts.models import Profile, Prompt, Upload
from prompts.services import ai_content, ratelimit, submission, uploads
from tests import media_samples
from tests.factories import ready_upload_for
from tests.test_upload_claim import Tab
from tests.upload_flow import post_json, presign, put_bytes

pytestmark = pytest.mark.django_db(transaction=True)


# --- the weekly limit ----------------------------------------------------------------------


def test_parallel_presigns_cannot_open_more_uploads_than_the_weekly_limit(alice, live_server, settings):
    """The probe: 8 presigned-but-unfinished uploads under a limit of 3 all completed and were submitted."""
    settings.UPLOAD_WEEKLY_LIMIT = 3
    tab = Tab(alice, live_server.url)
    body = {"filename": "a.jpg", "content_type": "image/jpeg", "file_size": 1000}
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: tab.post("/api/upload/b2/presign/", body), range(8)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * 3 + [429] * 5
    assert Upload.objects.filter(owner=alice).count() == 3
    refused = next(answer for answer in answers if answer.status_code == 429)
    assert "maximum of 3 uploads this week" in refused.json()["error"]


def test_complete_checks_the_weekly_limit_again(alice, alice_client, live_server, settings):
    """A URL presigned long ago (no longer counted as in flight) cannot be completed past the limit."""
    settings.UPLOAD_WEEKLY_LIMIT = 2
    data = media_samples.jpeg_bytes()
    _, old = presign(alice_client, file_size=len(data))
    assert put_bytes(old, data, base_url=live_server.url).status_code == 200
    Upload.objects.filter(id=old["upload_id"]).update(
        created_at=timezone.now() - timedelta(seconds=settings.PRESIGN_EXPIRES_SECONDS + 60)
    )
    assert [presign(alice_client)[0] for _ in range(2)] == [200, 200]  # the old one is no longer in flight
    code, answer = post_json(alice_client, "/api/upload/b2/complete/", {"upload_id": old["upload_id"]})
    assert code == 429 and "maximum of 2 uploads this week" in answer["error"]
    assert Upload.objects.get(id=old["upload_id"]).state == Upload.State.PRESIGNED


def test_submit_checks_the_weekly_limit_again(alice, alice_client, settings):
    """Ready uploads made while premium (no limit) cannot all be submitted once premium ended."""
    settings.UPLOAD_WEEKLY_LIMIT = 2
    Profile.objects.create(user=alice, is_premium=True)
    ready = [ready_upload_for(alice) for _ in range(3)]
    Profile.objects.filter(user=alice).update(is_premium=False)
    response = alice_client.post(
        "/upload/submit/",
        {
            "csrfmiddlewaretoken": alice_client.cookies["csrftoken"].value,
            "upload_id": str(ready[0].id),
            "content": "a quiet harbour at dawn",
            "ai_generator": "flux",
        },
    )
    assert response.status_code == 429
    assert "maximum of 2 uploads this week" in response.content.decode()
    assert not Prompt.objects.filter(author=alice).exists()


def test_in_flight_uploads_show_in_the_weekly_count(alice, alice_client):
    presign(alice_client)
    assert uploads.weekly_upload_count(alice) == 1


# --- "Try again" ---------------------------------------------------------------------------


def _fallback_prompt(user, fake_openai) -> Prompt:
    fake_openai.script("content", status=500)
    upload = ready_upload_for(user)
    prompt = submission.submit_prompt(
        user=user, upload_id=upload.id, content="a lighthouse at dusk", ai_generator="flux", save_as_draft=False
    )
    assert tasks.generate_ai_content(prompt.id)["status"] == "fallback"
    return Prompt.objects.get(id=prompt.id)


def _queued_ai_tasks(prompt: Prompt) -> int:
    return sum(
        1
        for task in OrmQ.objects.all()
        if task.func() == "prompts.tasks.generate_ai_content" and task.task["args"] == (prompt.id,)
    )


def test_many_retries_queue_one_task_while_it_waits(alice, alice_client, fake_openai):
    prompt = _fallback_prompt(alice, fake_openai)
    OrmQ.objects.all().delete()  # what submit queued (no worker runs here)
    url = f"/api/prompt/retry/{prompt.processing_uuid}/"
    answers = [post_json(alice_client, url, {}) for _ in range(300)]
    allowed = ai_content.RETRY_LIMIT
    assert [code for code, _ in answers] == [200] * allowed + [429] * (300 - allowed)  # rate-limited per person
    assert all(answer["queued"] for _, answer in answers[:allowed])
    assert "try again" in answers[-1][1]["error"]
    assert _queued_ai_tasks(prompt) == 1
    prompt.refresh_from_db()
    assert prompt.ai_queued_at is not None and not prompt.processing_complete
    # Once the task has run (and failed again), and the window has passed, the next "Try again" queues one more.
    assert tasks.generate_ai_content(prompt.id)["status"] == "fallback"
    ratelimit.reset(scope="ai-retry", key=str(alice.pk), limit=ai_content.RETRY_LIMIT)
    assert post_json(alice_client, url, {})[0] == 200
    assert _queued_ai_tasks(prompt) == 2


def test_a_task_lost_from_the_queue_does_not_block_try_again_for_ever(alice, alice_client, fake_openai):
    prompt = _fallback_prompt(alice, fake_openai)
    url = f"/api/prompt/retry/{prompt.processing_uuid}/"
    post_json(alice_client, url, {})
    OrmQ.objects.all().delete()  # the queued task is lost
    Prompt.objects.filter(id=prompt.id).update(
        ai_queued_at=timezone.now() - ai_content.AI_QUEUED_LOST_AFTER - timedelta(seconds=1)
    )
    assert post_json(alice_client, url, {})[0] == 200
    assert _queued_ai_tasks(prompt) == 1


def test_ai_attempts_never_pass_the_cap(alice, alice_client, fake_openai):
    prompt = _fallback_prompt(alice, fake_openai)
    url = f"/api/prompt/retry/{prompt.processing_uuid}/"
    for _ in range(ai_content.AI_ATTEMPTS_CAP + 5):
        if post_json(alice_client, url, {})[0] != 200:
            break
        tasks.generate_ai_content(prompt.id)
    prompt.refresh_from_db()
    assert prompt.ai_attempts == ai_content.AI_ATTEMPTS_CAP
    code, answer = post_json(alice_client, url, {})
    assert code == 409 and "tried several times" in answer["error"]
    # A task started at the cap anyway (a stuck-prompt recovery, a duplicate delivery) calls no AI.
    calls = len(fake_openai.requests_of("content"))
    Prompt.objects.filter(id=prompt.id).update(processing_complete=False)
    assert tasks.generate_ai_content(prompt.id)["status"] == "fallback"
    prompt.refresh_from_db()
    assert prompt.ai_attempts == ai_content.AI_ATTEMPTS_CAP and prompt.processing_complete
    assert len(fake_openai.requests_of("content")) == calls

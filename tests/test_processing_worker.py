"""Submit -> real qcluster -> finished prompt, with the fake OpenAI server answering the worker over HTTP."""

import pytest
from django_q.models import Task

from prompts.models import Prompt
from prompts.services import ai_content, trash
from tests.factories import submitted_through_the_form
from tests.processes import start_qcluster, stop_process, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture
def worker(fake_openai, settings):
    env = {**fake_openai.env(timeout=1, max_retries=0), "MEDIA_ROOT": str(settings.MEDIA_ROOT)}
    process = start_qcluster(extra_env=env)
    yield process
    stop_process(process)


def wait_complete(client, prompt, timeout=30):
    url = f"/api/prompt/status/{prompt.processing_uuid}/"
    return wait_until(
        lambda: (lambda a: a if a["processing_complete"] else None)(client.get(url).json()),
        timeout=timeout,
        interval=0.1,
        message="processing_complete",
    )


def test_worker_turns_a_submit_into_a_published_prompt_and_renames_its_files(alice, alice_client, worker):
    prompt = submitted_through_the_form(alice_client, alice, "a lighthouse on a cliff at dusk, oil painting")
    answer = wait_complete(alice_client, prompt)
    assert answer["success"] is True and answer["is_draft"] is False
    assert answer["final_url"] == "/prompt/glowing-horizon-over-a-quiet-dreamlike-scene/"
    assert alice_client.get(answer["final_url"]).status_code == 200
    # the deferred SEO rename runs after completion, without the user waiting
    renamed = wait_until(
        lambda: Prompt.objects.filter(id=prompt.id, media_keys__thumb__startswith="public/").first(),
        timeout=30,
        message="the SEO rename",
    )
    assert renamed.b2_thumb_url.endswith(
        f"public/{renamed.seo_filename_base}-{renamed.processing_uuid.hex[:8]}/thumb.jpg"
    )
    assert alice_client.get(renamed.b2_thumb_url).status_code == 200
    # the original and six variants, deleted by purge_stale_media after the grace period
    assert len(renamed.stale_media_keys) == 7


def test_worker_falls_back_when_the_ai_times_out(alice, alice_client, worker):
    prompt = submitted_through_the_form(alice_client, alice, "a koi pond in the rain [[ai:timeout]]")
    answer = wait_complete(alice_client, prompt)
    assert answer["success"] is False and answer["needs_review"] is True and answer["is_draft"] is True
    prompt.refresh_from_db()
    assert prompt.seo_review_reason == "ai_timeout" and prompt.title == "a koi pond in the rain [[ai:timeout]]"


def test_cancel_while_the_ai_runs_publishes_nothing(alice, alice_client, worker, fake_openai):
    prompt = submitted_through_the_form(alice_client, alice, "a desert caravan at noon [[ai:delay=0.8]]")
    wait_until(lambda: fake_openai.requests_of("content"), timeout=20, message="the AI call to start")
    trash.cancel_prompt(user=alice, processing_uuid=prompt.processing_uuid)
    # the task finishes its AI call, sees the prompt was deleted, and saves nothing
    done = wait_until(
        lambda: Task.objects.filter(name=f"ai_content_{prompt.id}").first(), timeout=20, message="the AI task to finish"
    )
    assert done.success and done.result == {"status": "skipped", "reason": "deleted"}
    prompt.refresh_from_db()
    assert prompt.is_deleted and prompt.status == Prompt.Status.DRAFT and prompt.processing_complete is False
    assert prompt.title == "Processing..."


def test_a_task_lost_with_a_killed_worker_is_recovered_and_not_duplicated(alice, alice_client, fake_openai, settings):
    import signal

    env = {**fake_openai.env(timeout=5, max_retries=0), "MEDIA_ROOT": str(settings.MEDIA_ROOT)}
    first = start_qcluster(extra_env=env)
    prompt = submitted_through_the_form(alice_client, alice, "a misty pine forest [[ai:delay=3]]")
    wait_until(lambda: fake_openai.requests_of("content"), timeout=20, message="the AI call to start")
    stop_process(first, sig=signal.SIGKILL)  # the worker dies mid-task
    prompt.refresh_from_db()
    assert prompt.processing_complete is False
    from datetime import timedelta

    from django.utils import timezone

    assert ai_content.recover_stuck_prompts(now=timezone.now() + timedelta(minutes=11))["requeued"] == 1
    second = start_qcluster(extra_env=env)
    try:
        answer = wait_complete(alice_client, prompt, timeout=30)
    finally:
        stop_process(second)
    assert answer["success"] is True
    prompt.refresh_from_db()
    assert sorted(prompt.tags.names()) and prompt.tags.count() == 3  # applied once, not twice
    assert Prompt.objects.filter(upload=prompt.upload).count() == 1


# --- Lost tasks come back in seconds (issue 24) --------------------------------------------------


def test_a_prompt_whose_ai_task_failed_for_good_is_queued_again_by_the_watchdog(alice, alice_client, fake_openai):
    """A task that failed (e.g. the database was away longer than its retries) leaves the queue with
    `ack_failures`: the worker's watchdog notices the prompt has no task, and the page is told it is retrying."""
    from django_q.models import OrmQ

    prompt = submitted_through_the_form(alice_client, alice, "a misty pine forest at dawn")
    Prompt.objects.filter(id=prompt.id).update(ai_attempts=1, ai_queued_at=None)  # it started, then failed
    OrmQ.objects.all().delete()  # ... and Django-Q acknowledged the failure
    status = alice_client.get(f"/api/prompt/status/{prompt.processing_uuid}/").json()
    assert status["processing_complete"] is False and status["retrying"] is False
    worker = start_qcluster(extra_env={**fake_openai.env(timeout=5, max_retries=0)})
    try:
        wait_until(
            lambda: (
                alice_client.get(f"/api/prompt/status/{prompt.processing_uuid}/").json().get("retrying")
                or Prompt.objects.get(id=prompt.id).processing_complete
            ),
            timeout=40,
            message="the watchdog to queue the prompt again",
        )
        answer = wait_complete(alice_client, prompt, timeout=40)
    finally:
        stop_process(worker)
    assert answer["success"] is True
    assert len(fake_openai.requests_of("content")) == 1


def test_a_task_running_on_a_killed_cluster_runs_again_in_seconds_not_after_its_lease(
    alice, alice_client, fake_openai, settings
):
    """SIGKILL leaves no time to hand the task back: its short lease, no longer renewed, runs out in 20 s
    and another cluster takes it (Django-Q's own lease is 180 s, past the page's 120 s limit)."""
    import signal

    from django.utils import timezone
    from django_q.models import OrmQ

    env = {**fake_openai.env(timeout=30, max_retries=0), "MEDIA_ROOT": str(settings.MEDIA_ROOT)}
    fake_openai.script("content", delay=20, times=1)  # the first call is still running when the cluster dies
    first = start_qcluster(extra_env=env)
    second = None
    try:
        prompt = submitted_through_the_form(alice_client, alice, "a misty pine forest")
        wait_until(lambda: fake_openai.requests_of("content"), timeout=30, message="the AI call to start")
        lease = OrmQ.objects.get().lock - timezone.now()
        assert lease.total_seconds() <= 25  # started: the short lease, renewed while the worker lives
        stop_process(first, sig=signal.SIGKILL)
        second = start_qcluster(extra_env=env)
        answer = wait_complete(alice_client, prompt, timeout=60)
    finally:
        stop_process(first)
        if second is not None:
            stop_process(second)
    assert answer["success"] is True
    prompt.refresh_from_db()
    assert prompt.tags.count() == 3 and prompt.ai_attempts == 2

"""Heroku stops a worker dyno with SIGTERM to every process in it and SIGKILL 30 s later: the real
qcluster must be gone by then, and the task it was running must run again, exactly once, at once
(not when its 180 s lease runs out)."""

import os
import signal
import subprocess

import pytest
from django_q.models import OrmQ, Task

from tests.factories import submitted_through_the_form
from tests.processes import start_qcluster, stop_process, wait_until
from tests.test_processing_worker import wait_complete

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

HEROKU_GRACE_SECONDS = 30


def queued_names() -> list[str]:
    return [row.name() for row in OrmQ.objects.all()]


@pytest.mark.parametrize("signalled", ["every process (Heroku)", "the main process only"])
def test_sigterm_during_a_long_ai_call_exits_in_time_and_the_task_runs_again_once(
    signalled, alice, alice_client, fake_openai, settings
):
    env = {
        **fake_openai.env(timeout=80, max_retries=0),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    fake_openai.script("content", delay=60, times=1)  # the first call is long; later ones answer
    first = start_qcluster(extra_env=env)
    second = None
    try:
        prompt = submitted_through_the_form(alice_client, alice, "a harbour at dawn")
        wait_until(
            lambda: fake_openai.requests_of("content"),
            timeout=30,
            message="the AI call to start",
        )
        if signalled.startswith("every"):
            os.killpg(first.pid, signal.SIGTERM)  # as Heroku does: every process of the dyno
        else:
            os.kill(first.pid, signal.SIGTERM)  # as a person's `kill <pid>` does
        try:
            first.wait(timeout=HEROKU_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail("the cluster was still running 30 s after SIGTERM (Heroku would SIGKILL it)")
        assert not Task.objects.filter(name=f"ai_content_{prompt.id}").exists()
        # The interrupted task is handed back, not left leased to a process that is gone.
        assert f"ai_content_{prompt.id}" in queued_names()

        second = start_qcluster(extra_env=env)
        answer = wait_complete(alice_client, prompt, timeout=30)
        assert answer["success"] is True
        done = wait_until(
            lambda: Task.objects.filter(name=f"ai_content_{prompt.id}").first(),
            timeout=20,
            message="the task's result",
        )
        assert done.success
        # acknowledged (deleted from the queue) after the result is saved: no copy left to run again
        wait_until(
            lambda: f"ai_content_{prompt.id}" not in queued_names(),
            timeout=10,
            message="the task to leave the queue",
        )
        assert len(fake_openai.requests_of("content")) == 2  # interrupted once, run again once
        assert Task.objects.filter(name=f"ai_content_{prompt.id}").count() == 1
    finally:
        stop_process(first)
        if second is not None:
            stop_process(second)

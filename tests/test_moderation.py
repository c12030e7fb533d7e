"""Moderation through the real openai SDK against the fake OpenAI server: each severity and each failure."""

import pytest
from django.core.cache import cache

from prompts.media import storage
from prompts.models import Upload
from prompts.services import uploads
from tests import media_samples
from tests.upload_flow import post_json, upload_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def uploaded(alice_client, live_server):
    def make(data=None, **kwargs):
        return upload_file(alice_client, data or media_samples.jpeg_bytes(), base_url=live_server.url, **kwargs)[
            "upload_id"
        ]

    return make


def moderate(client, upload_id):
    return post_json(client, "/api/upload/b2/moderate/", {"upload_id": upload_id})


@pytest.mark.parametrize(
    "severity,action,state",
    [
        ("none", "allow", Upload.State.MODERATED),
        ("low", "allow", Upload.State.MODERATED),
        ("medium", "allow", Upload.State.MODERATED),
        ("high", "review", Upload.State.MODERATED),
        ("critical", "reject", Upload.State.REJECTED),
    ],
)
def test_each_severity_has_its_action(alice_client, uploaded, fake_openai, severity, action, state):
    fake_openai.script(
        "moderation",
        {"severity": severity, "violations": ["example"] if severity != "none" else [], "explanation": "fake"},
    )
    upload_id = uploaded()
    code, answer = moderate(alice_client, upload_id)
    assert code == 200
    assert answer["severity"] == severity and answer["action"] == action and answer["checked"] is True
    upload = Upload.objects.get(id=upload_id)
    assert upload.state == state and upload.moderation_action == action and upload.moderation_severity == severity
    assert storage.exists(upload.file_key) == (action != "reject")
    if action == "reject":
        assert answer["message"] == "This image contains content that violates our community guidelines."
        assert post_json(alice_client, "/api/upload/b2/variants/", {"upload_id": upload_id})[0] == 409
    if action == "review":
        assert "needs admin review" in answer["message"]
    # the image went to the model as a base64 data URL, never as a storage URL
    (request,) = fake_openai.requests_of("moderation")
    assert request.images[0]["url"].startswith("data:image/jpeg;base64,")
    assert request.images[0]["detail"] == "low"


@pytest.mark.parametrize(
    "behaviour",
    [
        {"behaviour": "malformed"},
        {"behaviour": "truncated"},
        {"behaviour": "refusal"},
        {"behaviour": "missing_fields"},
        {"status": 500},
        {"status": 429, "retry_after": 0},
        {"delay": 3},
    ],
)
def test_a_failed_check_holds_the_upload_for_review_and_keeps_it(
    alice_client, uploaded, fake_openai, settings, behaviour
):
    settings.AI_TIMEOUT_SECONDS = 1
    fake_openai.script("moderation", **behaviour)
    upload_id = uploaded()
    code, answer = moderate(alice_client, upload_id)
    assert code == 200
    assert answer["action"] == "review" and answer["checked"] is False
    assert answer["message"] == uploads.MODERATION_FAILED_NOTE
    upload = Upload.objects.get(id=upload_id)
    assert upload.state == Upload.State.MODERATED and storage.exists(upload.file_key)
    # the upload can still go on (as a draft held for a moderator)
    assert post_json(alice_client, "/api/upload/b2/variants/", {"upload_id": upload_id})[0] == 200


def test_moderated_bytes_are_cached_for_the_content_task(alice_client, uploaded, fake_openai):
    cache.clear()
    upload_id = uploaded()
    upload = Upload.objects.get(id=upload_id)
    key = uploads.analysis_cache_key(upload.checked_sha256)  # by the bytes' SHA-256, not the file key
    assert cache.get(key) is None
    moderate(alice_client, upload_id)
    data, content_type = cache.get(key)
    assert data == storage.read_bytes(upload.file_key) and content_type == "image/jpeg"
    # a hit does not touch storage: remove the object and still get the bytes
    storage.delete(upload.file_key)
    assert uploads.analysis_image(upload)[0] == data
    # a miss reads storage again
    cache.delete(key)
    with pytest.raises(storage.ObjectMissing):
        uploads.analysis_image(upload)


def test_video_is_moderated_on_its_poster_frame(alice_client, uploaded, fake_openai):
    upload_id = uploaded(media_samples.mp4_bytes(), filename="clip.mp4", content_type="video/mp4")
    assert moderate(alice_client, upload_id)[0] == 200
    (request,) = fake_openai.requests_of("moderation")
    assert request.images[0]["url"].startswith("data:image/jpeg;base64,")


def test_moderating_twice_asks_once(alice_client, uploaded, fake_openai):
    upload_id = uploaded()
    first = moderate(alice_client, upload_id)
    second = moderate(alice_client, upload_id)
    assert first == second and len(fake_openai.requests_of("moderation")) == 1


def test_another_user_cannot_moderate_your_upload(alice_client, bob_client, uploaded, fake_openai):
    upload_id = uploaded()
    code, answer = moderate(bob_client, upload_id)
    assert code == 404 and fake_openai.requests_of("moderation") == []
    assert Upload.objects.get(id=upload_id).state == Upload.State.UPLOADED


def test_local_provider_says_it_did_not_check(alice_client, uploaded, settings):
    settings.AI_PROVIDER = "local"
    settings.AI_ALLOW_UNCHECKED = True  # local development
    code, answer = moderate(alice_client, uploaded())
    assert code == 200 and answer["action"] == "allow" and answer["checked"] is False
    assert answer["message"] == uploads.UNCHECKED_ALLOWED_NOTE
    assert "passed" not in answer["message"]


def test_in_production_an_unchecked_upload_is_held_for_a_moderator(alice_client, uploaded, settings):
    settings.AI_PROVIDER = "local"
    settings.AI_ALLOW_UNCHECKED = False
    code, answer = moderate(alice_client, uploaded())
    assert code == 200 and answer["action"] == "review" and answer["checked"] is False
    assert answer["message"] == uploads.UNCHECKED_NOTE


def test_unchecked_uploads_are_allowed_only_in_debug_by_default():
    import os
    import subprocess
    import sys

    from tests.processes import ROOT

    code = "import django; django.setup(); from django.conf import settings as s; print(s.AI_ALLOW_UNCHECKED)"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PROMPTFINDER_TESTING", "DEBUG", "AI_ALLOW_UNCHECKED", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(DJANGO_SETTINGS_MODULE="prompts_manager.settings", SECRET_KEY="x" * 50)
    production = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    development = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**env, "DEBUG": "1"}, capture_output=True, text=True
    )
    assert production.stdout.strip() == "False", production.stderr
    assert development.stdout.strip() == "True", development.stderr


# --- A slow or hung AI inside the upload request (issue 24) --------------------------------------


@pytest.mark.django_db(transaction=True)  # the late check is queued on commit
@pytest.mark.parametrize("verdict, published", [("none", True), ("critical", False)])
def test_a_slow_ai_does_not_hold_the_request_and_the_worker_finishes_the_check(
    alice, alice_client, uploaded, fake_openai, settings, verdict, published
):
    from django_q.models import OrmQ

    from prompts import tasks
    from prompts.models import Prompt

    settings.AI_TIMEOUT_SECONDS = 30  # the worker's budget
    settings.AI_MAX_RETRIES = 1
    settings.AI_REQUEST_TIMEOUT_SECONDS = 1  # the request's
    fake_openai.script("moderation", delay=3, times=1)  # answers, but later than a request may wait
    upload_id = uploaded()
    code, answer = moderate(alice_client, upload_id)
    assert code == 200
    assert answer["action"] == "review" and answer["checked"] is False
    assert answer["message"] == uploads.MODERATION_FAILED_NOTE
    assert len(fake_openai.requests_of("moderation")) == 1  # one attempt inside the request, no retry
    assert [row.name() for row in OrmQ.objects.all()] == [f"moderation_{upload_id}"]

    # The person goes on as before: variants, submit; the prompt is held meanwhile.
    assert post_json(alice_client, "/api/upload/b2/variants/", {"upload_id": upload_id})[0] == 200
    submitted = alice_client.post_form(
        "/upload/submit/", {"upload_id": upload_id, "content": "a red fox in fresh snow", "ai_generator": "flux"}
    )
    assert submitted.status_code == 302
    prompt = Prompt.objects.get(upload_id=upload_id)
    assert prompt.moderation_status == Prompt.ModerationStatus.PENDING
    tasks.generate_ai_content(prompt.id)

    fake_openai.script("moderation", {"severity": verdict, "violations": [], "explanation": "(fake)"})
    assert tasks.finish_moderation(upload_id)["action"] == ("allow" if published else "reject")
    prompt.refresh_from_db()
    upload = Upload.objects.get(id=upload_id)
    assert upload.moderation_checked is True and upload.moderation_note == ""
    if published:
        assert prompt.moderation_status == Prompt.ModerationStatus.APPROVED
        assert prompt.status == Prompt.Status.PUBLISHED
    else:
        assert prompt.moderation_status == Prompt.ModerationStatus.REJECTED and prompt.is_deleted
    assert tasks.finish_moderation(upload_id)["action"] == "skipped"  # run twice: nothing more

"""POST /upload/submit/: one prompt per ready upload, in its processing state, with the AI task queued."""

from html import unescape

import pytest
from django_q.models import OrmQ

from prompts.models import Prompt, Upload
from tests.conftest import csrf_client
from tests.factories import ready_upload_for

pytestmark = pytest.mark.django_db(transaction=True)


def submit(client, **fields):
    data = {"content": "a red fox in deep snow, golden hour", "ai_generator": "midjourney", **fields}
    return client.post("/upload/submit/", data)


def form_client(user):
    client = csrf_client(user)
    client.handler.enforce_csrf_checks = False  # these tests are about the form; CSRF has its own test
    return client


def queued_prompt_ids() -> list[int]:
    return [task.task["args"][0] for task in OrmQ.objects.all() if task.func() == "prompts.tasks.generate_ai_content"]


def test_submit_creates_the_prompt_in_its_processing_state_and_queues_the_ai(alice):
    upload = ready_upload_for(alice)
    response = submit(form_client(alice), upload_id=str(upload.id))
    prompt = Prompt.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/prompt/processing/{prompt.processing_uuid}/"
    assert prompt.title == "Processing..." and prompt.slug is None and prompt.status == Prompt.Status.DRAFT
    assert prompt.processing_complete is False and prompt.publish_requested is True
    assert prompt.content == "a red fox in deep snow, golden hour" and prompt.ai_generator == "midjourney"
    assert prompt.b2_thumb_url.endswith("/thumb.jpg") and prompt.b2_image_url.endswith("/original.jpg")
    assert prompt.media_keys["original"] == upload.file_key
    assert Upload.objects.get(id=upload.id).state == Upload.State.SUBMITTED
    assert queued_prompt_ids() == [prompt.id]


def test_double_submit_creates_nothing_new(alice):
    upload = ready_upload_for(alice)
    client = form_client(alice)
    first = submit(client, upload_id=str(upload.id))
    second = submit(client, upload_id=str(upload.id), content="something else")
    assert first["Location"] == second["Location"]
    assert Prompt.objects.count() == 1 and queued_prompt_ids() == [Prompt.objects.get().id]


def test_save_as_draft_is_remembered(alice):
    upload = ready_upload_for(alice)
    submit(form_client(alice), upload_id=str(upload.id), save_as_draft="on")
    assert Prompt.objects.get().publish_requested is False


@pytest.mark.parametrize(
    "fields,message",
    [
        ({"content": "   "}, "Please enter the prompt you used."),
        ({"ai_generator": "photoshop"}, "Please choose the generator you used."),
        ({"ai_generator": ""}, "Please choose the generator you used."),
        ({"content": "x" * 10_001}, "Your prompt is too long: the maximum is 10,000 characters."),
    ],
)
def test_invalid_form_keeps_what_was_typed_and_creates_nothing(alice, fields, message):
    upload = ready_upload_for(alice)
    response = submit(form_client(alice), upload_id=str(upload.id), **fields)
    html = unescape(response.content.decode())
    assert response.status_code == 400
    assert message in html
    assert Prompt.objects.count() == 0 and Upload.objects.get(id=upload.id).state == Upload.State.READY
    assert f'data-ready-upload="{upload.id}"' in html  # the upload is shown again, ready to submit
    if fields.get("content", "").strip() and len(fields["content"]) < 100:
        assert fields["content"] in html


def test_a_flagged_upload_becomes_a_prompt_held_for_moderation(alice):
    upload = ready_upload_for(alice)
    Upload.objects.filter(id=upload.id).update(
        moderation_action="review", moderation_severity="high", moderation_violations=["suggestive"]
    )
    submit(form_client(alice), upload_id=str(upload.id))
    prompt = Prompt.objects.get()
    assert prompt.moderation_status == Prompt.ModerationStatus.PENDING
    assert prompt.moderation_violations == ["suggestive"]


def test_uploads_that_are_not_ready_or_not_yours_are_refused(alice, bob):
    ready = ready_upload_for(alice)
    response = submit(form_client(bob), upload_id=str(ready.id))
    assert response.status_code == 404
    assert "This upload was not found" in response.content.decode()
    unfinished = Upload.objects.create(
        owner=alice,
        file_key="uploads/x/original.jpg",
        content_type="image/jpeg",
        declared_size=10,
        state=Upload.State.UPLOADED,
    )
    response = submit(form_client(alice), upload_id=str(unfinished.id), content="keep me please")
    assert response.status_code == 409 and "isn't ready yet" in unescape(response.content.decode())
    assert "keep me please" in response.content.decode()
    rejected = Upload.objects.create(
        owner=alice,
        file_key="uploads/y/original.jpg",
        content_type="image/jpeg",
        declared_size=10,
        state=Upload.State.REJECTED,
    )
    assert submit(form_client(alice), upload_id=str(rejected.id)).status_code == 409
    assert Prompt.objects.count() == 0


def test_submit_needs_login_and_csrf(alice, client):
    upload = ready_upload_for(alice)
    assert client.post("/upload/submit/", {"upload_id": str(upload.id)})["Location"].startswith("/accounts/login/")
    response = csrf_client(alice).post(
        "/upload/submit/", {"upload_id": str(upload.id), "content": "x", "ai_generator": "flux"}
    )
    assert response.status_code == 403
    assert Prompt.objects.count() == 0

"""Unpublished media (not-yet-completed, ready but unsubmitted, draft, held, rejected, trashed) is served
to nobody but its author and staff, on both backends; published media stays public; no key that can be
deleted is cached as immutable."""

import pytest
import requests
from django.contrib.auth.models import Permission
from django.test import Client

from prompts import tasks
from prompts.media import storage
from prompts.models import Prompt, Upload
from prompts.services import review, submission, trash, uploads
from tests import media_samples
from tests.conftest import csrf_client
from tests.factories import ready_upload_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["local", "s3"])
def backend(request):
    if request.param == "s3":
        request.getfixturevalue("s3_media")
    return request.param


@pytest.fixture
def viewers(alice, bob, staff):
    # Staff who may moderate (the permission the staff tools ask for).
    staff.user_permissions.add(Permission.objects.get(codename="change_prompt"))
    return {"anonymous": Client(), "bob": csrf_client(bob), "alice": csrf_client(alice), "staff": csrf_client(staff)}


def fetch(client: Client, url: str) -> tuple[int, bytes, str]:
    """(status, body, Cache-Control) as a browser gets it: our view, then the bucket it may redirect to."""
    if url.startswith("http"):  # a CDN / bucket URL: no cookies reach it
        response = requests.get(url, timeout=10)
        return response.status_code, response.content, response.headers.get("Cache-Control", "")
    response = client.get(url)
    if response.status_code == 302:
        assert response["Cache-Control"] == "private, no-store"
        signed = requests.get(response["Location"], timeout=10)
        return signed.status_code, signed.content, response["Cache-Control"]
    body = b"".join(response.streaming_content) if response.status_code == 200 else b""
    return response.status_code, body, response.get("Cache-Control", "")


def assert_only_author_and_staff(viewers, urls_and_keys):
    for url, key in urls_and_keys:
        assert not storage.is_public_key(key)
        expected = storage.read_bytes(key)
        for name, client in viewers.items():
            status, body, cache_control = fetch(client, url)
            if name in ("alice", "staff"):
                assert (status, body == expected) == (200, True), (name, url)
                assert cache_control == "private, no-store", (name, url)
            else:
                assert status == 404, (name, url, status)


def media_of(prompt: Prompt) -> list[tuple[str, str]]:
    prompt.refresh_from_db()
    return [
        (prompt.b2_thumb_url, prompt.media_keys["thumb"]),
        (prompt.b2_medium_url, prompt.media_keys["medium"]),
        (prompt.b2_image_url, prompt.media_keys["original"]),
    ]


def processed(user, *, draft=False) -> Prompt:
    upload = ready_upload_for(user)
    prompt = submission.submit_prompt(
        user=user, upload_id=upload.id, content="a lighthouse at dusk", ai_generator="flux", save_as_draft=draft
    )
    tasks.generate_ai_content(prompt.id)
    tasks.rename_files_for_seo(prompt.id)  # what the worker does next
    return Prompt.objects.get(id=prompt.id)


def test_a_not_yet_completed_upload_is_served_to_nobody(alice, viewers, backend):
    data = media_samples.jpeg_bytes()
    signed = uploads.presign_upload(user=alice, filename="a.jpg", content_type="image/jpeg", file_size=len(data))
    key = uploads.incoming_key(signed.upload)
    storage.save_bytes(key, data, content_type="image/jpeg")
    for name, client in viewers.items():  # bytes nobody checked yet: not even their author gets them back
        assert fetch(client, storage.public_url(key))[0] == 404, name


def test_a_ready_upload_not_yet_submitted_is_only_for_its_author_and_staff(alice, viewers, backend):
    upload = ready_upload_for(alice)
    urls = uploads.variant_urls(upload)
    assert_only_author_and_staff(
        viewers,
        [(urls[name], upload.variant_keys[name]) for name in ("thumb", "medium")]
        + [(storage.public_url(upload.file_key), upload.file_key)],
    )


def test_a_draft_is_only_for_its_author_and_staff(alice, viewers, fake_openai, backend):
    prompt = processed(alice, draft=True)
    assert prompt.status == Prompt.Status.DRAFT
    assert_only_author_and_staff(viewers, media_of(prompt))


def test_a_held_prompt_is_only_for_its_author_and_staff(alice, viewers, fake_openai, backend):
    fake_openai.script("moderation", {"severity": "high", "violations": ["x"], "explanation": "(fake)"})
    prompt = processed(alice)
    assert prompt.moderation_status == Prompt.ModerationStatus.PENDING and not prompt.is_published
    assert_only_author_and_staff(viewers, media_of(prompt))


def test_published_media_is_public_and_not_cached_for_ever(alice, viewers, fake_openai, backend):
    prompt = processed(alice)
    assert prompt.is_published
    for url, key in media_of(prompt):
        assert storage.is_public_key(key)
        for name, client in viewers.items():
            status, body, cache_control = fetch(client, url)
            assert status == 200 and body == storage.read_bytes(key), name
            assert "immutable" not in cache_control and cache_control == "public, max-age=600", name


@pytest.mark.parametrize("unpublish", ["trash", "moderator_rejects", "author_makes_it_a_draft"])
def test_unpublished_media_stops_being_public(alice, viewers, staff, fake_openai, backend, unpublish):
    prompt = processed(alice)
    public = media_of(prompt)
    if unpublish == "trash":
        trash.trash_prompt(prompt=prompt)
    elif unpublish == "moderator_rejects":
        Prompt.objects.filter(id=prompt.id).update(moderation_status=Prompt.ModerationStatus.PENDING)
        review.reject_moderation(prompt=prompt, moderator=staff, note="Not allowed here.")
    else:
        viewers["alice"].post(
            f"/prompt/edit/{prompt.processing_uuid}/",
            {
                "csrfmiddlewaretoken": viewers["alice"].cookies["csrftoken"].value,
                "title": prompt.title,
                "description": prompt.excerpt,
                "tags": [tag.id for tag in prompt.tags.all()],
                "content": prompt.content,
                "ai_generator": prompt.ai_generator,
            },
        )
    assert tasks.rename_files_for_seo(prompt.id) == {"status": "made-private"}  # queued by the change
    assert not any(storage.exists(key) for _, key in public)  # the public copies are gone at once
    for url, _key in public:
        assert fetch(viewers["anonymous"], url)[0] in (403, 404)
    assert_only_author_and_staff(viewers, media_of(prompt))
    if unpublish == "trash":  # restored: public again
        trash.restore_prompt(user=alice, prompt_id=prompt.id)
        assert tasks.rename_files_for_seo(prompt.id) == {"status": "renamed"}
        assert all(fetch(viewers["anonymous"], url)[0] == 200 for url, _ in media_of(prompt))


def test_a_rejected_upload_is_served_to_nobody(alice, viewers, fake_openai, backend):
    fake_openai.script("moderation", {"severity": "critical", "violations": ["x"], "explanation": "(fake)"})
    data = media_samples.jpeg_bytes(color=(3, 4, 5))
    signed = uploads.presign_upload(user=alice, filename="a.jpg", content_type="image/jpeg", file_size=len(data))
    storage.save_bytes(uploads.incoming_key(signed.upload), data, content_type="image/jpeg")
    uploads.complete_upload(user=alice, upload_id=signed.upload.id)
    assert uploads.moderate_upload(user=alice, upload_id=signed.upload.id).state == Upload.State.REJECTED
    for name, client in viewers.items():
        assert fetch(client, storage.public_url(signed.upload.file_key))[0] == 404, name


def test_no_stored_object_is_immutable_and_only_published_files_are_under_public(alice, fake_openai, s3_media):
    published, draft = processed(alice), processed(alice, draft=True)
    ready_upload_for(alice)
    objects = s3_media.client.list_objects_v2(Bucket=s3_media.bucket)["Contents"]
    public_keys = set(published.media_keys.values())
    for item in objects:
        head = s3_media.client.head_object(Bucket=s3_media.bucket, Key=item["Key"])
        assert "immutable" not in head.get("CacheControl", "") and "31536000" not in head.get("CacheControl", "")
        if item["Key"].startswith("public/"):
            assert item["Key"] in public_keys and head["CacheControl"] == "public, max-age=600"
        else:
            assert head["CacheControl"] == "private, no-store"
    assert not any(storage.is_public_key(key) for key in draft.media_keys.values())

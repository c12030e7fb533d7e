"""One `complete` claims an upload: the PUT/complete race and the CPU amplification, with real threads
against Django's live server (local backend) and moto's S3 server.

The attack: PUT a "critical" image, start `complete` (a large image takes seconds to decode), PUT a
harmless image to the same URL while it runs and call `complete` again; the second answers first,
moderation checks the harmless image, then the first writes the critical one over it.
"""

import base64
import hashlib
import io
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from PIL import Image

from prompts.media import images, storage
from prompts.models import Upload
from prompts.services import ai_content, submission, uploads
from tests.upload_flow import put_bytes

pytestmark = pytest.mark.django_db(transaction=True)

CRITICAL = (220, 20, 20)
HARMLESS = (20, 160, 40)
CRITICAL_ANSWER = {"severity": "critical", "violations": ["graphic"], "explanation": "(fake) critical"}


@pytest.fixture(params=["local", "s3"])
def backend(request, live_server):
    if request.param == "s3":
        request.getfixturevalue("s3_media")
    return request.param


def same_size_pngs(*colours, size=(160, 120)) -> list[bytes]:
    """Uncompressed PNGs: the byte length depends on the dimensions only, so one signed size fits all."""
    files = []
    for colour in colours:
        buffer = io.BytesIO()
        Image.new("RGB", size, colour).save(buffer, format="PNG", compress_level=0)
        files.append(buffer.getvalue())
    assert len({len(data) for data in files}) == 1
    return files


class Tab:
    """A logged-in browser tab talking to the live server over real HTTP (one requests.Session per call,
    so calls from several threads never share a connection)."""

    def __init__(self, user, base_url: str):
        client = Client()
        client.force_login(user)
        self.base_url = base_url
        self.cookies = {"sessionid": client.cookies["sessionid"].value}
        first = requests.get(f"{base_url}/upload/", cookies=self.cookies, timeout=10)
        assert first.status_code == 200
        self.cookies["csrftoken"] = first.cookies["csrftoken"]

    def post(self, path: str, body: dict) -> requests.Response:
        return requests.post(
            f"{self.base_url}{path}",
            json=body,
            cookies=self.cookies,
            timeout=60,
            headers={"X-CSRFToken": self.cookies["csrftoken"], "Referer": self.base_url},
        )


class DecodeGate:
    """Counts decodes of uploads (the real `inspect_image` still runs) and holds the first one until
    released, so a test decides exactly what happens while a `complete` is decoding."""

    def __init__(self, monkeypatch):
        self.calls = 0
        self.entered = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        real = images.inspect_image

        def counting(data):
            with self._lock:
                self.calls += 1
            self.entered.set()
            self.release.wait(timeout=20)
            return real(data)

        monkeypatch.setattr(images, "inspect_image", counting)


def colour_seen_by_moderation(fake_openai) -> tuple[int, int, int]:
    (request,) = fake_openai.requests_of("moderation")
    data = base64.b64decode(request.images[0]["url"].split(",", 1)[1])
    return Image.open(io.BytesIO(data)).convert("RGB").getpixel((10, 10))


def test_a_second_complete_while_the_first_runs_cannot_swap_the_checked_image(
    alice, live_server, backend, fake_openai, monkeypatch
):
    gate = DecodeGate(monkeypatch)
    tab = Tab(alice, live_server.url)
    critical, harmless = same_size_pngs(CRITICAL, HARMLESS)
    presigned = tab.post(
        "/api/upload/b2/presign/", {"filename": "scene.png", "content_type": "image/png", "file_size": len(critical)}
    ).json()
    upload_id = presigned["upload_id"]
    assert put_bytes(presigned, critical, base_url=live_server.url).status_code == 200

    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(tab.post, "/api/upload/b2/complete/", {"upload_id": upload_id})
        assert gate.entered.wait(20), "the first complete never started decoding"
        # While the first complete decodes: the swap attempt.
        swap = put_bytes(presigned, harmless, base_url=live_server.url)
        if backend == "local":
            assert swap.status_code == 409, swap.text  # our own upload URL refuses once claimed
        # (S3 cannot refuse a PUT to a valid presigned URL: the bytes land on the incoming key, unused.)
        second = tab.post("/api/upload/b2/complete/", {"upload_id": upload_id})
        assert second.status_code == 409, second.text
        assert "still being checked" in second.json()["error"]
        early = tab.post("/api/upload/b2/moderate/", {"upload_id": upload_id})
        assert early.status_code == 409, early.text
        gate.release.set()
        answer = first.result(timeout=60)
    assert answer.status_code == 200, answer.text
    assert gate.calls == 1

    upload = Upload.objects.get(id=upload_id)
    stored = storage.read_bytes(upload.file_key)
    assert Image.open(io.BytesIO(stored)).convert("RGB").getpixel((10, 10)) == CRITICAL
    assert hashlib.sha256(stored).hexdigest() == upload.checked_sha256
    # Afterwards `complete` gives the first call's answer again, without decoding anything.
    again = tab.post("/api/upload/b2/complete/", {"upload_id": upload_id})
    assert again.status_code == 200 and again.json() == answer.json()
    assert gate.calls == 1

    fake_openai.script("moderation", CRITICAL_ANSWER)
    moderation = tab.post("/api/upload/b2/moderate/", {"upload_id": upload_id})
    assert moderation.status_code == 200 and moderation.json()["action"] == "reject"
    assert colour_seen_by_moderation(fake_openai) == CRITICAL  # the AI saw the image that was stored
    assert tab.post("/api/upload/b2/variants/", {"upload_id": upload_id}).status_code == 409


def test_parallel_completes_of_one_upload_decode_it_once(alice, live_server, monkeypatch):
    """CPU amplification: N simultaneous `complete` calls used to decode the same image N times."""
    gate = DecodeGate(monkeypatch)
    tab = Tab(alice, live_server.url)
    (data,) = same_size_pngs(HARMLESS)
    presigned = tab.post(
        "/api/upload/b2/presign/", {"filename": "big.png", "content_type": "image/png", "file_size": len(data)}
    ).json()
    assert put_bytes(presigned, data, base_url=live_server.url).status_code == 200
    body = {"upload_id": presigned["upload_id"]}
    with ThreadPoolExecutor(max_workers=8) as pool:
        calls = [pool.submit(tab.post, "/api/upload/b2/complete/", body) for _ in range(8)]
        assert gate.entered.wait(20)
        # Every call but the one decoding answers at once, while the decode is still held.
        answered = [call for call in calls if _done_within(call, 10)]
        assert len(answered) == 7, f"{len(answered)} of 8 answered while one call was decoding"
        assert [call.result().status_code for call in answered] == [409] * 7
        gate.release.set()
        statuses = sorted(call.result(timeout=60).status_code for call in calls)
    assert statuses == [200] + [409] * 7
    assert gate.calls == 1
    assert Upload.objects.get(id=presigned["upload_id"]).state == Upload.State.UPLOADED


def _done_within(future, seconds: float) -> bool:
    try:
        future.result(timeout=seconds)
    except TimeoutError:
        return False
    return True


# --- the claim's edges (services) ----------------------------------------------------------


def _presigned_with_bytes(user, data, *, filename="scene.png", content_type="image/png"):
    signed = uploads.presign_upload(user=user, filename=filename, content_type=content_type, file_size=len(data))
    storage.save_bytes(uploads.incoming_key(signed.upload), data, content_type=content_type)
    return signed.upload


def test_a_claim_abandoned_by_a_crashed_request_is_taken_over_after_the_lease(alice, settings):
    (data,) = same_size_pngs(HARMLESS)
    upload = _presigned_with_bytes(alice, data)
    Upload.objects.filter(id=upload.id).update(state=Upload.State.CHECKING, claimed_at=timezone.now())
    with pytest.raises(uploads.Conflict):
        uploads.complete_upload(user=alice, upload_id=upload.id)
    stale = timezone.now() - timedelta(seconds=settings.UPLOAD_CLAIM_LEASE_SECONDS + 1)
    Upload.objects.filter(id=upload.id).update(claimed_at=stale)
    assert uploads.complete_upload(user=alice, upload_id=upload.id).state == Upload.State.UPLOADED


def test_a_failed_check_releases_the_claim_so_the_same_url_can_be_used_again(alice):
    good, _ = same_size_pngs(HARMLESS, CRITICAL)
    upload = _presigned_with_bytes(alice, b"\x89PNG not really" + b"\0" * (len(good) - 15))
    with pytest.raises(uploads.UnsupportedType):
        uploads.complete_upload(user=alice, upload_id=upload.id)
    upload.refresh_from_db()
    assert upload.state == Upload.State.PRESIGNED and upload.claimed_at is None
    storage.save_bytes(uploads.incoming_key(upload), good, content_type="image/png")
    assert uploads.complete_upload(user=alice, upload_id=upload.id).state == Upload.State.UPLOADED


def test_bytes_changed_in_storage_after_the_check_are_refused_by_moderation_variants_and_the_ai(
    alice, fake_openai, backend
):
    """Whatever writes the stored original after `complete` (a stale request, a storage-level swap), the
    steps after it refuse bytes whose SHA-256 is not the checked one."""
    cache.clear()  # an analysis image cached for these exact bytes would (rightly) be used without reading
    harmless, critical = same_size_pngs(HARMLESS, CRITICAL)
    upload = _presigned_with_bytes(alice, harmless)
    uploads.complete_upload(user=alice, upload_id=upload.id)
    upload.refresh_from_db()
    checked = storage.read_bytes(upload.file_key)
    storage.save_bytes(upload.file_key, critical, content_type="image/png")
    with pytest.raises(uploads.Conflict, match="changed after it was checked"):
        uploads.moderate_upload(user=alice, upload_id=upload.id)
    assert fake_openai.requests_of("moderation") == []

    storage.save_bytes(upload.file_key, checked, content_type="image/png")
    assert uploads.moderate_upload(user=alice, upload_id=upload.id).state == Upload.State.MODERATED
    storage.save_bytes(upload.file_key, critical, content_type="image/png")
    with pytest.raises(uploads.Conflict, match="changed after it was checked"):
        uploads.make_upload_variants(user=alice, upload_id=upload.id)


def test_the_analysis_cache_is_keyed_by_the_bytes_not_the_file_key(alice, fake_openai):
    (harmless,) = same_size_pngs(HARMLESS)
    upload = _presigned_with_bytes(alice, harmless)
    uploads.complete_upload(user=alice, upload_id=upload.id)
    upload.refresh_from_db()
    uploads.moderate_upload(user=alice, upload_id=upload.id)
    cached = cache.get(uploads.analysis_cache_key(upload.checked_sha256))
    assert (
        cached is not None and hashlib.sha256(storage.read_bytes(upload.file_key)).hexdigest() == upload.checked_sha256
    )


def test_the_ai_content_task_refuses_an_original_that_is_not_the_checked_one(alice, fake_openai):
    from prompts.models import Prompt
    from tests.factories import ready_upload_for

    cache.clear()
    upload = ready_upload_for(alice)
    prompt = submission.submit_prompt(
        user=alice, upload_id=upload.id, content="a red boat", ai_generator="flux", save_as_draft=False
    )
    assert prompt.media_sha256 == upload.checked_sha256
    (critical,) = same_size_pngs(CRITICAL)
    cache.clear()  # what moderation cached holds the checked bytes: a hit would (rightly) be used
    storage.save_bytes(prompt.media_keys["original"], critical, content_type="image/jpeg")
    outcome = ai_content.generate_ai_content(prompt_id=prompt.id)
    assert outcome.status == "fallback" and outcome.reason == Prompt.ReviewReason.DOWNLOAD_FAILED
    assert fake_openai.requests_of("content") == []
    assert Prompt.objects.get(id=prompt.id).status == Prompt.Status.DRAFT


def test_bytes_put_to_an_s3_url_after_complete_are_never_used_and_are_swept(alice, alice_client, s3_media, live_server):
    from prompts import tasks
    from tests.upload_flow import post_json, presign

    harmless, critical = same_size_pngs(HARMLESS, CRITICAL)
    _, signed = presign(alice_client, filename="a.png", content_type="image/png", file_size=len(harmless))
    assert put_bytes(signed, harmless).status_code == 200
    first = post_json(alice_client, "/api/upload/b2/complete/", {"upload_id": signed["upload_id"]})
    assert put_bytes(signed, critical).status_code == 200  # S3 cannot refuse a valid presigned PUT
    assert post_json(alice_client, "/api/upload/b2/complete/", {"upload_id": signed["upload_id"]}) == first
    upload = Upload.objects.get(id=signed["upload_id"])
    stored = storage.read_bytes(upload.file_key)
    assert Image.open(io.BytesIO(stored)).convert("RGB").getpixel((10, 10)) == HARMLESS
    incoming = uploads.incoming_key(upload)
    assert storage.exists(incoming)
    Upload.objects.filter(id=upload.id).update(created_at=timezone.now() - timedelta(minutes=90))
    assert tasks.sweep_orphaned_uploads()["incoming_deleted"] == 1
    assert not storage.exists(incoming) and storage.exists(upload.file_key)

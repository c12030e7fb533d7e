"""The direct-upload API on both media backends, over real HTTP (live server / moto's S3 server)."""

import hashlib
import io
import time
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests
from PIL import Image

from prompts.media import storage
from prompts.models import Profile, Upload
from tests import media_samples
from tests.conftest import csrf_client
from tests.upload_flow import post_json, presign, put_bytes, upload_file

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["local", "s3"])
def backend(request, live_server):
    """(base URL for relative presigned URLs, backend name); the s3 param switches to moto's server."""
    if request.param == "s3":
        request.getfixturevalue("s3_media")
    return live_server.url, request.param


def stored(key: str) -> bool:
    return storage.exists(key)


# --- presign ----------------------------------------------------------------------------


def test_presign_answers_a_server_made_key_and_a_put_url(alice_client, backend):
    status, answer = presign(alice_client, filename="../../etc/passwd.jpg", file_size=1234)
    assert status == 200, answer
    upload = Upload.objects.get(id=answer["upload_id"])
    assert answer["file_key"] == f"uploads/{upload.id}/original.jpg"
    assert upload.original_filename == "passwd.jpg"  # kept only as data, never in a key
    assert answer["method"] == "PUT" and answer["headers"] == {"Content-Type": "image/jpeg"}
    assert answer["expires_in"] == 3600
    if backend[1] == "s3":
        query = parse_qs(urlparse(answer["presigned_url"]).query)
        signed = query["X-Amz-SignedHeaders"][0].split(";")
        assert "content-type" in signed and "content-length" in signed
        assert query["X-Amz-Expires"] == ["3600"]


@pytest.mark.parametrize(
    "filename,content_type,size,status,message",
    [
        ("big.jpg", "image/jpeg", int(4.2 * 1024 * 1024), 413, "Image must be under 3MB. Your file is 4.2 MB."),
        ("big.mp4", "video/mp4", 16 * 1024 * 1024, 413, "Video must be under 15MB. Your file is 16.0 MB."),
        (
            "doc.pdf",
            "application/pdf",
            1000,
            415,
            "File type not supported. Please upload JPG, PNG, GIF, WebP, MP4, WebM, or MOV.",
        ),
        (
            "image.svg",
            "image/svg+xml",
            1000,
            415,
            "File type not supported. Please upload JPG, PNG, GIF, WebP, MP4, WebM, or MOV.",
        ),
        ("photo.jpg", "image/png", 1000, 415, "The file's type (image/png) doesn't match its .jpg extension."),
        ("empty.png", "image/png", 0, 400, "This file is empty."),
    ],
)
def test_presign_refuses_bad_files_before_anything_is_stored(
    alice_client, filename, content_type, size, status, message
):
    code, answer = presign(alice_client, filename=filename, content_type=content_type, file_size=size)
    assert code == status
    assert answer["error"].startswith(message)
    assert Upload.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        [1, 2],
        "text",
        {"filename": "a.jpg", "content_type": "image/jpeg", "file_size": "12"},
        {"filename": 5, "content_type": "image/jpeg", "file_size": 12},
        {},
    ],
)
def test_presign_refuses_malformed_json_with_a_readable_400(alice_client, body):
    code, answer = post_json(alice_client, "/api/upload/b2/presign/", body)
    assert code == 400 and answer["error"]


def test_endpoints_need_login_and_csrf(alice, client):
    assert client.post("/api/upload/b2/presign/", "{}", content_type="application/json").status_code == 401
    no_csrf = csrf_client(alice)
    response = no_csrf.post(
        "/api/upload/b2/presign/",
        '{"filename": "a.jpg", "content_type": "image/jpeg", "file_size": 5}',
        content_type="application/json",
    )
    assert response.status_code == 403
    assert "session has expired" in response.json()["error"]
    assert Upload.objects.count() == 0


def test_hourly_presign_limit_answers_429_with_retry_after(alice_client, settings):
    settings.UPLOAD_HOURLY_PRESIGN_LIMIT = 3
    for _ in range(3):
        assert presign(alice_client)[0] == 200
    response = alice_client.post(
        "/api/upload/b2/presign/",
        data='{"filename": "a.jpg", "content_type": "image/jpeg", "file_size": 9}',
        content_type="application/json",
        HTTP_X_CSRFTOKEN=alice_client.cookies["csrftoken"].value,
    )
    assert response.status_code == 429
    assert response.json()["error"] == (
        "You've reached the maximum of 3 uploads per hour. Please wait a bit before uploading more."
    )
    assert 3500 <= int(response["Retry-After"]) <= 3600


def test_weekly_limit_applies_to_free_users_but_not_premium(alice, carol, settings):
    settings.UPLOAD_WEEKLY_LIMIT = 2
    for user in (alice, carol):
        for index in range(2):
            Upload.objects.create(
                owner=user,
                file_key=f"uploads/{user.username}{index}/original.jpg",
                content_type="image/jpeg",
                declared_size=10,
                state=Upload.State.READY,
            )
    code, answer = presign(csrf_client(alice))
    assert code == 429 and "maximum of 2 uploads this week" in answer["error"]
    assert presign(csrf_client(carol))[0] == 200
    assert Profile.objects.get(user=carol).is_premium


# --- PUT and complete -------------------------------------------------------------------


def test_jpeg_upload_completes_with_real_size_and_dimensions(alice_client, backend):
    data = media_samples.jpeg_bytes((800, 600), orientation=6, gps=True)
    done = upload_file(alice_client, data, base_url=backend[0])
    stored = storage.read_bytes(Upload.objects.get(id=done["upload_id"]).file_key)
    assert done["state"] == "uploaded" and done["size"] == len(stored)
    assert (done["width"], done["height"]) == (600, 800)  # orientation 6 stands the image up
    assert done["media_type"] == "image" and done["found_prompt"] is None
    upload = Upload.objects.get(id=done["upload_id"])
    assert upload.state == Upload.State.UPLOADED and upload.sha256 == hashlib.sha256(data).hexdigest()
    # the stored original keeps its pixels and orientation but loses GPS and camera data
    exif = Image.open(io.BytesIO(stored)).getexif()
    assert exif.get(0x0112) == 6 and not exif.get_ifd(0x8825) and 0x010F not in exif
    assert len(stored) < len(data) and stored.endswith(data[-1000:])
    # a retried complete answers the same and changes nothing
    again = post_json(alice_client, "/api/upload/b2/complete/", {"upload_id": done["upload_id"]})
    assert again == (200, done)


def test_video_upload_is_probed(alice_client, backend):
    data = media_samples.mp4_bytes()
    done = upload_file(alice_client, data, base_url=backend[0], filename="clip.mp4", content_type="video/mp4")
    assert done["media_type"] == "video" and (done["width"], done["height"]) == (320, 240)


def test_complete_without_a_put_says_the_file_was_not_received(alice_client, backend):
    _, answer = presign(alice_client)
    code, error = post_json(alice_client, "/api/upload/b2/complete/", {"upload_id": answer["upload_id"]})
    assert code == 400 and error["error"] == "We didn't receive your file. Please try uploading it again."


@pytest.mark.parametrize(
    "data,filename,content_type,expected",
    [
        (b"<html><script>alert(1)</script></html>", "evil.jpg", "image/jpeg", "could not be read as an image"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "vector.png", "image/png", "could not be read as an image"),
        (media_samples.webp_bytes(), "photo.jpg", "image/jpeg", "contents don't match its type"),
        (media_samples.jpeg_bytes()[:200], "truncated.jpg", "image/jpeg", "could not be read as an image"),
        (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500, "clip.mp4", "video/mp4", "could not be read as a video"),
    ],
)
def test_complete_rejects_bytes_that_are_not_what_they_claim_and_deletes_them(
    alice_client, backend, data, filename, content_type, expected
):
    status, answer = presign(alice_client, filename=filename, content_type=content_type, file_size=len(data))
    assert put_bytes(answer, data, base_url=backend[0]).status_code == 200
    code, error = post_json(alice_client, "/api/upload/b2/complete/", {"upload_id": answer["upload_id"]})
    assert code == 415 and expected in error["error"]
    assert not stored(answer["file_key"])
    assert Upload.objects.get(id=answer["upload_id"]).state == Upload.State.PRESIGNED


def test_complete_rejects_a_decompression_bomb(alice_client, backend):
    data = media_samples.decompression_bomb_png()
    _, answer = presign(alice_client, filename="bomb.png", content_type="image/png", file_size=len(data))
    assert put_bytes(answer, data, base_url=backend[0]).status_code == 200
    code, error = post_json(alice_client, "/api/upload/b2/complete/", {"upload_id": answer["upload_id"]})
    assert code == 415 and "too large to process" in error["error"]
    assert not stored(answer["file_key"])


def test_object_larger_than_the_limit_is_deleted_at_complete(alice_client, s3_media, live_server):
    # moto does not enforce the signed Content-Length (B2 does), so the check at complete must.
    _, answer = presign(alice_client, file_size=1000)
    big = media_samples.jpeg_bytes((3000, 3000), quality=100) + b"\0" * (3 * 1024 * 1024)
    assert put_bytes(answer, big).status_code == 200
    code, error = post_json(alice_client, "/api/upload/b2/complete/", {"upload_id": answer["upload_id"]})
    assert code == 413 and error["error"].startswith("Image must be under 3MB. Your file is")
    assert not stored(answer["file_key"])


def test_local_put_refuses_a_body_larger_than_declared_while_reading(alice_client, live_server):
    _, answer = presign(alice_client, file_size=1000)
    response = put_bytes(answer, b"x" * 5000, base_url=live_server.url)
    assert response.status_code == 413
    assert not stored(answer["file_key"])


def test_local_put_refuses_tampered_expired_or_mistyped_urls(alice_client, live_server):
    data = media_samples.jpeg_bytes()
    _, answer = presign(alice_client, file_size=len(data))
    parsed = urlparse(answer["presigned_url"])
    query = {k: v[0] for k, v in parse_qs(parsed.query).items()}

    def put(q, headers=None):
        return requests.put(
            f"{live_server.url}{parsed.path}?{urlencode(q)}",
            data=data,
            headers=headers or {"Content-Type": "image/jpeg"},
            timeout=10,
        )

    assert put({**query, "sig": "0" * 64}).status_code == 403
    assert put({**query, "size": str(10 * 1024 * 1024)}).status_code == 403  # size is signed
    assert put({**query, "expires": str(int(time.time()) + 99999)}).status_code == 403
    assert put(query, headers={"Content-Type": "text/html"}).status_code == 403
    other_key = f"{live_server.url}/api/upload/local/uploads/other/original.jpg?{urlencode(query)}"
    assert requests.put(other_key, data=data, headers={"Content-Type": "image/jpeg"}, timeout=10).status_code == 403
    assert not stored(answer["file_key"])
    assert put(query).status_code == 200


def test_local_put_refuses_an_expired_signature(alice_client, live_server, settings):
    settings.PRESIGN_EXPIRES_SECONDS = -1
    data = media_samples.jpeg_bytes()
    _, answer = presign(alice_client, file_size=len(data))
    response = put_bytes(answer, data, base_url=live_server.url)
    assert response.status_code == 403 and "expired" in response.json()["error"]


def test_a_finished_upload_cannot_be_overwritten_through_its_old_url(alice_client, live_server):
    data = media_samples.jpeg_bytes()
    status, answer = presign(alice_client, file_size=len(data))
    put_bytes(answer, data, base_url=live_server.url)
    post_json(alice_client, "/api/upload/b2/complete/", {"upload_id": answer["upload_id"]})
    replay = put_bytes(answer, media_samples.jpeg_bytes(color=(1, 2, 3)), base_url=live_server.url)
    assert replay.status_code == 409
    assert storage.read_bytes(answer["file_key"]) == data


def test_another_users_upload_is_not_found(alice_client, bob_client, backend):
    data = media_samples.jpeg_bytes()
    done = upload_file(alice_client, data, base_url=backend[0])
    for url in ("/api/upload/b2/complete/", "/api/upload/b2/moderate/", "/api/upload/b2/variants/"):
        code, error = post_json(bob_client, url, {"upload_id": done["upload_id"]})
        assert code == 404 and error["error"] == "This upload was not found. Please upload your file again."
    assert post_json(bob_client, "/api/upload/b2/complete/", {"upload_id": "not-a-uuid"})[0] == 404


def test_variants_before_moderation_is_refused(alice_client, backend):
    done = upload_file(alice_client, media_samples.jpeg_bytes(), base_url=backend[0])
    code, error = post_json(alice_client, "/api/upload/b2/variants/", {"upload_id": done["upload_id"]})
    assert code == 409 and "hasn't been checked" in error["error"]

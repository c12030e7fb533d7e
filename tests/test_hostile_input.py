"""Hostile input on every door: files that lie about themselves, names and texts meant to break out,
bodies of the wrong shape, other people's ids, replays, forged requests and redirects. Each test asserts
no 500, an answer a person can read, and nothing stored that shouldn't be.

Already covered elsewhere (not repeated here): HTML/SVG renamed to .jpg/.png, WebP declared as JPEG,
a truncated JPEG, a fake MP4 and the 900 MP PNG bomb (test_upload_api), expired/tampered local upload
URLs and the replay of a finished one, the per-step 404s of complete/moderate/variants, CSRF on presign
and submit, a 10,001-character prompt, comments and JSON-LD escaping, two `next=` values on login.
"""

import io
import json
import re
import struct
import threading
import zipfile
from html import unescape
from urllib.parse import quote

import pytest
import requests
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone
from django_q.models import OrmQ
from PIL import Image, PngImagePlugin
from taggit.models import Tag

from prompts import tasks
from prompts.media import storage
from prompts.models import Collection, Comment, Like, Prompt, Upload
from prompts.services import submission, trash
from tests import media_samples
from tests.conftest import PASSWORD, csrf_client
from tests.factories import ready_upload_for
from tests.upload_flow import post_json, presign, put_bytes

pytestmark = pytest.mark.django_db(transaction=True)

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
UPLOAD_API = [
    "/api/upload/b2/presign/",
    "/api/upload/b2/complete/",
    "/api/upload/b2/moderate/",
    "/api/upload/b2/variants/",
]


def token(client) -> str:
    return client.cookies["csrftoken"].value


def api_post(client, url, raw, *, content_type="application/json"):
    return client.post(url, data=raw, content_type=content_type, HTTP_X_CSRFTOKEN=token(client))


def assert_json_error(response, *statuses):
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"] and isinstance(body["error"], str) and body["error"].strip()
    return body["error"]


def text(response) -> str:
    """What a person reads: tags removed, entities decoded, whitespace folded."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def incoming(answer: dict) -> str:
    """Where the presigned PUT lands (the verified bytes move to answer["file_key"] at complete)."""
    return answer["file_key"].replace("/original.", "/incoming.")


def stored_upload(client, data: bytes, *, filename="photo.jpg", content_type="image/jpeg") -> dict:
    """presign through the API, then the bytes land in storage as the browser's PUT would leave them."""
    code, answer = presign(client, filename=filename, content_type=content_type, file_size=len(data))
    assert code == 200, answer
    storage.save_bytes(incoming(answer), data, content_type=content_type)
    return answer


def complete(client, answer):
    response = api_post(client, "/api/upload/b2/complete/", json.dumps({"upload_id": answer["upload_id"]}))
    return response.status_code, response.json()


# --- Files that lie about themselves -----------------------------------------------------------


def png_bytes(size, mode="1") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def gif_claiming(width: int, height: int) -> bytes:
    """A tiny GIF whose logical screen says width x height."""
    buffer = io.BytesIO()
    Image.new("P", (4, 4), 1).save(buffer, format="GIF")
    data = bytearray(buffer.getvalue())
    data[6:10] = struct.pack("<HH", width, height)
    return bytes(data)


def jpeg_claiming(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (9, 9, 9)).save(buffer, format="JPEG", quality=10)
    return buffer.getvalue()


def png_text_bomb(chunks: int = 100) -> bytes:
    """A small PNG with many zTXt chunks that each inflate to 1 MB (after the image data, so they are
    only read when someone asks for the text)."""
    import zlib

    png = png_bytes((64, 64), mode="RGB")
    end = png.rindex(b"IEND") - 4
    bomb = zlib.compress(b"A" * (1024 * 1024 - 1), 9)
    chunk_data = b"parameters\0\0" + bomb
    chunk = (
        struct.pack(">I", len(chunk_data))
        + b"zTXt"
        + chunk_data
        + struct.pack(">I", zlib.crc32(b"zTXt" + chunk_data) & 0xFFFFFFFF)
    )
    return png[:end] + chunk * chunks + png[end:]


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize(
    "data,filename,content_type,expected",
    [
        (png_bytes((7000, 6000)), "wide.png", "image/png", "too large to process (7000×6000 pixels)"),  # 42 MP
        (gif_claiming(65535, 65535), "huge.gif", "image/gif", "too large to process"),
        (jpeg_claiming(20001, 8), "strip.jpg", "image/jpeg", "too large to process (20001×8 pixels)"),
    ],
    ids=["42-megapixels", "gif-65535-square", "jpeg-20001-wide"],
)
def test_huge_dimensions_are_refused_before_any_pixel_is_decoded(alice_client, data, filename, content_type, expected):
    answer = stored_upload(alice_client, data, filename=filename, content_type=content_type)
    code, error = complete(alice_client, answer)
    assert code == 415 and expected in error["error"]
    assert not storage.exists(answer["file_key"])
    assert Upload.objects.get(id=answer["upload_id"]).state == Upload.State.PRESIGNED


def test_a_png_text_chunk_bomb_is_accepted_as_the_image_without_its_text(alice_client):
    data = png_text_bomb()
    assert len(data) < 200_000
    answer = stored_upload(alice_client, data, filename="bomb.png", content_type="image/png")
    code, done = complete(alice_client, answer)
    assert code == 200, done
    assert (done["width"], done["height"]) == (64, 64) and done["found_prompt"] is None
    kept = storage.read_bytes(answer["file_key"])
    assert b"zTXt" not in kept and len(kept) < 10_000


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.html", "<script>alert(document.domain)</script>")
    return buffer.getvalue()


def gif_js_polyglot() -> bytes:
    """A valid GIF that is also JavaScript: 'GIF89a/*' opens a comment that a comment block closes."""
    buffer = io.BytesIO()
    Image.new("P", (8, 8), 3).save(buffer, format="GIF")
    gif = bytearray(buffer.getvalue())
    gif[6:8] = b"/*"  # the logical screen width becomes 0x2A2F
    payload = b"*/=alert(document.domain);/*"
    comment = b"\x21\xfe" + bytes([len(payload)]) + payload + b"\x00"
    return bytes(gif[:-1] + comment + gif[-1:]) + b"*/"


@pytest.mark.parametrize(
    "data,filename,content_type,smuggled",
    [
        (media_samples.jpeg_bytes() + zip_bytes(), "photo.jpg", "image/jpeg", b"PK\x03\x04"),
        (media_samples.jpeg_bytes() + b"<html><script>alert(1)</script>", "photo.jpg", "image/jpeg", b"<script>"),
        (png_bytes((300, 200), "RGB") + b"<html><script>alert(1)</script>", "photo.png", "image/png", b"<script>"),
        (media_samples.webp_bytes() + zip_bytes(), "photo.webp", "image/webp", b"PK\x03\x04"),
    ],
    ids=["jpeg+zip", "jpeg+html", "png+html", "webp+zip"],
)
def test_bytes_hidden_after_the_image_are_not_kept(alice_client, data, filename, content_type, smuggled):
    answer = stored_upload(alice_client, data, filename=filename, content_type=content_type)
    code, done = complete(alice_client, answer)
    assert code == 200, done
    kept = storage.read_bytes(answer["file_key"])
    assert smuggled not in kept
    assert Image.open(io.BytesIO(kept)).size == Image.open(io.BytesIO(data)).size
    assert done["size"] == len(kept)


def test_a_gif_that_is_also_javascript_is_only_ever_served_as_an_image(alice, alice_client):
    data = gif_js_polyglot()
    answer = stored_upload(alice_client, data, filename="anim.gif", content_type="image/gif")
    code, done = complete(alice_client, answer)
    assert code == 200, done
    for step in ("moderate", "variants"):
        assert post_json(alice_client, f"/api/upload/b2/{step}/", {"upload_id": answer["upload_id"]})[0] == 200
    upload = Upload.objects.get(id=answer["upload_id"])
    original = alice_client.get(storage.public_url(upload.file_key))  # private until published: the author
    assert original.status_code == 200
    assert original["Content-Type"] == "image/gif" and original["X-Content-Type-Options"] == "nosniff"
    for key in upload.variant_keys.values():  # the public variants are pixels only, re-encoded
        assert b"alert(" not in storage.read_bytes(key)


@pytest.mark.parametrize(
    "data,filename,content_type,expected",
    [
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>',
            "logo.jpg",
            "image/jpeg",
            "could not be read as an image",
        ),
        (png_bytes((50, 50), "RGB"), "photo.jpg", "image/jpeg", "contents don't match its type"),
        (media_samples.jpeg_bytes(), "anim.gif", "image/gif", "contents don't match its type"),
        (b"GIF89a" + b"\0" * 200, "anim.gif", "image/gif", "could not be read as an image"),
    ],
    ids=["svg-as-jpg", "png-as-jpg", "jpeg-as-gif", "gif-header-only"],
)
def test_bytes_that_are_not_the_declared_image_are_refused_and_deleted(
    alice_client, data, filename, content_type, expected
):
    answer = stored_upload(alice_client, data, filename=filename, content_type=content_type)
    code, error = complete(alice_client, answer)
    assert code == 415 and expected in error["error"]
    assert not storage.exists(answer["file_key"])


@pytest.mark.parametrize(
    "content_type,status",
    [
        ("image/jpeg; charset=binary", 415),
        ("image/jpeg\r\nX-Injected: 1", 415),
        ("text/html", 415),
        ("image/*", 415),
        ("x" * 5000, 400),
        ("", 400),
    ],
)
def test_a_declared_type_other_than_the_extensions_is_refused_at_presign(alice_client, content_type, status):
    code, answer = presign(alice_client, filename="photo.jpg", content_type=content_type, file_size=1000)
    assert code == status and answer["error"] and "\r" not in json.dumps(answer.get("headers", {}))
    assert Upload.objects.count() == 0


def test_a_declared_type_in_capitals_is_signed_in_its_canonical_form(alice_client):
    code, answer = presign(alice_client, filename="PHOTO.JPEG", content_type=" IMAGE/JPEG ", file_size=1000)
    assert code == 200 and answer["headers"] == {"Content-Type": "image/jpeg"}
    assert answer["file_key"].endswith("/original.jpg")


@pytest.mark.parametrize(
    "filename,kept",
    [
        ("../../../etc/passwd.jpg", "passwd.jpg"),
        ("..\\..\\windows\\win.ini.jpg", "win.ini.jpg"),
        ("%2e%2e%2f%2e%2e%2fetc.jpg", "%2e%2e%2f%2e%2e%2fetc.jpg"),
        ("/etc/passwd\x00.jpg", "passwd.jpg"),
        ("evil\r\nSet-Cookie: a=b\x1b[31m\x7f.jpg", "evilSet-Cookie: a=b[31m.jpg"),
        ("holiday\u202egpj.exe.jpg", "holidaygpj.exe.jpg"),  # a right-to-left override, dropped
        ("é" * 900 + ".jpg", "é" * 200),
    ],
    ids=[
        "traversal",
        "windows-traversal",
        "encoded-traversal",
        "nul",
        "control-characters",
        "rtl-override",
        "900-unicode",
    ],
)
def test_hostile_file_names_are_kept_only_as_clean_bounded_data(alice_client, filename, kept):
    code, answer = presign(alice_client, filename=filename, file_size=1000)
    assert code == 200, answer
    upload = Upload.objects.get(id=answer["upload_id"])
    assert upload.original_filename == kept
    assert re.fullmatch(r"uploads/[0-9a-f-]{36}/original\.jpg", answer["file_key"])
    assert upload.file_key == answer["file_key"]


def test_ten_kilobytes_of_unicode_as_a_file_name_is_refused_readably(alice_client):
    code, answer = presign(alice_client, filename="名" * 10_000 + ".jpg", file_size=1000)
    assert code == 400 and answer == {"error": "'filename' is too long."}
    assert Upload.objects.count() == 0


def test_an_object_larger_than_declared_is_refused_at_complete(alice_client, s3_media):
    # B2 refuses a body whose length differs from the signed one; a storage that does not (moto here)
    # must not let a bigger file in either.
    data = media_samples.jpeg_bytes((1200, 900), quality=95)
    _, answer = presign(alice_client, file_size=1000)
    assert put_bytes(answer, data).status_code == 200
    code, error = post_json(alice_client, "/api/upload/b2/complete/", {"upload_id": answer["upload_id"]})
    assert code == 413 and error["error"] == (
        f"We received {len(data):,} bytes, but the file you chose has 1,000 bytes. Please upload it again."
    )
    assert not storage.exists(answer["file_key"])
    assert Upload.objects.get(id=answer["upload_id"]).state == Upload.State.PRESIGNED


def test_an_object_smaller_than_declared_is_refused_at_complete(alice_client):
    data = media_samples.jpeg_bytes()
    answer = stored_upload(alice_client, data)
    storage.save_bytes(incoming(answer), data[: len(data) // 2], content_type="image/jpeg")  # cut off mid-way
    code, error = complete(alice_client, answer)
    assert code == 400 and error["error"].startswith(f"We received {len(data) // 2:,} bytes, but the file you chose")
    assert not storage.exists(answer["file_key"])


def test_reusing_the_upload_url_after_moderation_cannot_swap_the_image(alice_client, s3_media, fake_openai):
    green = media_samples.jpeg_bytes((800, 600), color=(10, 200, 10), quality=80)
    red = media_samples.jpeg_bytes((800, 600), color=(200, 10, 10), quality=80)
    size = max(len(green), len(red)) + 100  # both padded with a comment segment: the signed length fits both
    moderated, swapped = (
        jpeg[:2] + b"\xff\xfe" + struct.pack(">H", size - len(jpeg) - 2) + b"\0" * (size - len(jpeg) - 4) + jpeg[2:]
        for jpeg in (green, red)
    )
    assert len(moderated) == len(swapped) == size
    _, answer = presign(alice_client, file_size=len(moderated))
    assert put_bytes(answer, moderated).status_code == 200
    for step in ("complete", "moderate"):
        assert post_json(alice_client, f"/api/upload/b2/{step}/", {"upload_id": answer["upload_id"]})[0] == 200
    put_bytes(answer, swapped)  # the same URL, within its hour
    code, _ = post_json(alice_client, "/api/upload/b2/variants/", {"upload_id": answer["upload_id"]})
    upload = Upload.objects.get(id=answer["upload_id"])
    if code == 200:
        medium = Image.open(io.BytesIO(storage.read_bytes(upload.variant_keys["medium"]))).convert("RGB")
        assert medium.getpixel((medium.width - 1, medium.height - 1))[1] > 150  # still the green image


# --- Submit: a megabyte of text, replays and two tabs at once -----------------------------------


def test_a_megabyte_of_prompt_text_gets_a_readable_400_and_creates_nothing(alice, alice_client):
    upload = ready_upload_for(alice)
    response = alice_client.post_form(
        "/upload/submit/",
        {"upload_id": str(upload.id), "content": "a fox in the snow " * 58_255, "ai_generator": "flux"},
    )
    assert response.status_code == 400
    assert "Your prompt is too long: the maximum is 10,000 characters." in text(response)
    assert f'data-ready-upload="{upload.id}"' in response.content.decode()
    assert Prompt.objects.count() == 0 and Upload.objects.get(id=upload.id).state == Upload.State.READY


def test_a_body_over_the_request_limit_gets_a_readable_400(alice, alice_client):
    upload = ready_upload_for(alice)
    response = alice_client.post_form(
        "/upload/submit/", {"upload_id": str(upload.id), "content": "x" * (3 * 1024 * 1024), "ai_generator": "flux"}
    )
    assert response.status_code == 400
    assert "We couldn't read that request It was too large or not in a form we understand." in text(response)
    assert Prompt.objects.count() == 0


def test_two_tabs_submitting_the_same_upload_at_the_same_moment_make_one_prompt(alice, live_server):
    upload = ready_upload_for(alice)
    client = Client()
    client.force_login(alice)
    tabs = []
    for _ in range(2):
        tab = requests.Session()
        tab.cookies.set("sessionid", client.cookies["sessionid"].value)
        tab.get(f"{live_server.url}/upload/", timeout=10)
        tabs.append(tab)
    start, answers = threading.Barrier(2), [None, None]

    def submit(index):
        start.wait()
        answers[index] = tabs[index].post(
            f"{live_server.url}/upload/submit/",
            data={
                "csrfmiddlewaretoken": tabs[index].cookies["csrftoken"],
                "upload_id": str(upload.id),
                "content": "a fox in the snow",
                "ai_generator": "flux",
            },
            allow_redirects=False,
            timeout=30,
        )

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    prompt = Prompt.objects.get(upload=upload)
    assert [a.status_code for a in answers] == [302, 302]
    assert {a.headers["Location"] for a in answers} == {f"/prompt/processing/{prompt.processing_uuid}/"}


def test_a_submit_replayed_after_the_prompt_was_cancelled_creates_nothing(alice, alice_client):
    upload = ready_upload_for(alice)
    data = {"upload_id": str(upload.id), "content": "a fox in the snow", "ai_generator": "flux"}
    first = alice_client.post_form("/upload/submit/", data)
    prompt = Prompt.objects.get()
    alice_client.post_form(f"/prompt/processing/{prompt.processing_uuid}/cancel/")
    replay = alice_client.post_form("/upload/submit/", data)
    assert first.status_code == 302 and replay.status_code == 409
    assert "You already shared this file and then deleted it. Restore it from your trash" in text(replay)
    assert Prompt.objects.count() == 1 and Prompt.objects.get().is_deleted


def test_a_reused_upload_url_after_submit_is_refused(alice_client, live_server):
    data = media_samples.jpeg_bytes()
    _, answer = presign(alice_client, file_size=len(data))
    assert put_bytes(answer, data, base_url=live_server.url).status_code == 200
    for step in ("complete", "moderate", "variants"):
        assert post_json(alice_client, f"/api/upload/b2/{step}/", {"upload_id": answer["upload_id"]})[0] == 200
    alice_client.post_form(
        "/upload/submit/", {"upload_id": answer["upload_id"], "content": "x", "ai_generator": "flux"}
    )
    replay = put_bytes(answer, media_samples.jpeg_bytes(color=(1, 2, 3)), base_url=live_server.url)
    assert replay.status_code == 409 and replay.json()["error"]
    assert storage.read_bytes(answer["file_key"]) == storage.read_bytes(Prompt.objects.get().media_keys["original"])


# --- JSON bodies of the wrong shape --------------------------------------------------------------

WRONG_BODIES = {
    "array": "[1, 2]",
    "string": '"upload"',
    "null": "null",
    "number": "12",
    "true": "true",
    "not-json": "{upload_id: 1",
    "empty-object": "{}",
    "id-number": '{"upload_id": 5}',
    "id-list": '{"upload_id": ["a"]}',
    "id-object": '{"upload_id": {"$ne": null}}',
    "id-bool": '{"upload_id": true}',
    "id-huge": json.dumps({"upload_id": "9" * 100_000}),
    "id-nul": '{"upload_id": "\\u0000"}',
    "deep": "[" * 30_000 + "]" * 30_000,
    "nan": '{"upload_id": NaN, "file_size": Infinity}',
    "size-float": '{"filename": "a.jpg", "content_type": "image/jpeg", "file_size": 1.5}',
    "size-huge": '{"filename": "a.jpg", "content_type": "image/jpeg", "file_size": ' + "9" * 5000 + "}",
    "size-negative": '{"filename": "a.jpg", "content_type": "image/jpeg", "file_size": -1}',
}


@pytest.mark.parametrize("url", UPLOAD_API)
@pytest.mark.parametrize("name", WRONG_BODIES)
def test_json_endpoints_answer_wrong_bodies_with_a_json_error(alice_client, url, name):
    response = api_post(alice_client, url, WRONG_BODIES[name])
    assert_json_error(response, 400, 404, 413, 415)
    assert Upload.objects.count() == 0


@pytest.mark.parametrize("url", UPLOAD_API)
def test_json_endpoints_answer_bytes_that_are_not_utf8_with_a_json_error(alice_client, url):
    assert_json_error(api_post(alice_client, url, b'{"upload_id": "\xff\xfe"}'), 400)


@pytest.mark.parametrize("url", UPLOAD_API)
def test_json_endpoints_answer_a_form_or_multipart_body_with_a_json_error(alice_client, url):
    body = {"filename": "a.jpg", "content_type": "image/jpeg", "file_size": "100", "upload_id": "x"}
    response = alice_client.post(url, body, HTTP_X_CSRFTOKEN=token(alice_client))  # multipart/form-data
    assert_json_error(response, 400)
    response = alice_client.post(
        url,
        "filename=a.jpg&file_size=100",
        content_type="application/x-www-form-urlencoded",
        HTTP_X_CSRFTOKEN=token(alice_client),
    )
    assert_json_error(response, 400)
    assert Upload.objects.count() == 0


@pytest.mark.parametrize("url", UPLOAD_API)
def test_json_endpoints_answer_a_body_over_the_request_limit_with_a_json_error(alice_client, url):
    raw = json.dumps({"filename": "a.jpg", "padding": "x" * (3 * 1024 * 1024)})
    assert_json_error(api_post(alice_client, url, raw), 413)
    assert Upload.objects.count() == 0


# --- Other people's ids ------------------------------------------------------------------------


def test_another_users_processing_uuid_is_not_found_on_every_endpoint_and_changes_nothing(alice, bob, fake_openai):
    fake_openai.script("content", status=500)  # a fallback: retry and edit have something to do
    upload = ready_upload_for(alice)
    prompt = submission.submit_prompt(
        user=alice, upload_id=upload.id, content="a fox in the snow", ai_generator="flux", save_as_draft=False
    )
    tasks.generate_ai_content(prompt.id)
    Prompt.objects.filter(id=prompt.id).update(moderation_status=Prompt.ModerationStatus.REJECTED)
    fields = [
        "title",
        "excerpt",
        "content",
        "status",
        "is_deleted",
        "processing_complete",
        "ai_attempts",
        "appeal_message",
        "moderation_status",
        "slug",
    ]
    before = Prompt.objects.filter(id=prompt.id).values(*fields).get()
    queued = list(OrmQ.objects.values_list("id", flat=True))
    bob_client = csrf_client(bob)
    uuid = prompt.processing_uuid
    html_answers = [
        bob_client.get(f"/prompt/edit/{uuid}/"),
        bob_client.post_form(f"/prompt/edit/{uuid}/", {"title": "mine", "content": "mine", "ai_generator": "flux"}),
        bob_client.post_form(f"/prompt/processing/{uuid}/cancel/"),
        bob_client.post_form(f"/prompt/appeal/{uuid}/", {"message": "mine"}),
        bob_client.post_form(f"/prompt/delete/{uuid}/"),
    ]
    for response in html_answers:
        assert response.status_code == 404 and "Page not found" in text(response)
    assert_json_error(api_post(bob_client, f"/api/prompt/retry/{uuid}/", "{}"), 404)
    assert_json_error(bob_client.get(f"/api/prompt/status/{uuid}/?wait=5"), 404)
    assert Prompt.objects.filter(id=prompt.id).values(*fields).get() == before
    assert list(OrmQ.objects.values_list("id", flat=True)) == queued


# --- Forged requests: no or a wrong CSRF token on every POST --------------------------------------


def every_post_endpoint(alice, bob):
    """(url, form data, JSON endpoint?) for every POST endpoint, aimed at real rows of the cast."""
    from datetime import timedelta

    upload = ready_upload_for(alice)
    prompt = submission.submit_prompt(
        user=alice, upload_id=upload.id, content="a fox", ai_generator="flux", save_as_draft=False
    )
    Prompt.objects.filter(id=prompt.id).update(
        processing_complete=True, status=Prompt.Status.PUBLISHED, slug="a-fox", title="A Fox"
    )
    trashed = submission.submit_prompt(
        user=alice, upload_id=ready_upload_for(alice).id, content="a hare", ai_generator="flux", save_as_draft=False
    )
    trash.trash_prompt(prompt=trashed)
    Prompt.objects.filter(id=trashed.id).update(deleted_at=timezone.now() - timedelta(days=1))
    comment = Comment.objects.create(author=bob, prompt=prompt, body="nice")
    uuid = prompt.processing_uuid
    return [
        ("/api/upload/b2/presign/", {"filename": "a.jpg", "content_type": "image/jpeg", "file_size": 10}, True),
        ("/api/upload/b2/complete/", {"upload_id": str(upload.id)}, True),
        ("/api/upload/b2/moderate/", {"upload_id": str(upload.id)}, True),
        ("/api/upload/b2/variants/", {"upload_id": str(upload.id)}, True),
        (f"/api/prompt/retry/{uuid}/", {}, True),
        ("/upload/submit/", {"upload_id": str(upload.id), "content": "x", "ai_generator": "flux"}, False),
        (f"/prompt/processing/{uuid}/cancel/", {}, False),
        (f"/prompt/edit/{uuid}/", {"title": "Forged", "content": "forged", "ai_generator": "flux"}, False),
        (f"/prompt/delete/{uuid}/", {}, False),
        (f"/prompt/appeal/{uuid}/", {"message": "forged"}, False),
        (f"/trash/{trashed.id}/restore/", {}, False),
        ("/prompt/a-fox/like/", {}, False),
        ("/prompt/a-fox/comments/", {"body": "forged"}, False),
        ("/prompt/a-fox/save/", {"new_collection": "Forged"}, False),
        (f"/comments/{comment.id}/delete/", {}, False),
        ("/me/retry-all/", {}, False),
        ("/accounts/logout/", {}, False),
        ("/accounts/signup/", {"username": "mallory", "password1": PASSWORD, "password2": PASSWORD}, False),
        ("/accounts/login/", {"username": "bob", "password": PASSWORD}, False),
        (f"/admin/moderation/{prompt.id}/decide/", {"decision": "reject", "note": "forged"}, False),
    ]


def database_state():
    return {
        "prompts": list(
            Prompt.objects.order_by("id").values(
                "id",
                "title",
                "content",
                "is_deleted",
                "status",
                "processing_complete",
                "appeal_message",
                "moderation_status",
            )
        ),
        "uploads": sorted(Upload.objects.values_list("id", "state")),
        "comments": sorted(Comment.objects.values_list("id", "body")),
        "likes": Like.objects.count(),
        "collections": Collection.objects.count(),
        "users": sorted(get_user_model().objects.values_list("username", flat=True)),
    }


@pytest.mark.parametrize("forgery", ["missing", "wrong"])
def test_every_post_endpoint_refuses_a_missing_or_wrong_csrf_token_and_changes_nothing(alice, bob, staff, forgery):
    endpoints = every_post_endpoint(alice, bob)
    before = database_state()
    for user in (alice, staff):
        client = csrf_client(user)
        session = client.session.session_key
        for url, data, is_json in endpoints:
            wrong = {"HTTP_X_CSRFTOKEN": "x" * 64} if forgery == "wrong" else {}
            if is_json:
                response = client.post(url, json.dumps(data), content_type="application/json", **wrong)
                assert "session has expired" in assert_json_error(response, 403), url
            else:
                body = {**data, "csrfmiddlewaretoken": "y" * 64} if forgery == "wrong" else data
                response = client.post(url, body, **wrong)
                assert response.status_code == 403, url
                assert "CSRF verification failed" in text(response), url
        assert client.session.session_key == session  # still logged in: the forged logout did nothing
    assert database_state() == before


# --- Markup in everything people and the AI write -------------------------------------------------

PAYLOADS = (SCRIPT, ATTRIBUTE)


def assert_inert(response, url):
    html = response.content.decode()
    assert response.status_code == 200, url
    for raw in ("<script>alert(1)", "<img src=x", "onerror=alert(1)>"):
        assert raw not in html, (url, raw)
    for block in re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.DOTALL):
        json.loads(block)  # still one intact data block
    return html


def test_markup_in_every_written_field_is_shown_as_text_on_every_page(alice, bob, staff, fake_openai):
    staff.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="prompts",
            codename__in=["view_prompt", "change_prompt", "view_upload", "view_moderationdecision"],
        )
    )
    alice_client, bob_client, staff_client = csrf_client(alice), csrf_client(bob), csrf_client(staff)
    # The AI writes markup (it is cleaned), then the author writes it in every field of the edit form.
    fake_openai.script(
        "content",
        {
            "title": SCRIPT + ATTRIBUTE,
            "description": ATTRIBUTE + SCRIPT,
            "tags": ["Fantasy", SCRIPT],
            "relevance_score": 0.5,
            "relevance_explanation": SCRIPT,
        },
    )
    png = media_samples.png_rgba_bytes((64, 64))
    png_meta = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", f"{SCRIPT} castle\nNegative prompt: {ATTRIBUTE}\nSteps: 20, Sampler: {SCRIPT}")
    Image.open(io.BytesIO(png)).save(png_meta, format="PNG", pnginfo=info)
    upload = ready_upload_for(alice, png_meta.getvalue(), filename=ATTRIBUTE + ".png", content_type="image/png")
    assert upload.generation_metadata["prompt"].startswith(SCRIPT)
    response = alice_client.post_form(
        "/upload/submit/", {"upload_id": str(upload.id), "content": SCRIPT + ATTRIBUTE, "ai_generator": "flux"}
    )
    prompt = Prompt.objects.get(upload=upload)
    tasks.generate_ai_content(prompt.id)
    status = alice_client.get(f"/api/prompt/status/{prompt.processing_uuid}/")
    assert status["Content-Type"] == "application/json" and "<" not in status.json()["title"]
    fantasy = Tag.objects.get(name="Fantasy")
    response = alice_client.post_form(
        f"/prompt/edit/{prompt.processing_uuid}/",
        {
            "title": ATTRIBUTE + SCRIPT,
            "description": SCRIPT + ATTRIBUTE,
            "content": ATTRIBUTE + SCRIPT,
            "ai_generator": "flux",
            "tags": [fantasy.id],
            "publish": "on",
        },
    )
    assert response.status_code == 302
    prompt.refresh_from_db()
    assert prompt.is_published and prompt.content == ATTRIBUTE + SCRIPT
    assert "<" not in prompt.title + prompt.excerpt  # the edit form cleans them like the AI's text
    # The pages must escape whatever a row holds (an older row, a future path that forgets to clean).
    Prompt.objects.filter(id=prompt.id).update(title=ATTRIBUTE + SCRIPT, excerpt=SCRIPT + ATTRIBUTE)
    prompt.refresh_from_db()
    status = alice_client.get(f"/api/prompt/status/{prompt.processing_uuid}/").json()
    assert status["title"] == ATTRIBUTE + SCRIPT and status["tags"] == ["Fantasy"]  # JSON, read with textContent

    # Others write comments and collection names; a held prompt carries an appeal; one is in the trash.
    bob_client.post_form(f"/prompt/{prompt.slug}/comments/", {"body": SCRIPT + ATTRIBUTE})
    saved = bob_client.post_form(f"/prompt/{prompt.slug}/save/", {"new_collection": ATTRIBUTE + SCRIPT}, follow=True)
    assert_inert(saved, "save message")
    assert ATTRIBUTE + SCRIPT in text(saved)
    collection = Collection.objects.get(owner=bob)
    held = submission.submit_prompt(
        user=alice, upload_id=ready_upload_for(alice).id, content=SCRIPT, ai_generator="flux", save_as_draft=False
    )
    fake_openai.script("content", status=500)
    tasks.generate_ai_content(held.id)
    Prompt.objects.filter(id=held.id).update(moderation_status=Prompt.ModerationStatus.REJECTED, title=SCRIPT)
    alice_client.post_form(f"/prompt/appeal/{held.processing_uuid}/", {"message": ATTRIBUTE + SCRIPT})
    assert Prompt.objects.get(id=held.id).appeal_message == ATTRIBUTE + SCRIPT
    trashed = submission.submit_prompt(
        user=alice, upload_id=ready_upload_for(alice).id, content=ATTRIBUTE, ai_generator="flux", save_as_draft=False
    )
    tasks.generate_ai_content(trashed.id)
    Prompt.objects.filter(id=trashed.id).update(title=ATTRIBUTE)
    deleted = alice_client.post_form(f"/prompt/delete/{trashed.processing_uuid}/", follow=True)
    assert_inert(deleted, "trash message")
    assert ATTRIBUTE in text(deleted)

    pages = [
        (csrf_client(), "/"),
        (csrf_client(), f"/prompt/{prompt.slug}/"),
        (bob_client, f"/prompt/{prompt.slug}/"),
        (alice_client, f"/prompt/{prompt.slug}/"),
        (alice_client, f"/prompt/processing/{prompt.processing_uuid}/"),
        (alice_client, f"/prompt/edit/{prompt.processing_uuid}/"),
        (csrf_client(), "/u/alice/"),
        (alice_client, "/u/alice/"),
        (csrf_client(), f"/tag/{fantasy.slug}/"),
        (csrf_client(), "/generator/flux/"),
        (alice_client, "/trash/"),
        (bob_client, "/collections/"),
        (bob_client, f"/collections/{collection.id}/"),
        (staff_client, "/admin/seo-review/"),
        (staff_client, f"/admin/seo-review/{held.id}/"),
        (staff_client, "/admin/moderation/"),
        (staff_client, "/admin/prompts/prompt/"),
        (staff_client, f"/admin/prompts/prompt/{prompt.id}/change/"),
        (staff_client, f"/admin/prompts/upload/{upload.id}/change/"),
        (staff_client, "/admin/prompts/moderationdecision/"),
    ]
    as_text = ("&lt;script&gt;alert(1)&lt;/script&gt;", "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;")
    for client, url in pages:
        html = assert_inert(client.get(url), url)
        assert any(escaped in html for escaped in as_text), url  # shown, as text, not dropped


@pytest.mark.parametrize("username", [SCRIPT, ATTRIBUTE, "a" * 151, "bob\x00", "admin\u202e"])
def test_markup_or_control_characters_in_a_username_are_refused_at_sign_up(db, username):
    client = csrf_client()
    client.get("/accounts/signup/")
    response = client.post_form(
        "/accounts/signup/", {"username": username, "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 200
    assert get_user_model().objects.count() == 0
    html = response.content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert re.search(r"Enter a valid username|Null characters are not allowed|at most 150 characters", text(response))


# --- Redirects that leave the site --------------------------------------------------------------

OFF_SITE = [
    "https://evil.example/",
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example/",
    "\\\\evil.example",
    "https:evil.example",
    "http://testserver@evil.example/",
    "javascript:alert(1)",
    " //evil.example",
    "/%5Cevil.example",
    "http:///evil.example",
]


def assert_stays_on_site(response):
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location


@pytest.mark.parametrize("target", OFF_SITE)
def test_login_never_redirects_off_site(alice, target):
    client = csrf_client()
    client.get("/accounts/login/")
    assert_stays_on_site(
        client.post_form(f"/accounts/login/?next={quote(target)}", {"username": "alice", "password": PASSWORD})
    )
    assert_stays_on_site(client.get("/accounts/login/", {"next": target}))  # already logged in


@pytest.mark.parametrize("target", OFF_SITE)
def test_logout_never_redirects_off_site(alice, target):
    client = csrf_client(alice)
    assert_stays_on_site(client.post_form("/accounts/logout/", {"next": target}))
    client = csrf_client(alice)
    assert_stays_on_site(client.post_form(f"/accounts/logout/?next={quote(target)}"))


def test_a_local_next_is_still_followed(alice):
    client = csrf_client()
    client.get("/accounts/login/")
    response = client.post_form("/accounts/login/?next=/trash/", {"username": "alice", "password": PASSWORD})
    assert response["Location"] == "/trash/"


# --- NUL and other characters a database may refuse -------------------------------------------


def test_nul_characters_in_free_text_never_cause_a_server_error(alice, bob, staff, fake_openai):
    staff.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="prompts", codename__in=["view_prompt", "change_prompt"])
    )
    prompt = make_published(alice, fake_openai)
    bob_client = csrf_client(bob)
    assert bob_client.post_form(f"/prompt/{prompt.slug}/comments/", {"body": "nice\x00one"}).status_code == 302
    assert bob_client.post_form(f"/prompt/{prompt.slug}/save/", {"new_collection": "cars\x00"}).status_code == 302
    assert csrf_client().get("/u/al%00ice/").status_code == 404
    assert csrf_client().get("/?page=%00").status_code == 200
    login = csrf_client()
    login.get("/accounts/login/")
    assert login.post_form("/accounts/login/", {"username": "al\x00ice", "password": PASSWORD}).status_code == 200
    Prompt.objects.filter(id=prompt.id).update(moderation_status=Prompt.ModerationStatus.REJECTED)
    appeal = csrf_client(alice).post_form(f"/prompt/appeal/{prompt.processing_uuid}/", {"message": "please\x00look"})
    assert appeal.status_code == 302 and Prompt.objects.get(id=prompt.id).appeal_message == "pleaselook"
    staff_search = csrf_client(staff).get("/admin/prompts/prompt/", {"q": "fox\x00"})
    assert staff_search.status_code == 200
    assert not any("\x00" in body for body in Comment.objects.values_list("body", flat=True))
    assert not any("\x00" in name for name in Collection.objects.values_list("name", flat=True))


def make_published(user, fake_openai) -> Prompt:
    upload = ready_upload_for(user)
    prompt = submission.submit_prompt(
        user=user, upload_id=upload.id, content="a fox in the snow", ai_generator="flux", save_as_draft=False
    )
    tasks.generate_ai_content(prompt.id)
    return Prompt.objects.get(id=prompt.id)

"""The JSON API under generated input (hypothesis): arbitrary JSON values, objects with the right keys
holding the wrong things, huge strings, odd Unicode, numbers out of every range, deep nesting and bytes
that are not JSON at all — against real rows of the cast in every state. Whatever comes in, the answer
is never a server error, and every error is the one JSON shape {"error": "<text>"}."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prompts import tasks
from prompts.models import Prompt
from prompts.services import ai_content, submission, uploads
from tests.conftest import csrf_client
from tests.factories import ready_upload_for

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
ERROR_KEYS = {"error", "existing_url"}  # a duplicate of your own prompt also says where it is

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=16,
)
huge_strings = st.integers(min_value=1_000, max_value=70_000).map(lambda n: "ü" * n)
odd_text = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=300)
deep = st.integers(min_value=1, max_value=40_000).map(lambda n: "[" * n + "]" * n)


def fields(**named):
    """An object with some of the expected keys (each holding anything) and maybe a few others."""
    return st.builds(
        lambda known, extra: {**extra, **known},
        st.fixed_dictionaries({}, optional=named),
        st.dictionaries(st.text(max_size=12), json_values, max_size=3),
    )


def anything(*specific):
    return st.one_of(json_values, huge_strings, odd_text, *specific)


def bodies(objects):
    """Raw request bodies: JSON of generated values (NaN and Infinity included), or arbitrary bytes."""
    encoded = st.one_of(objects, json_values).map(lambda value: json.dumps(value).encode())
    return st.one_of(
        encoded,
        encoded,
        encoded,
        st.binary(max_size=300),
        deep.map(str.encode),
        st.sampled_from([b"", b"{", b"nul\x00l", b'{"upload_id": "' + b"\xc3" * 5 + b'"}']),
    )


def assert_answer(response):
    assert response.status_code < 500, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert isinstance(body, dict)
    if response.status_code >= 400:
        assert set(body) <= ERROR_KEYS and isinstance(body["error"], str) and body["error"].strip(), body
    return body


def post(client, url, raw: bytes):
    return client.post(
        url, data=raw, content_type="application/json", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value
    )


@pytest.fixture
def cast_rows(alice, bob, settings):
    """Uploads of alice in every state, one of bob's, and prompts complete, fallen back and bob's."""
    settings.UPLOAD_HOURLY_PRESIGN_LIMIT = 10_000
    ready, other = ready_upload_for(alice), ready_upload_for(bob)
    presigned = uploads.presign_upload(user=alice, filename="a.jpg", content_type="image/jpeg", file_size=999).upload
    rows = {"upload_ids": [str(ready.id), str(presigned.id), str(other.id)]}
    complete = submission.submit_prompt(
        user=alice, upload_id=ready.id, content="a fox in the snow", ai_generator="flux", save_as_draft=False
    )
    tasks.generate_ai_content(complete.id)  # the local AI provider fills in the details
    fallen_back = submission.submit_prompt(
        user=alice, upload_id=ready_upload_for(alice).id, content="a hare", ai_generator="flux", save_as_draft=False
    )
    ai_content.apply_fallback(prompt_id=fallen_back.id, reason=Prompt.ReviewReason.AI_ERROR)
    bobs = submission.submit_prompt(
        user=bob, upload_id=other.id, content="an owl", ai_generator="flux", save_as_draft=False
    )
    rows["prompt_uuids"] = [str(p.processing_uuid) for p in (complete, fallen_back, bobs)]
    return rows


def upload_ids(rows):
    return st.one_of(st.sampled_from(rows["upload_ids"]), st.uuids().map(str), anything())


# --- the upload steps ------------------------------------------------------------------------


def test_presign_answers_anything_without_a_server_error(alice, cast_rows):
    client = csrf_client(alice)
    names = anything(
        st.sampled_from(["a.jpg", "b.PNG", "../c.gif", "d.webp", "e.mp4", "f.mov", "g", ".jpg"]),
        odd_text.map(lambda name: name + ".jpg"),
    )
    types = anything(st.sampled_from(["image/jpeg", "image/png", "video/mp4", "IMAGE/GIF", "image/jpg", ""]))
    sizes = anything(st.integers(min_value=-(2**70), max_value=2**70), st.integers(min_value=1, max_value=4_000_000))

    @FUZZ
    @given(bodies(fields(filename=names, content_type=types, file_size=sizes)))
    def check(raw):
        body = assert_answer(post(client, "/api/upload/b2/presign/", raw))
        if "upload_id" in body:
            assert body["file_key"] == f"uploads/{body['upload_id']}/original.{body['file_key'].rsplit('.', 1)[1]}"

    check()


@pytest.mark.parametrize("step", ["complete", "moderate", "variants"])
def test_upload_steps_answer_anything_without_a_server_error(alice, cast_rows, step):
    client = csrf_client(alice)

    @FUZZ
    @given(bodies(fields(upload_id=upload_ids(cast_rows))))
    def check(raw):
        assert_answer(post(client, f"/api/upload/b2/{step}/", raw))

    check()


# --- the processing endpoints ------------------------------------------------------------------


def prompt_uuids(rows):
    return st.one_of(st.sampled_from(rows["prompt_uuids"]), st.uuids().map(str))


def test_retry_answers_anything_without_a_server_error(alice, cast_rows):
    client = csrf_client(alice)

    @FUZZ
    @given(prompt_uuids(cast_rows), bodies(json_values))
    def check(processing_uuid, raw):
        body = assert_answer(post(client, f"/api/prompt/retry/{processing_uuid}/", raw))
        if processing_uuid == cast_rows["prompt_uuids"][2] or processing_uuid not in cast_rows["prompt_uuids"]:
            assert body == {"error": "This prompt was not found."}  # bob's, or nobody's

    check()


def test_status_answers_any_wait_without_a_server_error(alice, cast_rows):
    client = csrf_client(alice)
    # Only finished prompts and unknown ones: the answer comes at once whatever `wait` says.
    finished = [cast_rows["prompt_uuids"][0], cast_rows["prompt_uuids"][2]]
    waits = st.one_of(
        st.text(max_size=30),
        st.floats().map(str),
        st.integers().map(str),
        st.sampled_from(["nan", "-inf", "inf", "1e309", "0x10", "٣", " 2 ", "1_0", "", "-0"]),
    )

    @FUZZ
    @given(st.one_of(st.sampled_from(finished), st.uuids().map(str)), waits)
    def check(processing_uuid, wait):
        response = client.get(f"/api/prompt/status/{processing_uuid}/", {"wait": wait})
        body = assert_answer(response)
        if processing_uuid == cast_rows["prompt_uuids"][0]:
            assert response.status_code == 200 and body["processing_complete"] is True
        else:
            assert (response.status_code, body) == (404, {"error": "This prompt was not found."})

    check()

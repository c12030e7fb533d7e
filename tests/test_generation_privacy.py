"""Uploads through the real API: what stealth bits and Content Credentials said is read, then neither
survives in the stored public original; the detail page credits the generator, escaped."""

import io

import pytest
from PIL import Image

from prompts import tasks
from prompts.media import storage
from prompts.media.generation import stealth
from prompts.models import Upload
from prompts.services import submission
from tests import generation_samples as samples
from tests.c2pa_signing import manifest_in, signed_image
from tests.conftest import csrf_client
from tests.factories import ready_upload_for
from tests.upload_flow import upload_file

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("name", ["a1111_stealth_pnginfo", "a1111_stealth_rgbcomp", "novelai_stealth_pngcomp"])
def test_stealth_bits_are_read_then_cleared_from_the_stored_original(alice_client, live_server, name):
    build, want = samples.SAMPLES[name]
    data = build()
    done = upload_file(alice_client, data, base_url=live_server.url, filename="hidden.png", content_type="image/png")
    assert done["found_prompt"]["prompt"] == want["prompt"]
    assert done["found_prompt"]["generator"] == want["generator"]
    stored = storage.read_bytes(Upload.objects.get(id=done["upload_id"]).file_key)
    assert stealth.detect(stored) is None and stealth.read(stored) == ""
    original, kept = Image.open(io.BytesIO(data)), Image.open(io.BytesIO(stored))
    assert kept.size == original.size and kept.mode == original.mode


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
)
def test_content_credentials_are_read_then_removed_from_the_stored_original(
    alice_client, live_server, fmt, content_type
):
    data = signed_image(fmt, claim_generator="ChatGPT", software_agent="GPT-4o", size=(320, 240))
    done = upload_file(
        alice_client, data, base_url=live_server.url, filename=f"chatgpt.{fmt.lower()}", content_type=content_type
    )
    # No prompt in the file: the page preselects the generator only.
    assert done["found_prompt"] == {"prompt": "", "negative_prompt": "", "generator": "gpt-image", "source": ""}
    upload = Upload.objects.get(id=done["upload_id"])
    assert upload.generation_metadata["provenance"]["made_with"] == "ChatGPT (GPT-4o)"
    stored = storage.read_bytes(upload.file_key)
    assert manifest_in(stored, fmt) is None
    assert b"caBX" not in stored and b"C2PA" not in stored and b"c2pa" not in stored
    assert Image.open(io.BytesIO(stored)).size == (320, 240)


def test_the_detail_page_credits_the_generator_escaped(alice, fake_openai):
    data = signed_image("PNG", claim_generator="<b>Evil</b> Studio", software_agent="GPT-4o")
    upload = ready_upload_for(alice, data, filename="credit.png", content_type="image/png")
    prompt = submission.submit_prompt(
        user=alice, upload_id=upload.id, content="a lighthouse", ai_generator="gpt-image", save_as_draft=False
    )
    tasks.generate_ai_content(prompt.id)
    prompt.refresh_from_db()
    html = csrf_client().get(f"/prompt/{prompt.slug}/").content.decode()
    assert "Content Credentials: made with &lt;b&gt;Evil&lt;/b&gt; Studio (GPT-4o) (AI-generated)" in html
    assert "<b>Evil</b>" not in html
    assert "ChatGPT / GPT Image" in html

"""Prompts read out of AI images, metadata stripped from public files, and duplicate uploads."""

import io
import json

import pytest
from PIL import Image, PngImagePlugin

from prompts.media import metadata, storage
from prompts.models import Prompt, Upload
from prompts.services import ai_content, submission
from tests import media_samples
from tests.conftest import csrf_client
from tests.factories import ready_upload_for
from tests.upload_flow import post_json, upload_file

pytestmark = pytest.mark.django_db(transaction=True)  # a live server thread shares the database

A1111 = (
    "a castle on a hill, dramatic sky, <lora:detail:0.7>\nNegative prompt: blurry, lowres\n"
    "Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234, Size: 512x512, Model: sdxl_base"
)
COMFY = {
    "3": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 5,
            "steps": 20,
            "cfg": 8,
            "sampler_name": "euler",
            "positive": ["6", 0],
            "negative": ["7", 0],
        },
    },
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a red fox in the snow"}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "ugly"}},
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "flux1-dev.safetensors"}},
}


def png_with(**chunks) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in chunks.items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), (30, 60, 90)).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def test_automatic1111_parameters_are_parsed():
    found = metadata.read_generation_metadata(png_with(parameters=A1111))
    assert found["prompt"] == "a castle on a hill, dramatic sky, <lora:detail:0.7>"
    assert found["negative_prompt"] == "blurry, lowres"
    assert found["settings"]["Sampler"] == "DPM++ 2M Karras" and found["settings"]["Seed"] == "1234"
    assert found["generator"] == "stable-diffusion" and found["source"] == "Automatic1111"


def test_comfyui_graph_gives_the_positive_prompt_and_the_model():
    found = metadata.read_generation_metadata(png_with(prompt=json.dumps(COMFY), workflow="{}"))
    assert found["prompt"] == "a red fox in the snow" and found["negative_prompt"] == "ugly"
    assert found["settings"]["Model"] == "flux1-dev.safetensors" and found["generator"] == "flux"


def test_exif_user_comment_and_description_are_read():
    exif = Image.Exif()
    exif[0x010E] = "a neon city in the rain --ar 16:9 --v 6 Job ID: 1234"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64)).save(buffer, format="JPEG", exif=exif.tobytes())
    found = metadata.read_generation_metadata(buffer.getvalue())
    assert found["prompt"].startswith("a neon city in the rain") and found["generator"] == "midjourney"


def test_hostile_metadata_is_capped_and_cleaned():
    found = metadata.read_generation_metadata(
        png_with(parameters="x\x00\x07" * 10000 + "\nSteps: 1, Seed: " + "9" * 999)
    )
    assert len(found["prompt"]) <= metadata.MAX_PROMPT and "\x00" not in found["prompt"]
    assert all(len(v) <= metadata.MAX_VALUE for v in found["settings"].values())
    assert metadata.read_generation_metadata(png_with(prompt="{not json")) == {}
    assert metadata.read_generation_metadata(b"garbage") == {}


def test_complete_offers_the_found_prompt_and_strips_it_from_the_stored_file(alice_client, live_server):
    data = png_with(parameters=A1111)
    done = upload_file(alice_client, data, base_url=live_server.url, filename="castle.png", content_type="image/png")
    assert done["found_prompt"] == {
        "prompt": "a castle on a hill, dramatic sky, <lora:detail:0.7>",
        "negative_prompt": "blurry, lowres",
        "generator": "stable-diffusion",
        "source": "Automatic1111",
    }
    upload = Upload.objects.get(id=done["upload_id"])
    stored = storage.read_bytes(upload.file_key)
    assert b"parameters" not in stored and b"castle" not in stored
    assert Image.open(io.BytesIO(stored)).size == (256, 256)


def test_generation_settings_travel_to_the_prompt_and_show_on_the_detail_page(alice, fake_openai):
    upload = ready_upload_for(alice, png_with(parameters=A1111), filename="castle.png", content_type="image/png")
    prompt = submission.submit_prompt(
        user=alice, upload_id=upload.id, content="a castle", ai_generator="stable-diffusion", save_as_draft=False
    )
    from prompts import tasks

    tasks.generate_ai_content(prompt.id)
    prompt.refresh_from_db()
    assert prompt.generation_settings["settings"]["Model"] == "sdxl_base"
    html = csrf_client().get(f"/prompt/{prompt.slug}/").content.decode()
    assert "Generation settings" in html and "DPM++ 2M Karras" in html
    assert "blurry, lowres" in html and "&lt;lora:detail:0.7&gt;" in html


def test_the_same_person_uploading_the_same_image_again_is_told_at_once(alice, alice_client, live_server, fake_openai):
    data = media_samples.jpeg_bytes(color=(12, 34, 56))
    first = ready_upload_for(alice, data)
    prompt = submission.submit_prompt(
        user=alice, upload_id=first.id, content="x y", ai_generator="flux", save_as_draft=False
    )
    _, answer = post_json(
        alice_client,
        "/api/upload/b2/presign/",
        {"filename": "again.jpg", "content_type": "image/jpeg", "file_size": len(data)},
    )
    import requests

    requests.put(live_server.url + answer["presigned_url"], data=data, headers=answer["headers"], timeout=10)
    code, error = post_json(alice_client, "/api/upload/b2/complete/", {"upload_id": answer["upload_id"]})
    assert code == 409 and error["error"] == "You already shared this image."
    assert error["existing_url"] == prompt.get_absolute_url()
    assert not storage.exists(answer["file_key"])
    assert Upload.objects.get(id=answer["upload_id"]).state == Upload.State.REJECTED


def test_the_same_image_from_someone_else_is_held_for_a_moderator(alice, bob, fake_openai):
    data = media_samples.jpeg_bytes(color=(99, 1, 2))
    original = submission.submit_prompt(
        user=alice, upload_id=ready_upload_for(alice, data).id, content="a b", ai_generator="flux", save_as_draft=False
    )
    ai_content.generate_ai_content(prompt_id=original.id)  # published: only published prompts count
    copy = submission.submit_prompt(
        user=bob, upload_id=ready_upload_for(bob, data).id, content="a b", ai_generator="flux", save_as_draft=False
    )
    copy.refresh_from_db()
    assert copy.duplicate_of_id == original.id
    assert copy.moderation_status == Prompt.ModerationStatus.PENDING


def test_near_duplicates_have_close_perceptual_hashes():
    base = Image.effect_mandelbrot((640, 480), (-2, -1.5, 1, 1.5), 60).convert("RGB")

    def encoded(img, quality):
        buffer = io.BytesIO()
        img.save(buffer, format="JPEG", quality=quality)
        return buffer.getvalue()

    from prompts.media import images

    original = images.perceptual_hash(encoded(base, 95))
    recompressed = images.perceptual_hash(encoded(base.resize((320, 240)), 60))
    different = images.perceptual_hash(encoded(base.rotate(90, expand=True), 95))
    assert metadata.hamming(original, recompressed) <= 6
    assert metadata.hamming(original, different) > 6


def test_moderators_see_the_original_and_near_duplicates_of_a_held_prompt(alice, bob, staff, fake_openai):
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(Permission.objects.get(codename="change_prompt"))
    data = media_samples.jpeg_bytes(color=(99, 1, 2))
    original = submission.submit_prompt(
        user=alice, upload_id=ready_upload_for(alice, data).id, content="a b", ai_generator="flux", save_as_draft=False
    )
    from prompts import tasks

    tasks.generate_ai_content(original.id)
    # the same picture re-encoded smaller: another file, the same look
    img = Image.open(io.BytesIO(data)).resize((400, 300))
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=60)
    similar = submission.submit_prompt(
        user=bob,
        upload_id=ready_upload_for(bob, buffer.getvalue()).id,
        content="c d",
        ai_generator="flux",
        save_as_draft=False,
    )
    Prompt.objects.filter(id=similar.id).update(moderation_status=Prompt.ModerationStatus.PENDING)
    page = csrf_client(staff).get("/admin/moderation/").content.decode()
    original.refresh_from_db()
    assert "Looks like:" in page and original.title in page and "bits differ" in page

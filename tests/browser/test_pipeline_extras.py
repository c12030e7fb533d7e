"""What no other upload pipeline does yet, in a real browser: the prompt read out of the image, the
duplicate told at once, uploads that survive a bad connection or a reload, honest waiting on the
processing page, appeals, and "Retry all" for prompts saved with limited details."""

import io
import re

import pytest
from PIL import Image, PngImagePlugin
from playwright.sync_api import expect

from prompts import tasks
from prompts.media import storage
from prompts.models import Prompt, Upload
from prompts.services import submission
from tests import media_samples
from tests.browser.flows import (
    AI_TIMEOUT_MS,
    UPLOAD_TIMEOUT_MS,
    dialog,
    drop_file,
    expect_ready,
    fill_prompt,
    pending_upload,
    record_texts,
    recorded_texts,
    screenshot,
    submit,
    submitted_prompt,
    wait_for,
)
from tests.factories import ready_upload_for
from tests.processes import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AI_TITLE = "Glowing Horizon Over A Quiet Dreamlike Scene"  # the fake server's default answer
FOUND_PROMPT = "a castle on a hill, dramatic sky, <lora:detail:0.7>"
A1111 = (
    f"{FOUND_PROMPT}\nNegative prompt: blurry, lowres\n"
    "Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234, Size: 512x512, Model: sdxl_base"
)
PUT_URL = "**/api/upload/local/**"
PRESIGN_PATH = "/api/upload/b2/presign/"
STATUS_PATH = "/api/prompt/status/"


def png_with_parameters(text: str) -> bytes:
    """A PNG as Automatic1111 saves it: the generation settings in a `parameters` text chunk."""
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", text)
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), (30, 60, 90)).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def unexpected_console_errors(page) -> list[str]:
    """Console errors other than Chromium's own line for each answer with an error status."""
    return [e for e in page.watch.console_errors if not e.startswith("Failed to load resource")]


def requests_to(page, path: str) -> list:
    seen = []
    page.on("request", lambda request: path in request.url and seen.append(request))
    return seen


def wait_for_seo_rename(prompt_id: int) -> None:
    # The detail page is opened once the prompt points at its renamed copies (the old files go later).
    wait_until(
        lambda: all(key.startswith("public/") for key in Prompt.objects.get(id=prompt_id).media_keys.values()),
        timeout=20,
        message="the SEO rename",
    )


def processing_prompt(page) -> Prompt:
    return Prompt.objects.get(processing_uuid=page.url.rstrip("/").rsplit("/", 1)[-1])


# --- 1. The prompt read out of the image -------------------------------------------------------


def test_the_prompt_found_in_the_image_fills_the_form_and_shows_on_the_detail_page(alice_page, start_worker):
    start_worker()
    page = alice_page
    page.goto("/upload/")
    drop_file(page, "castle.png", png_with_parameters(A1111), content_type="image/png")
    found = page.get_by_role("status").filter(has_text="We found the prompt in your image — use it?")
    expect(found).to_be_visible(timeout=UPLOAD_TIMEOUT_MS)
    expect(found).to_contain_text(FOUND_PROMPT)
    expect_ready(page)
    screenshot(page, "upload-found-prompt")

    found.get_by_role("button", name="Use it").click()
    expect(found).to_be_hidden()
    expect(page.get_by_label("Prompt *", exact=True)).to_have_value(FOUND_PROMPT)
    generator = page.get_by_label("Generator *", exact=True)
    expect(generator).to_have_value("stable-diffusion")
    assert generator.evaluate("(select) => select.selectedOptions[0].textContent") == "Stable Diffusion"

    submit(page)
    ready = dialog(page, "✅ Your prompt is ready!")
    expect(ready).to_be_visible(timeout=AI_TIMEOUT_MS)
    prompt = processing_prompt(page)
    wait_for_seo_rename(prompt.id)
    ready.get_by_role("button", name="View Your Prompt").click()
    page.wait_for_url(f"**/prompt/{prompt.slug}/")

    generation = page.get_by_role("region", name="Generation settings")
    expect(generation).to_be_visible()
    for text in ("Automatic1111", "blurry, lowres", "Sampler", "DPM++ 2M Karras", "Seed", "1234"):
        expect(generation).to_contain_text(text)
    expect(page.locator("#prompt-text")).to_have_text(FOUND_PROMPT)
    prompt.refresh_from_db()
    assert prompt.ai_generator == "stable-diffusion"
    # The public original keeps its pixels but not the text chunk with the settings.
    stored = storage.read_bytes(prompt.media_keys["original"])
    assert b"parameters" not in stored and b"tEXt" not in stored and b"castle" not in stored
    assert Image.open(io.BytesIO(stored)).size == (256, 256)
    page.watch.assert_clean()


# --- 2. The same image twice -------------------------------------------------------------------


def test_the_same_person_dropping_the_same_image_again_is_sent_to_the_first_prompt(alice_page, alice):
    data = media_samples.jpeg_bytes(color=(12, 34, 56))
    first = submission.submit_prompt(
        user=alice,
        upload_id=ready_upload_for(alice, data).id,
        content="A teal square at noon",
        ai_generator="flux",
        save_as_draft=False,
    )
    tasks.generate_ai_content(first.id)  # the first prompt is finished and has its page
    first.refresh_from_db()

    page = alice_page
    page.goto("/upload/")
    drop_file(page, "again.jpg", data)
    already = dialog(page, "You already shared this image")
    expect(already).to_be_visible(timeout=UPLOAD_TIMEOUT_MS)
    expect(already).to_contain_text("This exact image is already on PromptFinder under your name.")
    expect(already.get_by_role("button", name="Upload Different Image")).to_be_visible()
    already.get_by_role("button", name="View it").click()
    page.wait_for_url(f"**{first.get_absolute_url()}")
    expect(page.get_by_role("heading", level=1)).to_have_text(first.title)
    # Coming back to the upload page does not offer to resume a file that would be refused again.
    page.goto("/upload/")
    page.wait_for_load_state()
    assert pending_upload(page)["file"] is None
    expect(page.get_by_text("You didn't finish your last upload")).to_be_hidden()
    assert Upload.objects.exclude(id=first.upload_id).get().state == Upload.State.REJECTED
    assert Prompt.objects.count() == 1
    assert [r.split(" ")[0] for r in page.watch.error_responses] == ["409"]
    assert unexpected_console_errors(page) == []


# --- 3. Uploads that survive a bad connection --------------------------------------------------


def test_a_put_that_fails_twice_is_retried_and_the_upload_completes(alice_page):
    page = alice_page
    puts = []

    def flaky_storage(route):
        if route.request.method != "PUT":
            route.continue_()
            return
        puts.append(route.request.url)
        if len(puts) == 1:
            route.abort()  # the connection drops
        elif len(puts) == 2:
            route.fulfill(status=503, headers={"Retry-After": "1"}, body="busy")
        else:
            route.continue_()

    page.route(PUT_URL, flaky_storage)
    page.goto("/upload/")
    page.wait_for_load_state()
    record_texts(page, "#progress-label")
    drop_file(page, "harbour.jpg", media_samples.jpeg_bytes())
    fill_prompt(page, "A harbour in the rain, long exposure")
    expect_ready(page)
    assert len(puts) == 3 and len(set(puts)) == 1  # the same signed URL, three times
    assert any("retrying" in text for text in recorded_texts(page)), recorded_texts(page)
    assert Upload.objects.get().state == Upload.State.READY
    assert len(page.watch.failed_requests) == 1 and [r.split(" ")[0] for r in page.watch.error_responses] == ["503"]
    assert unexpected_console_errors(page) == []


def test_a_refused_signature_gets_a_fresh_url_and_the_upload_completes(alice_page):
    page = alice_page
    puts = []

    def refuse_once(route):
        if route.request.method != "PUT":
            route.continue_()
            return
        puts.append(route.request.url)
        if len(puts) == 1:
            route.fulfill(status=403, body="Signature expired")
        else:
            route.continue_()

    page.route(PUT_URL, refuse_once)
    presigns = requests_to(page, PRESIGN_PATH)
    page.goto("/upload/")
    drop_file(page, "harbour.jpg", media_samples.jpeg_bytes())
    expect_ready(page)
    assert len(presigns) == 2
    assert len(puts) == 2 and puts[0] != puts[1]  # the second PUT went to the fresh URL
    assert sorted(Upload.objects.values_list("state", flat=True)) == [Upload.State.PRESIGNED, Upload.State.READY]
    assert [r.split(" ")[0] for r in page.watch.error_responses] == ["403"]
    assert unexpected_console_errors(page) == []


# --- 4. Resume after a reload ------------------------------------------------------------------


def test_an_unfinished_upload_can_be_resumed_or_discarded_after_a_reload(alice_page):
    page = alice_page
    data = media_samples.jpeg_bytes(color=(70, 140, 210))
    banner = page.get_by_role("status").filter(has_text="You didn't finish your last upload")
    text = "A paper boat on a puddle, macro, morning light"

    # Discard: the banner goes, and stays gone after another reload.
    page.goto("/upload/")
    drop_file(page, "boat.jpg", data)
    fill_prompt(page, "Something I will throw away")
    expect_ready(page)
    wait_for(page, lambda: pending_upload(page)["file"] == "boat.jpg", message="the file kept for a reload")
    page.reload()
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("boat.jpg")
    banner.get_by_role("button", name="Discard").click()
    expect(banner).to_be_hidden()
    wait_for(page, lambda: pending_upload(page) == {"file": None, "text": None}, message="the kept upload forgotten")
    page.reload()
    page.wait_for_load_state()
    expect(banner).to_be_hidden()

    # Resume: the typed text comes back and the same file uploads again.
    drop_file(page, "boat.jpg", data)
    fill_prompt(page, text, generator="Leonardo")
    expect_ready(page)
    wait_for(page, lambda: pending_upload(page)["file"] == "boat.jpg", message="the file kept for a reload")
    page.reload()
    presigns = requests_to(page, PRESIGN_PATH)
    expect(banner).to_be_visible()
    expect(page.get_by_label("Prompt *", exact=True)).to_be_disabled()
    banner.get_by_role("button", name="Resume").click()
    expect(banner).to_be_hidden()
    expect(page.get_by_label("Prompt *", exact=True)).to_have_value(text)
    expect(page.get_by_label("Generator *", exact=True)).to_have_value("leonardo")
    expect(page.get_by_role("img", name="Preview of the file you chose")).to_be_visible()
    expect_ready(page)
    assert len(presigns) == 1 and presigns[0].post_data_json["filename"] == "boat.jpg"
    assert presigns[0].post_data_json["file_size"] == len(data)
    submit(page)
    prompt = processing_prompt(page)
    assert prompt.content == text and prompt.ai_generator == "leonardo"

    # Submitted: nothing is left to resume.
    page.goto("/upload/")
    page.wait_for_load_state()
    wait_for(page, lambda: pending_upload(page) == {"file": None, "text": None}, message="the kept upload forgotten")
    expect(banner).to_be_hidden()
    # Leaving the processing page cuts its long poll short; nothing else may fail.
    assert all(STATUS_PATH in failed and "ERR_ABORTED" in failed for failed in page.watch.failed_requests)
    assert page.watch.console_errors == [] and page.watch.error_responses == []


# --- 5 and 6. Honest waiting on the processing page --------------------------------------------


def test_the_processing_page_says_how_long_and_how_many_are_ahead(alice_page, alice, bob, live_server, start_worker):
    for _ in range(2):  # two earlier prompts of someone else, still waiting in the queue
        submission.submit_prompt(
            user=bob,
            upload_id=ready_upload_for(bob).id,
            content="Bob's turn first",
            ai_generator="flux",
            save_as_draft=False,
        )
    prompt = submitted_prompt(alice, base_url=live_server.url)
    page = alice_page
    page.goto(f"/prompt/processing/{prompt.processing_uuid}/")
    estimate = page.locator("#wait-estimate")
    expect(estimate).to_have_text(re.compile(r"^About \d+ seconds? — 2 uploads ahead of yours$"))
    expect(page.get_by_role("img", name="Your upload")).to_be_visible()
    page.wait_for_function("() => document.querySelector('img[alt=\"Your upload\"]').complete")
    screenshot(page, "processing-estimate")

    start_worker()
    ready = dialog(page, "✅ Your prompt is ready!")
    expect(ready).to_be_visible(timeout=AI_TIMEOUT_MS)
    expect(estimate).to_be_hidden()
    page.watch.assert_clean()


def test_the_long_poll_shows_the_result_with_few_requests(alice_page, alice, live_server, settings, start_worker):
    settings.PROCESSING_LONG_POLL_SECONDS = 20
    settings.PROCESSING_POLL_MS = 3000
    prompt = submitted_prompt(alice, base_url=live_server.url, content="A slow lighthouse [[ai:delay=2]]")
    start_worker()
    page = alice_page
    statuses = requests_to(page, STATUS_PATH)
    page.goto(f"/prompt/processing/{prompt.processing_uuid}/")
    ready = dialog(page, "✅ Your prompt is ready!")
    expect(ready).to_be_visible(timeout=AI_TIMEOUT_MS)
    expect(ready).to_contain_text(f"“{AI_TITLE}”")
    # Plain polling every 3 s would ask again and again while the worker starts and the AI thinks;
    # the long poll is answered once the prompt is complete.
    assert 1 <= len(statuses) <= 3, [r.url for r in statuses]
    assert all("wait=" in request.url for request in statuses)
    page.watch.assert_clean()


# --- 7. Appeals --------------------------------------------------------------------------------


def test_the_author_appeals_a_prompt_held_for_review(alice_page, alice, fake_openai):
    fake_openai.script("moderation", {"severity": "high", "violations": ["suggestive"], "explanation": "x"})
    prompt = submission.submit_prompt(
        user=alice,
        upload_id=ready_upload_for(alice).id,
        content="A portrait in a renaissance style",
        ai_generator="midjourney",
        save_as_draft=True,
    )
    tasks.generate_ai_content(prompt.id)
    prompt.refresh_from_db()
    assert prompt.moderation_status == Prompt.ModerationStatus.PENDING

    page = alice_page
    page.goto(f"/prompt/{prompt.slug}/")
    expect(page.get_by_text("Draft — only you can see this page")).to_be_visible()
    expect(page.get_by_text("Held for review.")).to_be_visible()
    page.get_by_label("Appeal: why should we look again?").fill("It is a classical painting study, nothing explicit.")
    page.get_by_role("button", name="Send appeal").click()
    expect(page.get_by_text("Your appeal is with our moderators.")).to_be_visible()
    expect(page.get_by_text("Thank you. A moderator will look at your appeal")).to_be_visible()
    expect(page.get_by_role("button", name="Send appeal")).to_have_count(0)
    expect(page.get_by_text("Held for review.")).to_have_count(0)
    prompt.refresh_from_db()
    assert prompt.appealed_at is not None
    assert prompt.appeal_message == "It is a classical painting study, nothing explicit."
    page.watch.assert_clean()


# --- 8. Retry all ------------------------------------------------------------------------------


def test_retry_all_gives_prompts_with_limited_details_their_ai_title(
    alice_page, alice, live_server, fake_openai, start_worker
):
    fake_openai.script("content", status=500, times=1)  # the AI fails once, then answers normally
    start_worker()
    prompt = submitted_prompt(alice, base_url=live_server.url, content="Neon koi fish in a rainy alley")
    wait_until(
        lambda: Prompt.objects.filter(id=prompt.id, processing_complete=True, needs_seo_review=True).exists(),
        timeout=30,
        message="the fallback",
    )

    page = alice_page
    page.goto("/u/alice/")
    limited = page.get_by_role("region", name="Saved with limited details (1)")
    expect(limited).to_be_visible()
    expect(limited.get_by_role("link", name=re.compile(r"^Neon koi fish"))).to_be_visible()
    limited.get_by_role("button", name="Retry all").click()
    expect(page.get_by_text("1 prompt queued to try the AI again.")).to_be_visible()

    wait_until(lambda: Prompt.objects.get(id=prompt.id).title == AI_TITLE, timeout=30, message="the AI title")
    # If the retry was already done when the profile page came back, that page shows the prompt's card:
    # let its thumbnail finish, or the reload would abort it (a browser's normal behaviour, not an error).
    page.wait_for_load_state("load")
    page.reload()
    expect(page.get_by_role("heading", name=re.compile(r"^Saved with limited details"))).to_have_count(0)
    prompt.refresh_from_db()
    assert prompt.processing_complete and not prompt.needs_seo_review
    page.watch.assert_clean()

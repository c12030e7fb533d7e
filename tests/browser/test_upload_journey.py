"""The whole journey in a real browser: sign up, give an image, watch it upload while typing, submit,
wait for the AI on the processing page, and land on the published prompt's page."""

import re

import pytest
from playwright.sync_api import expect

from prompts.models import Prompt
from tests import media_samples
from tests.browser.flows import (
    AI_TIMEOUT_MS,
    choose_file,
    dialog,
    drop_file,
    expect_ready,
    fill_prompt,
    image_loaded,
    screenshot,
    submit,
    verify_email,
    wait_for,
)
from tests.conftest import PASSWORD
from tests.fake_openai import DEFAULT_DESCRIPTION
from tests.processes import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AI_TITLE = "Glowing Horizon Over A Quiet Dreamlike Scene"  # the fake server's default answer
# A short delay keeps the processing page in its "Generating" state long enough to be seen.
PROMPT = "A lighthouse on a cliff at dusk, volumetric fog, 35mm film [[ai:delay=1.5]]"


def expected_tags() -> list[str]:
    """The fake AI picks the first three allowed tags, and the vocabulary is sent sorted by name."""
    from prompts.vocabulary import TAG_VOCABULARY

    return sorted(TAG_VOCABULARY)[:3]


def wait_for_seo_rename(prompt_id: int) -> None:
    # The rename task runs right after the AI: a page rendered just before it finished would point at
    # files it is about to delete, so the detail page is opened once the prompt points at the copies.
    wait_until(
        lambda: all(key.startswith("public/") for key in Prompt.objects.get(id=prompt_id).media_keys.values()),
        timeout=20,
        message="the SEO rename",
    )


def finish_on_processing_page(page) -> Prompt:
    """From the processing page to the published prompt's page; returns the prompt."""
    expect(page.get_by_role("heading", level=1)).to_have_text("⏳ Generating...")
    ready = dialog(page, "✅ Your prompt is ready!")
    expect(ready).to_be_visible(timeout=AI_TIMEOUT_MS)
    expect(ready).to_contain_text(f"“{AI_TITLE}”")
    expect(ready).to_contain_text("Your prompt has been published and is now live.")
    # Behind the modal, the page filled itself in.
    expect(page.locator("#prompt-title")).to_have_text(AI_TITLE)
    expect(page.locator("#prompt-description")).to_have_text(DEFAULT_DESCRIPTION)
    prompt = Prompt.objects.get(processing_uuid=page.url.rstrip("/").rsplit("/", 1)[-1])
    wait_for_seo_rename(prompt.id)
    ready.get_by_role("button", name="View Your Prompt").click()
    page.wait_for_url(f"**/prompt/{prompt.slug}/")
    return prompt


def expect_published_page(page, prompt: Prompt) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(AI_TITLE)
    expect(page.get_by_role("list", name="Tags").get_by_role("listitem")).to_have_text(expected_tags())
    image = page.get_by_role("img", name=re.compile(AI_TITLE))
    expect(image).to_be_visible()
    page.wait_for_function("(img) => img.complete", arg=image.element_handle())
    assert image_loaded(image), image.get_attribute("src")
    prompt.refresh_from_db()
    assert prompt.status == Prompt.Status.PUBLISHED
    assert prompt.title == AI_TITLE
    assert sorted(prompt.tags.names()) == expected_tags()


def test_sign_up_drop_an_image_and_publish_it(page, start_worker):
    start_worker()
    page.goto("/accounts/signup/")
    page.get_by_label("Email").fill("dora@example.com")
    page.get_by_label("Username").fill("dora")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text("@dora")).to_be_visible()
    verify_email(page, "dora@example.com")  # uploading needs a verified address

    page.get_by_role("banner").get_by_role("link", name="Upload").click()
    expect(page.get_by_text("Select an image or video to enable the form")).to_be_visible()
    expect(page.get_by_label("Prompt *", exact=True)).to_be_disabled()
    expect(page.get_by_label("Generator *", exact=True)).to_be_disabled()
    expect(page.get_by_role("button", name="Submit", exact=True)).to_be_disabled()

    # Hold the PUT of the bytes: the preview must show from the browser's memory before any upload.
    held = []
    page.route("**/api/upload/local/**", lambda route: held.append(route))
    drop_file(page, "lighthouse.jpg", media_samples.jpeg_bytes(size=(1600, 1200)))
    preview = page.get_by_role("img", name="Preview of the file you chose")
    expect(preview).to_be_visible()
    expect(preview).to_have_attribute("src", re.compile(r"^blob:"))
    page.wait_for_function("(img) => img.complete && img.naturalWidth === 1600", arg=preview.element_handle())
    expect(page.get_by_text("From your device (not uploaded yet)")).to_be_visible()
    wait_for(page, lambda: held, message="the browser's PUT of the file")
    expect(page.locator('[data-step="ready"]')).to_have_text("Ready to submit")
    expect(page.get_by_text("✓ Uploaded")).to_have_count(0)
    # The form is open while the file uploads: the person types in the meantime.
    expect(page.get_by_role("button", name="Submit", exact=True)).to_be_disabled()
    fill_prompt(page, PROMPT, generator="Midjourney")
    held[0].continue_()
    page.unroute("**/api/upload/local/**")

    expect_ready(page)
    expect(page.get_by_text("Status: ✅ Content verified")).to_be_visible()
    expect(page.get_by_text("Uploaded", exact=True)).to_be_visible()  # the preview's caption
    screenshot(page, "upload")

    submit(page)
    expect(page.get_by_role("img", name="Your upload")).to_be_visible()
    page.wait_for_function("() => document.querySelector('img[alt=\"Your upload\"]').complete")
    expect(page.get_by_role("heading", level=1)).to_have_text("⏳ Generating...")
    screenshot(page, "processing")
    prompt = finish_on_processing_page(page)

    expect_published_page(page, prompt)
    assert prompt.author.username == "dora"
    assert prompt.ai_generator == "midjourney"
    screenshot(page, "detail")
    page.watch.assert_clean()


def test_choose_a_file_with_the_file_input_and_publish_it(alice_page, start_worker):
    page = alice_page
    start_worker()
    page.goto("/upload/")
    choose_file(page, "harbour.jpg", media_samples.jpeg_bytes())
    expect(page.get_by_role("img", name="Preview of the file you chose")).to_be_visible()
    fill_prompt(page, PROMPT, generator="Flux")
    expect_ready(page)
    submit(page)
    prompt = finish_on_processing_page(page)
    expect_published_page(page, prompt)
    assert prompt.ai_generator == "flux"
    page.watch.assert_clean()


def test_the_same_journey_on_the_s3_backend(alice_page, public_s3_media, start_worker):
    """The browser PUTs straight to the bucket (moto answers the CORS preflight); the worker reads it there."""
    page, s3_media = alice_page, public_s3_media
    start_worker()
    page.goto("/upload/")
    with page.expect_request(lambda request: request.method == "PUT") as put:
        drop_file(page, "harbour.jpg", media_samples.jpeg_bytes())
    assert put.value.url.startswith(f"{s3_media.endpoint}/{s3_media.bucket}/uploads/")
    fill_prompt(page, PROMPT)
    expect_ready(page)
    submit(page)
    prompt = finish_on_processing_page(page)
    expect_published_page(page, prompt)
    image_src = page.get_by_role("img", name=re.compile(AI_TITLE)).get_attribute("src")
    assert image_src.startswith(f"{s3_media.endpoint}/{s3_media.bucket}/public/")
    keys = {obj["Key"] for obj in s3_media.client.list_objects_v2(Bucket=s3_media.bucket).get("Contents", [])}
    assert set(prompt.media_keys.values()) <= keys
    page.watch.assert_clean()

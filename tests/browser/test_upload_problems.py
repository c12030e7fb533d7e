"""What a person sees on the upload page when the file, the limits or the content check say no."""

import pytest
from playwright.sync_api import expect

from prompts.models import ModerationAction, Prompt, Upload
from tests import media_samples
from tests.browser.flows import AI_TIMEOUT_MS, UPLOAD_TIMEOUT_MS, dialog, drop_file, fill_prompt
from tests.conftest import csrf_client
from tests.upload_flow import presign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

UNSUPPORTED = "File type not supported. Please upload JPG, PNG, GIF, WebP, MP4, WebM, or MOV."


def test_an_image_over_3_mb_is_refused_before_anything_is_sent(alice_page):
    page = alice_page
    page.goto("/upload/")
    drop_file(page, "huge.jpg", size=int(3.2 * 1024 * 1024))
    refused = dialog(page, "File too large")
    expect(refused).to_be_visible()
    expect(refused).to_contain_text("Image must be under 3MB. Your file is 3.2 MB.")
    expect(refused.get_by_role("button", name="Upload Different Image")).to_be_focused()
    page.keyboard.press("Escape")
    expect(refused).to_be_hidden()
    expect(page.get_by_text("Select an image or video to enable the form")).to_be_visible()
    expect(page.get_by_label("Prompt *", exact=True)).to_be_disabled()
    assert not Upload.objects.exists()
    page.watch.assert_clean()


def test_a_file_of_another_type_is_refused(alice_page):
    page = alice_page
    page.goto("/upload/")
    drop_file(page, "notes.pdf", b"%PDF-1.4\n%fake\n", content_type="application/pdf")
    refused = dialog(page, "File not supported")
    expect(refused).to_be_visible()
    expect(refused).to_contain_text(UNSUPPORTED)
    page.keyboard.press("Escape")
    expect(refused).to_be_hidden()
    # OK closes it too.
    drop_file(page, "archive.zip", b"PK\x03\x04", content_type="application/zip")
    expect(refused).to_contain_text(UNSUPPORTED)
    refused.get_by_role("button", name="OK").click()
    expect(refused).to_be_hidden()
    assert not Upload.objects.exists()
    page.watch.assert_clean()


def test_a_file_that_only_pretends_to_be_a_jpeg_is_refused_by_the_server(alice_page):
    page = alice_page
    page.goto("/upload/")
    drop_file(page, "photo.jpg", b"this is not an image at all" * 10)
    refused = dialog(page, "We couldn't use this file")
    expect(refused).to_be_visible(timeout=UPLOAD_TIMEOUT_MS)
    expect(refused).to_contain_text("What you typed is kept.")
    expect(page.get_by_role("button", name="Submit", exact=True)).to_be_disabled()
    assert Upload.objects.get().state == Upload.State.PRESIGNED  # never accepted


def test_the_hourly_limit_shows_the_limit_modal(alice_page, alice, settings):
    settings.UPLOAD_HOURLY_PRESIGN_LIMIT = 2
    client = csrf_client(alice)
    for _ in range(2):
        assert presign(client)[0] == 200
    page = alice_page
    page.goto("/upload/")
    drop_file(page, "harbour.jpg", media_samples.jpeg_bytes())
    limit = dialog(page, "⛔ Upload Limit Reached")
    expect(limit).to_be_visible(timeout=UPLOAD_TIMEOUT_MS)
    expect(limit).to_contain_text("You've reached the maximum of 2 uploads per hour.")
    expect(limit).to_contain_text("Upgrade to Premium for higher limits.")
    limit.get_by_role("button", name="OK").click()
    expect(limit).to_be_hidden()
    assert Upload.objects.count() == 2
    assert [r.split(" ")[0] for r in page.watch.error_responses] == ["429"]


def test_flagged_content_can_be_submitted_as_a_draft_for_review(alice_page, fake_openai, start_worker):
    fake_openai.script("moderation", {"severity": "high", "violations": ["suggestive"], "explanation": "x"})
    start_worker()
    page = alice_page
    page.goto("/upload/")
    drop_file(page, "portrait.jpg", media_samples.jpeg_bytes())
    flagged = page.get_by_role("alert").filter(has_text="⚠️ CONTENT FLAGGED FOR REVIEW")
    expect(flagged).to_be_visible(timeout=UPLOAD_TIMEOUT_MS)
    expect(flagged).to_contain_text("needs admin review before it can be published")
    expect(page.get_by_text("⚠ Flagged for review")).to_be_visible()
    expect(page.get_by_text("✓ Ready to submit")).to_be_visible(timeout=UPLOAD_TIMEOUT_MS)
    fill_prompt(page, "A portrait in the style of a renaissance painting")
    flagged.get_by_role("button", name="Submit as Draft").click()
    page.wait_for_url("**/prompt/processing/*/")

    ready = dialog(page, "✅ Your prompt is ready!")
    expect(ready).to_be_visible(timeout=AI_TIMEOUT_MS)
    expect(ready).to_contain_text("Your prompt has been saved as a draft while our team reviews your image")
    prompt = Prompt.objects.get()
    assert prompt.status == Prompt.Status.DRAFT
    assert prompt.moderation_status == Prompt.ModerationStatus.PENDING
    assert prompt.upload.moderation_action == ModerationAction.REVIEW


def test_critical_content_is_rejected_and_cannot_be_submitted(alice_page, fake_openai):
    fake_openai.script("moderation", {"severity": "critical", "violations": ["explicit"], "explanation": "x"})
    page = alice_page
    page.goto("/upload/")
    drop_file(page, "bad.jpg", media_samples.jpeg_bytes())
    rejected = page.get_by_role("alert").filter(has_text="⛔ UPLOAD REJECTED")
    expect(rejected).to_be_visible(timeout=UPLOAD_TIMEOUT_MS)
    expect(rejected).to_contain_text("This image contains content that violates our community guidelines.")
    expect(rejected.get_by_role("button", name="Upload Different Image")).to_be_visible()
    expect(page.get_by_text("✗ Content rejected")).to_be_visible()
    expect(page.get_by_text("This file cannot be shared. Please choose a different image.")).to_be_visible()
    fill_prompt(page, "Anything at all")
    expect(page.get_by_role("button", name="Submit", exact=True)).to_be_disabled()
    assert Upload.objects.get().state == Upload.State.REJECTED
    assert not Prompt.objects.exists()

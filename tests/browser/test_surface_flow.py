"""Issue 18 in a real browser: what a new user tripped on in the upload flow, on the processing page and
on the prompt page (items 1-6, 10-12), at phone and desktop width."""

import re

import pytest
from playwright.sync_api import expect

from prompts import tasks
from prompts.models import Collection, Prompt
from prompts.services import submission
from tests import media_samples, video_samples
from tests.browser.flows import (
    AI_TIMEOUT_MS,
    DESKTOP,
    PHONE,
    UPLOAD_TIMEOUT_MS,
    choose_file,
    dialog,
    drop_file,
    expect_ready,
    fill_prompt,
    log_in,
    record_texts,
    recorded_texts,
    screenshot,
    submit,
    submitted_prompt,
)
from tests.browser.test_pipeline_extras import A1111, png_with_parameters
from tests.factories import ready_upload_for
from tests.processes import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NO_MATCHING_TAG = {
    "title": "Copper Kettle On A Winter Windowsill",
    "description": "A copper kettle steams beside a frosted window.",
    "tags": ["Kettles", "Frost On Glass"],  # none of them in the vocabulary
    "relevance_score": 0.9,
    "relevance_explanation": "fits",
}

# Every rendered element wider than the viewport, or reaching past its right edge.
_TOO_WIDE = """
() => {
  const limit = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.width > limit + 1 || box.right > limit + 1) {
      wide.push(`${el.tagName}.${el.className} ${Math.round(box.width)}px`);
    }
  }
  return { limit, scrollWidth: document.documentElement.scrollWidth, wide };
}
"""


def published(user, data: bytes | None = None, *, filename="photo.jpg", content_type="image/jpeg", draft=False):
    upload = ready_upload_for(user, data, filename=filename, content_type=content_type)
    prompt = submission.submit_prompt(
        user=user, upload_id=upload.id, content="a quiet orange room at dusk", ai_generator="flux", save_as_draft=draft
    )
    tasks.generate_ai_content(prompt.id)
    prompt.refresh_from_db()
    return prompt


# --- 1. Video posts -----------------------------------------------------------------------


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375", "1280"])
def test_a_video_page_fits_the_screen_and_shows_the_title_above_the_fold(page, alice, viewport):
    prompt = published(
        alice, video_samples.h264(frames=24, size=(1280, 720)), filename="clip.mp4", content_type="video/mp4"
    )
    assert prompt.media_type == "video" and (prompt.width, prompt.height) == (1280, 720)
    page.set_viewport_size(viewport)
    page.goto(f"/prompt/{prompt.slug}/")
    video = page.locator("video")
    expect(video).to_have_attribute("poster", re.compile(r"\S"))
    for name in ("controls", "playsinline"):
        assert video.get_attribute(name) is not None, name
    assert video.get_attribute("autoplay") is None and video.get_attribute("muted") is None  # it does not autoplay
    assert (video.get_attribute("width"), video.get_attribute("height")) == ("1280", "720")
    page.wait_for_function("() => document.querySelector('video').readyState >= 1")
    fit = page.evaluate(_TOO_WIDE)
    assert fit["wide"] == [] and fit["scrollWidth"] <= fit["limit"], fit
    box = video.bounding_box()
    assert abs(box["width"] / box["height"] - 16 / 9) < 0.02, box  # its own shape, not stretched
    title = page.get_by_role("heading", level=1)
    expect(title).to_have_text(prompt.title)
    assert title.bounding_box()["y"] + title.bounding_box()["height"] <= viewport["height"]
    # Copy and the prompt are reachable and not covered by the video.
    copy = page.get_by_role("button", name="Copy prompt")
    copy_box = copy.bounding_box()
    assert copy_box["y"] >= box["y"] + box["height"] or copy_box["x"] >= box["x"] + box["width"]
    screenshot(page, f"s18a-video-detail-{viewport['width']}")
    page.watch.assert_clean()


# --- 2. No matching tag is not a failure; the draft page says why --------------------------


def test_an_ai_answer_without_a_matching_tag_publishes(alice_page, fake_openai, start_worker):
    page = alice_page
    fake_openai.script("content", NO_MATCHING_TAG)
    start_worker()
    page.goto("/upload/")
    drop_file(page, "kettle.jpg", media_samples.jpeg_bytes())
    fill_prompt(page, "a copper kettle on a frosty windowsill")
    expect_ready(page)
    submit(page)
    ready = dialog(page, "✅ Your prompt is ready!")
    expect(ready).to_be_visible(timeout=AI_TIMEOUT_MS)
    expect(ready).to_contain_text("Your prompt has been published and is now live.")
    expect(dialog(page, "⚠️ Your prompt was saved with limited details")).to_have_count(0)
    prompt = Prompt.objects.get(processing_uuid=page.url.rstrip("/").rsplit("/", 1)[-1])
    assert prompt.status == Prompt.Status.PUBLISHED and not prompt.needs_seo_review
    assert prompt.slug == "copper-kettle-on-a-winter-windowsill" and prompt.tags.count() == 0
    page.watch.assert_clean()


def test_a_draft_says_why_and_publishes_from_its_page(alice_page, start_worker):
    page = alice_page
    start_worker()
    page.goto("/upload/")
    drop_file(page, "harbour.jpg", media_samples.jpeg_bytes())
    fill_prompt(page, "a harbour at dawn")
    page.get_by_label("Save as draft").check()
    expect_ready(page)
    submit(page)
    ready = dialog(page, "✅ Your prompt is ready!")
    expect(ready).to_be_visible(timeout=AI_TIMEOUT_MS)
    page.keyboard.press("Escape")
    link = page.get_by_role("link", name="Open your draft")
    expect(link).to_be_focused()
    link.click()
    draft = page.get_by_role("region", name="Draft — only you can see this page")
    expect(draft).to_contain_text("Why it's a draft")
    expect(draft).to_contain_text("You chose “Save as draft”.")
    expect(draft.get_by_role("link", name="Edit details")).to_be_visible()
    screenshot(page, "s18a-draft")
    draft.get_by_role("button", name="Publish").click()
    page.wait_for_url("**/prompt/glowing-horizon-over-a-quiet-dreamlike-scene/")
    expect(page.get_by_text("Your prompt is published and live.")).to_be_visible()
    expect(page.get_by_role("region", name="Draft — only you can see this page")).to_have_count(0)
    assert Prompt.objects.get().status == Prompt.Status.PUBLISHED
    page.watch.assert_clean()


def test_a_draft_with_limited_details_offers_complete_details(alice_page, alice, live_server, start_worker):
    page = alice_page
    prompt = submitted_prompt(alice, base_url=live_server.url, content="Neon koi in the rain [[ai:error]]")
    start_worker()
    page.goto(f"/prompt/processing/{prompt.processing_uuid}/")
    limited = dialog(page, "⚠️ Your prompt was saved with limited details")
    expect(limited).to_be_visible(timeout=AI_TIMEOUT_MS)
    expect(limited).to_contain_text("We couldn't automatically generate a title and description")
    limited.get_by_role("button", name="View Draft").click()
    draft = page.get_by_role("region", name="Draft — only you can see this page")
    expect(draft).to_contain_text("We couldn't generate its title or description automatically.")
    expect(draft.get_by_role("button", name="Publish")).to_have_count(0)
    draft.get_by_role("link", name="Complete details").click()
    page.wait_for_url(f"**/prompt/edit/{prompt.processing_uuid}/")


# --- 3. The found prompt is offered at the prompt field ------------------------------------


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "375"])
def test_the_found_prompt_is_offered_next_to_the_prompt_field(alice_page, viewport):
    page = alice_page
    page.set_viewport_size(viewport)
    page.goto("/upload/")
    drop_file(page, "castle.png", png_with_parameters(A1111), content_type="image/png")
    found = page.get_by_role("status").filter(has_text="We found the prompt in your image — use it?")
    expect(found).to_be_visible(timeout=UPLOAD_TIMEOUT_MS)
    # Both boxes in one go: focus moving to the prompt field may scroll the page between two reads.
    field, offer = page.evaluate(
        """() => ['id_content', 'found-prompt'].map((id) => {
          const box = document.getElementById(id).getBoundingClientRect();
          return { x: box.x, y: box.y + window.scrollY, height: box.height };
        })"""
    )
    gap = offer["y"] - (field["y"] + field["height"])
    assert 0 <= gap < 80, (field, offer)  # right under the prompt field, not under the preview
    assert abs(offer["x"] - field["x"]) < 40
    if viewport == DESKTOP:
        assert offer["y"] < viewport["height"], offer  # in sight without scrolling
    expect_ready(page)
    screenshot(page, f"s18a-found-prompt-{viewport['width']}")


# --- 4. After the completion modal --------------------------------------------------------


def test_after_the_modal_the_page_shows_the_outcome_and_links_to_the_prompt(
    alice_page, alice, live_server, start_worker
):
    page = alice_page
    for colour in ((20, 120, 200), (200, 160, 20)):
        published(alice, media_samples.jpeg_bytes((1600, 900), color=colour))
    prompt = submitted_prompt(alice, base_url=live_server.url, content="A lighthouse at dusk [[ai:delay=1]]")
    start_worker()
    page.goto(f"/prompt/processing/{prompt.processing_uuid}/")
    ready = dialog(page, "✅ Your prompt is ready!")
    expect(ready).to_be_visible(timeout=AI_TIMEOUT_MS)
    ready.press("Escape")
    expect(ready).to_be_hidden()
    prompt.refresh_from_db()
    outcome = page.locator("#outcome")
    expect(outcome).to_be_visible()
    expect(outcome).to_contain_text("Your prompt has been published and is now live.")
    link = outcome.get_by_role("link", name="View your prompt")
    expect(link).to_have_attribute("href", f"/prompt/{prompt.slug}/")
    expect(link).to_be_focused()  # 12: focus lands on the way on, not on the body
    # Delete is the last action, never the first.
    actions = page.locator(".actions").first.locator("a, button")
    expect(actions.last).to_have_text(re.compile("Delete"))
    expect(actions.first).not_to_have_text(re.compile("Delete"))
    # "More from" thumbnails keep their own shape (16:9 here), not slivers.
    thumbs = page.get_by_role("region", name="More from @alice").get_by_role("img")
    expect(thumbs).to_have_count(2)
    for index in range(2):
        thumb = thumbs.nth(index)
        page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
        box = thumb.bounding_box()
        assert abs(box["width"] / box["height"] - 16 / 9) < 0.05, box
    screenshot(page, "s18a-processing-outcome")
    link.click()
    page.wait_for_url(f"**/prompt/{prompt.slug}/")
    page.watch.assert_clean()


# --- 5. A video on the upload page --------------------------------------------------------


def test_a_video_upload_speaks_of_a_video(alice_page):
    page = alice_page
    page.goto("/upload/")
    record_texts(page, "#steps")
    choose_file(page, "clip.mp4", video_samples.h264(frames=24), content_type="video/mp4")
    expect(page.get_by_label("Preview of the video you chose")).to_be_visible()
    expect(page.get_by_role("img", name="Preview of the file you chose")).to_be_hidden()
    expect(page.get_by_text("✓ Poster and previews ready")).to_be_visible(timeout=UPLOAD_TIMEOUT_MS)
    expect(page.get_by_role("button", name="Change video")).to_be_visible()
    expect(page.get_by_text("Change Image")).to_have_count(0)
    assert not any("image" in text.lower() for text in recorded_texts(page)), recorded_texts(page)
    screenshot(page, "s18a-upload-video")
    page.watch.assert_clean()


# --- 6 and 12. A refused file leaves nothing behind; focus goes somewhere visible -----------


def test_a_refused_file_brings_back_the_empty_drop_zone_and_keeps_the_text(alice_page):
    page = alice_page
    page.goto("/upload/")
    choose_file(page, "photo.jpg", b"this is not an image at all" * 10)
    refused = dialog(page, "We couldn't use this file")
    expect(refused).to_be_visible(timeout=UPLOAD_TIMEOUT_MS)
    # Behind the dialog: a sentence, not a broken-image icon, for what the browser cannot show.
    expect(page.get_by_text("Your browser can't show a preview of this image.")).to_be_visible()
    expect(page.get_by_role("img", name="Preview of the file you chose")).to_be_hidden()
    fill_prompt_while_open = page.get_by_label("Prompt *", exact=True)
    refused.get_by_role("button", name="OK").click()
    expect(refused).to_be_hidden()
    expect(page.locator("#dropzone")).to_be_visible()
    expect(page.get_by_role("button", name="Browse")).to_be_focused()
    expect(page.locator("#preview")).to_be_hidden()
    expect(page.get_by_text("Uploading... 100%")).to_have_count(0)
    expect(page.get_by_text("We're getting your file ready while you type.")).to_have_count(0)
    assert fill_prompt_while_open.is_enabled()
    assert [r.split(" ")[0] for r in page.watch.error_responses] == ["415"]  # the refusal itself


def test_focus_never_lands_on_the_hidden_file_input_or_the_body(alice_page):
    page = alice_page
    page.goto("/upload/")
    # Tab from the skip link onwards: the visually hidden input is never a stop.
    stops = []
    for _ in range(12):
        page.keyboard.press("Tab")
        stops.append(page.evaluate("() => document.activeElement.id || document.activeElement.tagName"))
    assert "file-input" not in stops, stops
    # A file too large: after the dialog, focus is on the drop zone's Browse button.
    drop_file(page, "huge.jpg", size=int(3.2 * 1024 * 1024))
    refused = dialog(page, "File too large")
    refused.get_by_role("button", name="OK").click()
    expect(page.get_by_role("button", name="Browse")).to_be_focused()
    # Choosing a file with the keyboard on the drop zone: focus goes on to the prompt field.
    choose_file(page, "harbour.jpg", media_samples.jpeg_bytes())
    expect(page.get_by_label("Prompt *", exact=True)).to_be_focused()
    assert page.evaluate("() => document.activeElement !== document.body")
    expect_ready(page)  # nothing still in flight when the database is flushed


# --- 10. The prompt page: Like and Save stay in place, Delete asks, "just now" ------------------


def test_like_and_save_keep_the_page_and_its_scroll(page, context, alice, bob, live_server):
    prompt = published(alice)
    Collection.objects.create(owner=bob, name="Evenings")
    log_in(context, bob, live_server.url)
    page.set_viewport_size(PHONE)
    page.goto(f"/prompt/{prompt.slug}/")
    page.evaluate("() => { window.__samePage = true; }")
    like = page.get_by_role("button", name=re.compile(r"^Like"))
    like.scroll_into_view_if_needed()
    scroll = page.evaluate("() => window.scrollY")
    assert scroll > 0
    like.click()
    expect(page.get_by_role("button", name="Liked · 1")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("() => window.__samePage === true")  # no reload
    assert abs(page.evaluate("() => window.scrollY") - scroll) < 5
    assert prompt.likes.filter(user=bob).exists()

    save = page.get_by_role("form", name="Save to a collection")
    expect(save).to_contain_text("Not in any of your collections yet.")
    save.get_by_label("Your collections").select_option(label="Evenings")
    save.get_by_role("button", name="Save").click()
    expect(save.get_by_role("status")).to_have_text("Saved to “Evenings”.")
    expect(save).to_contain_text("Already saved in: Evenings")
    assert page.evaluate("() => window.__samePage === true")
    assert prompt.collections.filter(name="Evenings", owner=bob).exists()

    page.get_by_label("Add a comment").fill("Lovely light")
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator(".comments li").first).to_contain_text("just now")
    expect(page.get_by_text("0 minutes ago")).to_have_count(0)
    screenshot(page, "s18a-detail-social")
    page.watch.assert_clean()


def test_like_works_without_javascript(browser, live_server, alice, bob):
    prompt = published(alice)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        log_in(context, bob, live_server.url)
        page = context.new_page()
        page.goto(f"/prompt/{prompt.slug}/")
        page.get_by_role("button", name=re.compile(r"^Like")).click()
        page.wait_for_url(f"**/prompt/{prompt.slug}/#actions")
        expect(page.get_by_role("button", name="Liked · 1")).to_be_visible()
    finally:
        context.close()


def test_delete_on_the_prompt_page_asks_first(alice_page, alice):
    page = alice_page
    prompt = published(alice)
    page.goto(f"/prompt/{prompt.slug}/")
    page.get_by_role("button", name="Delete").click()
    confirm = dialog(page, "🗑️ Move this prompt to your trash?")
    expect(confirm).to_contain_text("You can restore it within 5 days.")
    confirm.get_by_role("button", name="Keep It").click()
    expect(confirm).to_be_hidden()
    prompt.refresh_from_db()
    assert not prompt.is_deleted
    page.get_by_role("button", name="Delete").click()
    confirm.get_by_role("button", name="Move to Trash").click()
    page.wait_for_url("**/trash/")
    wait_until(lambda: Prompt.objects.get(id=prompt.id).is_deleted, timeout=5, message="the trash")


# --- 11. Honest copy ------------------------------------------------------------------------


def test_with_the_local_provider_the_page_says_nothing_was_checked(alice_page, settings):
    settings.AI_PROVIDER = "local"
    settings.AI_ALLOW_UNCHECKED = True
    page = alice_page
    page.goto("/upload/")
    drop_file(page, "harbour.jpg", media_samples.jpeg_bytes())
    expect(page.get_by_text("✓ Ready to submit")).to_be_visible(timeout=UPLOAD_TIMEOUT_MS)
    expect(page.get_by_text("Status: not checked")).to_be_visible()
    expect(page.get_by_text("Nothing was checked: no automatic content check is set up on this site")).to_be_visible()
    expect(page.get_by_text("– Content not checked (no check set up)")).to_be_visible()
    body = page.locator("body").inner_text()
    assert "Content verified" not in body and "passed our content guidelines" not in body
    screenshot(page, "s18a-upload-unchecked")

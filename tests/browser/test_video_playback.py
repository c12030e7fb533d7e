"""Every kind of video we accept plays on its public page in Chromium, at the size we recorded; a
.m4v can be chosen on the upload page; refused videos say what to export."""

from fractions import Fraction

import pytest
from playwright.sync_api import expect

from prompts import tasks
from prompts.models import Prompt
from prompts.services import submission
from tests import video_samples
from tests.browser.flows import choose_file, expect_ready
from tests.factories import ready_upload_for

# Waits for the first frame (or an error), then reports what the element knows.
_PLAYBACK = """
async () => {
  const video = document.querySelector('video');
  if (video.readyState < 2 && !video.error) {
    await new Promise((resolve) => {
      video.addEventListener('loadeddata', resolve, { once: true });
      video.addEventListener('error', resolve, { once: true });
      setTimeout(resolve, 10000);
    });
  }
  return { readyState: video.readyState, duration: video.duration, error: video.error && video.error.message,
           width: video.videoWidth, height: video.videoHeight };
}
"""

ACCEPTED = {
    "mp4-h264-aac": (lambda: video_samples.h264(frames=24, audio="aac"), "clip.mp4", "video/mp4"),
    "mov-h264": (
        lambda: video_samples.h264(frames=24, container="mov", audio="aac"),
        "IMG_0001.MOV",
        "video/quicktime",
    ),
    "m4v": (lambda: video_samples.h264(frames=24, colour=(30, 140, 60)), "export.m4v", "video/x-m4v"),
    "webm-vp9-opus": (lambda: video_samples.vp9_webm(frames=24, audio="libopus"), "clip.webm", "video/webm"),
    "webm-vp8": (
        lambda: video_samples.encode([video_samples.picture()] * 24, codec="libvpx", container="webm"),
        "vp8.webm",
        "video/webm",
    ),
    "phone-portrait": (lambda: video_samples.h264(frames=24, rotation=-90), "portrait.mp4", "video/mp4"),
    "anamorphic": (lambda: video_samples.h264(frames=24, sar=Fraction(2, 1)), "wide.mp4", "video/mp4"),
    "location-tags": (video_samples.apple_location_mov, "IMG_0002.MOV", "video/quicktime"),
}


def published(user, data: bytes, filename: str, content_type: str) -> Prompt:
    upload = ready_upload_for(user, data, filename=filename, content_type=content_type)
    prompt = submission.submit_prompt(
        user=user, upload_id=upload.id, content="a quiet orange room at dusk", ai_generator="flux", save_as_draft=False
    )
    tasks.generate_ai_content(prompt.id)
    prompt.refresh_from_db()
    assert prompt.status == Prompt.Status.PUBLISHED and prompt.media_type == "video"
    return prompt


@pytest.mark.parametrize("kind", list(ACCEPTED))
def test_the_public_page_of_an_accepted_video_plays(page, alice, kind):
    make, filename, content_type = ACCEPTED[kind]
    prompt = published(alice, make(), filename, content_type)
    page.goto(f"/prompt/{prompt.slug}/")
    state = page.evaluate(_PLAYBACK)
    assert state["error"] is None, state
    assert state["readyState"] >= 2 and state["duration"] > 0, state
    # the size we recorded (and give the page) is the one Chromium shows: rotation and pixel shape applied
    assert (state["width"], state["height"]) == (prompt.width, prompt.height), state
    page.watch.assert_clean()


def test_an_m4v_can_be_chosen_and_uploaded(alice_page):
    alice_page.goto("/upload/")
    choose_file(
        alice_page, "export.m4v", video_samples.h264(frames=24, colour=(200, 40, 160)), content_type="video/x-m4v"
    )
    expect_ready(alice_page, kind="video")
    expect(alice_page.get_by_text("Your video passed our content guidelines.")).to_be_visible()


def test_an_hevc_video_is_refused_with_what_to_export(alice_page):
    alice_page.goto("/upload/")
    choose_file(alice_page, "IMG_0003.MOV", video_samples.hevc("mov"), content_type="video/quicktime")
    dialog = alice_page.get_by_role("dialog")
    expect(dialog).to_contain_text("HEVC (H.265)", timeout=30_000)
    expect(dialog).to_contain_text("Most Compatible")
    expect(dialog.get_by_role("button", name="Upload Different Video")).to_be_visible()

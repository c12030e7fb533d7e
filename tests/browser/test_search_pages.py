"""Finding prompts in a real browser: the header search box, highlighted results, filters that
apply on change, and "Load more" that appends in place with JavaScript and is a plain link
without it, at phone and desktop widths."""

import colorsys
import io
import re

import pytest
from django.utils.text import slugify
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from prompts.models import Like, Prompt
from tests.browser.flows import DESKTOP, PHONE, screenshot

pytestmark = pytest.mark.browser

SUBJECTS = ["Lighthouse", "Fox", "Castle", "Teapot", "Owl", "Robot", "Harbor", "Cactus", "Dragon", "Violin"]
PLACES = ["at golden hour", "in the fog", "under the stars", "on a cliff", "in a neon city", "by the sea"]


def thumbnail(media_root, index: int) -> str:
    """A real JPEG per prompt (a colour gradient), so the grid looks like a grid of pictures."""
    hue = (index * 0.137) % 1.0
    image = Image.new("RGB", (300, 300))
    draw = ImageDraw.Draw(image)
    for y in range(300):
        r, g, b = colorsys.hsv_to_rgb(hue, 0.55, 0.95 - y / 600)
        draw.line([(0, y), (300, y)], fill=(int(r * 255), int(g * 255), int(b * 255)))
    draw.ellipse([90, 90, 210, 210], fill=(255, 255, 255))
    path = media_root / "thumbs" / f"{index}.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    path.write_bytes(buffer.getvalue())
    return f"/media/thumbs/{index}.jpg"


@pytest.fixture
def catalogue(alice, bob, local_media):
    prompts = []
    for index in range(60):
        subject, place = SUBJECTS[index % len(SUBJECTS)], PLACES[index % len(PLACES)]
        title = f"{subject} {place} {index}"
        prompt = Prompt.objects.create(
            author=alice,
            title=title,
            slug=slugify(title),
            content=f"a {subject.lower()} {place}, cinematic",
            excerpt=f"A {subject.lower()} {place}, painted with soft light.",
            ai_generator="midjourney",
            status=Prompt.Status.PUBLISHED,
            processing_complete=True,
            b2_thumb_url=thumbnail(local_media, index),
            alt_text=title,
        )
        prompt.tags.set(["Landscape"])
        prompts.append(prompt)
    Like.objects.create(user=bob, prompt=prompts[3])
    return prompts


def card_links(page) -> list[str]:
    return page.locator("[data-feed-items] > li.card > a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "375"])
def test_the_header_search_box_finds_and_highlights(page, catalogue, viewport):
    page.set_viewport_size(viewport)
    page.goto("/tag/landscape/")
    box = page.locator("header [role=search] input[name=q]")
    if viewport == PHONE:  # on a phone the search box is the first thing in the header's menu
        expect(box).to_be_hidden()
        page.get_by_role("banner").get_by_role("button", name="Menu").click()
    expect(box).to_be_visible()
    box.fill("lighthouse")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=lighthouse$"))
    expect(page.locator("h1")).to_have_text("Results for “lighthouse”")
    titles = page.locator("[data-feed-items] .card-title")
    expect(titles.first.locator("mark")).to_have_text("Lighthouse")
    assert titles.count() == 6
    page.locator("#id_sort").select_option("newest")  # a changed menu applies at once
    expect(page).to_have_url(re.compile(r"/search/\?q=lighthouse&sort=newest"))
    page.wait_for_load_state("load")
    if viewport == DESKTOP:
        screenshot(page, "search-results")
    page.watch.assert_clean()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "375"])
def test_load_more_appends_in_place(page, catalogue, viewport):
    page.set_viewport_size(viewport)
    page.goto("/")
    page.wait_for_load_state("load")
    expect(page.get_by_role("heading", name="Find the prompt behind the picture")).to_be_visible()
    first = card_links(page)
    assert len(first) == 24
    more = page.get_by_role("link", name="Load more prompts")
    more.click()
    expect(page.locator("[data-feed-items] > li.card")).to_have_count(48)
    assert page.url.endswith("/")  # still the same page
    more.click()
    expect(page.locator("[data-feed-items] > li.card")).to_have_count(60)
    expect(page.get_by_role("link", name="Load more prompts")).to_have_count(0)
    links = card_links(page)
    assert links[:24] == first and len(set(links)) == 60
    assert set(links) == {f"/prompt/{prompt.slug}/" for prompt in catalogue}
    page.wait_for_load_state("networkidle")
    if viewport == DESKTOP:
        page.goto("/")
        page.wait_for_load_state("load")
        screenshot(page, "home")
    page.watch.assert_clean()


def test_load_more_is_a_plain_link_without_javascript(browser, live_server, catalogue):
    context = browser.new_context(base_url=live_server.url, viewport=PHONE, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/")
        page.get_by_role("link", name="Load more prompts").click()
        expect(page).to_have_url(re.compile(r"/\?after="))
        assert len(card_links(page)) == 24
        expect(page.get_by_role("link", name="Back to the start")).to_be_visible()
    finally:
        context.close()

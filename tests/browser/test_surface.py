"""The surface people see (issue 18): every page type passes axe-core at phone and desktop width with
zero serious or critical violations and is photographed light and dark; the header, the cards, the
pictures and dark mode behave as a person expects."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser import gallery as gallery_module
from tests.browser.flows import ARTIFACTS, DESKTOP, PHONE, log_in

pytestmark = pytest.mark.browser

SCREENSHOTS = ARTIFACTS / "pages"
WIDTHS = {"375": PHONE, "1280": DESKTOP}
_axe = Axe()


@pytest.fixture
def gallery(alice, bob, local_media, fake_openai, settings):
    settings.AI_ALLOW_UNCHECKED = True
    return gallery_module.build(alice, bob)


def page_types(g) -> dict[str, tuple[str, bool]]:
    """name -> (path, as alice)."""
    picture = g.pictures[0]
    return {
        "home": ("/", False),
        "search": ("/search/?q=castle", False),
        "tag": ("/tag/landscape/", False),
        "generator": ("/generator/midjourney/", False),
        "detail-image": (f"/prompt/{picture.slug}/", False),
        "detail-video": (f"/prompt/{g.video.slug}/", False),
        "draft": (g.draft.get_absolute_url(), True),
        "processing": (f"/prompt/processing/{g.processing.processing_uuid}/", True),
        "upload": ("/upload/", True),
        "edit": (edit_path(g), True),
        "collections": ("/collections/", True),
        "collection": (f"/collections/{g.collection.id}/", True),
        "trash": ("/trash/", True),
        "profile": ("/u/alice/", False),
        "login": ("/accounts/login/", False),
        "signup": ("/accounts/signup/", False),
        "404": ("/no-such-page/", False),
    }


def edit_path(g) -> str:
    mine = next(p for p in g.pictures if p.author.username == "alice")
    return f"/prompt/edit/{mine.processing_uuid}/"


def serious(results) -> list[str]:
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(node["target"][0] if node["target"] else "?" for node in v["nodes"][:4])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_every_page_type_passes_axe_at_both_widths_and_is_photographed_light_and_dark(
    browser, live_server, gallery, alice
):
    pages = page_types(gallery)
    problems = {}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for scheme in ("light", "dark"):
        for as_alice in (False, True):
            context = browser.new_context(base_url=live_server.url, viewport=DESKTOP, color_scheme=scheme)
            context.set_default_timeout(10_000)
            if as_alice:
                log_in(context, alice, live_server.url)
            try:
                page = context.new_page()
                for name, (path, needs_login) in pages.items():
                    if needs_login != as_alice:
                        continue
                    for label, viewport in WIDTHS.items():
                        page.set_viewport_size(viewport)
                        page.goto(path, wait_until="load")
                        # Lazy pictures below the fold load too, so the full-page screenshot shows them.
                        page.evaluate(
                            "document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager')"
                        )
                        page.wait_for_function("() => [...document.images].every(i => i.complete)")
                        page.evaluate("Promise.all([...document.images].map(i => i.decode().catch(() => null)))")
                        found = serious(_axe.run(page))
                        if found:
                            problems[f"{name} {label} {scheme}"] = found
                        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}-{scheme}.png"), full_page=True)
                page.goto("about:blank")  # ends the processing page's long poll before the database goes
            finally:
                context.close()
    rules = {page: sorted({text.split(" ", 1)[0] for text in found}) for page, found in problems.items()}
    assert rules == {}, "\n".join(f"{k}: {v}" for k, v in problems.items())
    assert len(list(SCREENSHOTS.glob("*.png"))) >= len(pages) * 4


# --- the header -----------------------------------------------------------------------------


def test_the_header_is_one_row_at_375_px_with_upload_and_a_menu_that_works_by_keyboard(alice_page, gallery):
    page = alice_page
    page.set_viewport_size(PHONE)
    page.goto("/")
    header = page.get_by_role("banner")
    assert header.bounding_box()["height"] <= 64, "the header wraps onto more than one row"
    upload = header.get_by_role("link", name="Upload")
    expect(upload).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    menu = header.get_by_role("button", name="Menu")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(header.get_by_role("link", name="Collections")).to_be_hidden()
    menu.focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(header.get_by_role("link", name="Collections")).to_be_visible()
    expect(page.get_by_label("Search prompts").first).to_be_focused()  # focus moved into the menu
    page.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_focused()
    expect(header.get_by_role("link", name="Collections")).to_be_hidden()
    page.keyboard.press("Space")
    expect(header.get_by_role("link", name="Collections")).to_be_visible()
    header.get_by_role("link", name="Collections").click()
    page.wait_for_url(re.compile(r"/collections/$"))


def test_the_header_at_1280_px_shows_search_links_and_upload_without_a_menu(alice_page, gallery):
    page = alice_page
    page.goto("/")
    header = page.get_by_role("banner")
    assert header.bounding_box()["height"] <= 72
    expect(header.get_by_role("button", name="Menu")).to_be_hidden()
    for name in ("Upload", "Collections", "Trash", "@alice"):
        expect(header.get_by_role("link", name=name)).to_be_visible()
    expect(header.get_by_label("Search prompts")).to_be_visible()


def test_the_menu_opens_without_javascript(browser, live_server, gallery):
    context = browser.new_context(base_url=live_server.url, viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto("/")
    expect(page.get_by_role("link", name="Log in")).to_be_hidden()
    page.get_by_role("link", name="Menu").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    context.close()


# --- dark mode ------------------------------------------------------------------------------


def test_dark_mode_follows_the_system_setting(browser, live_server, gallery):
    colours = {}
    for scheme in ("light", "dark"):
        context = browser.new_context(base_url=live_server.url, viewport=DESKTOP, color_scheme=scheme)
        page = context.new_page()
        page.goto("/")
        colours[scheme] = page.evaluate(
            """() => [getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color,
                      getComputedStyle(document.querySelector('.card')).backgroundColor]"""
        )
        context.close()

    def luminance(css: str) -> float:
        r, g, b = (int(v) for v in re.findall(r"\d+", css)[:3])
        return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255

    light_bg, light_fg, light_card = colours["light"]
    dark_bg, dark_fg, dark_card = colours["dark"]
    assert luminance(light_bg) > 0.9 and luminance(light_fg) < 0.2
    assert luminance(dark_bg) < 0.1 and luminance(dark_fg) > 0.85
    assert luminance(dark_card) < 0.15


# --- cards ----------------------------------------------------------------------------------


def test_card_meta_is_one_line_with_no_dot_alone(page, gallery):
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        page.goto("/")
        metas = page.locator(".card-meta")
        assert metas.count() >= 8
        lines = metas.evaluate_all(
            """metas => metas.map(m => {
                 const tops = [...m.children].map(c => Math.round(c.getBoundingClientRect().top));
                 return {text: m.innerText, rows: new Set(tops).size};
               })"""
        )
        for meta in lines:
            assert meta["rows"] == 1, meta
        # no "·" sits on a line of its own: some other text of its card shares the dot's line
        alone = metas.evaluate_all(
            """metas => metas.filter(meta => {
                 const rects = [];
                 const walker = document.createTreeWalker(meta, NodeFilter.SHOW_TEXT);
                 while (walker.nextNode()) {
                   const node = walker.currentNode;
                   if (!node.textContent.trim()) continue;
                   const range = document.createRange();
                   range.selectNodeContents(node);
                   const dot = node.textContent.trim() === '·';
                   for (const r of range.getClientRects()) rects.push({dot, top: r.top});
                 }
                 return rects.some(d => d.dot && !rects.some(o => !o.dot && Math.abs(o.top - d.top) < 3));
               }).map(meta => meta.innerText)"""
        )
        assert alone == [], alone


def test_cards_have_their_final_size_before_their_pictures_load(browser, live_server, gallery):
    """Stable aspect ratios: with every image request held back, each card's picture box already has the
    size (and the aspect ratio of the stored picture) it has once the image arrived."""
    held = []

    def hold(route):
        held.append(route)

    for viewport in (DESKTOP, PHONE):
        held.clear()
        context = browser.new_context(base_url=live_server.url, viewport=viewport)
        page = context.new_page()
        page.route(re.compile(r"/media/.*\.(jpg|webp|avif)$"), hold)
        page.goto("/", wait_until="domcontentloaded")
        boxes = page.locator(".card img").evaluate_all(
            "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; })"
        )
        assert len(boxes) >= 8 and all(w > 50 and h > 50 for w, h in boxes), boxes
        assert held and page.evaluate("[...document.querySelectorAll('.card img')].every(i => !i.naturalWidth)")
        page.unroute(re.compile(r"/media/.*\.(jpg|webp|avif)$"))
        for route in held:
            try:
                route.continue_()
            except Exception:  # unroute may already have let it through
                pass
        page.wait_for_function(
            "() => [...document.querySelectorAll('.card img')].every(i => i.complete && i.naturalWidth > 0)"
        )
        after = page.locator(".card img").evaluate_all(
            "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; })"
        )
        assert after == boxes
        # each box has its picture's own shape (within the 1:2 .. 2:1 clamp)
        shapes = page.locator(".card img").evaluate_all(
            """imgs => imgs.map(i => {
                 const box = i.getBoundingClientRect();
                 return [i.naturalWidth / i.naturalHeight, box.width / box.height];
               })"""
        )
        for natural, shown in shapes:
            assert abs(min(max(natural, 0.5), 2.0) - shown) < 0.03, (natural, shown)
        context.close()


def test_video_cards_show_the_poster_with_a_play_badge(page, gallery):
    page.goto("/")
    card = page.locator(".card", has_text=gallery.video.title)
    expect(card.locator(".play-badge")).to_be_visible()
    img = card.locator("img")
    expect(img).to_have_js_property("complete", True)
    assert img.evaluate("i => i.naturalWidth") > 0
    expect(card.get_by_role("link", name=re.compile(r"Video: "))).to_be_visible()
    # pictures are not badged
    assert page.locator(".card", has_text=gallery.pictures[0].title).locator(".play-badge").count() == 0


# --- pictures -------------------------------------------------------------------------------


def test_a_2x_screen_gets_the_1200_px_file_in_the_682_px_detail_slot(browser, live_server, gallery):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1200, "height": 900}, device_scale_factor=2
    )
    page = context.new_page()
    page.goto(f"/prompt/{gallery.pictures[0].slug}/")
    img = page.locator(".col-media picture img")
    expect(img).to_have_js_property("complete", True)
    slot = img.evaluate("i => i.getBoundingClientRect().width")
    assert 660 <= slot <= 700, slot
    chosen = img.evaluate("i => i.currentSrc")
    assert chosen.endswith("/webp_large.webp"), chosen
    # naturalWidth is scaled by the srcset density; the file itself is 1200 px wide
    file_width = img.evaluate("async i => (await createImageBitmap(await (await fetch(i.currentSrc)).blob())).width")
    assert file_width >= 1200
    context.close()


def test_the_detail_picture_is_preloaded_and_the_preload_is_used(page, gallery):
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"/prompt/{gallery.pictures[0].slug}/")
    img = page.locator(".col-media picture img")
    expect(img).to_have_js_property("complete", True)
    chosen = img.evaluate("i => i.currentSrc")
    assert page.locator('head link[rel="preload"][as="image"]').count() == 1
    assert requests.count(chosen) == 1  # the preload and the <picture> agree: one download


def test_nothing_moves_while_home_and_detail_pages_load(page, gallery):
    """Cumulative layout shift 0 (what Lighthouse's CLS measures), at both widths, pictures included."""
    page.add_init_script(
        """window.__shift = 0;
           new PerformanceObserver((list) => {
             for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__shift += entry.value;
           }).observe({type: 'layout-shift', buffered: true});"""
    )
    for path in ("/", f"/prompt/{gallery.pictures[1].slug}/", "/search/?q=castle"):
        for viewport in (DESKTOP, PHONE):
            page.set_viewport_size(viewport)
            page.goto(path)
            page.wait_for_function("() => [...document.images].every(i => i.complete || i.loading === 'lazy')")
            page.mouse.wheel(0, 3000)  # bring the lazy pictures in too
            page.wait_for_function("() => [...document.images].every(i => i.complete)")
            page.wait_for_timeout(300)
            assert page.evaluate("window.__shift") == 0, (path, viewport)

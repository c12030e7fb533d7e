"""The edit page's tag picker (static/js/tags.js): chips and a type-ahead used by keyboard alone, the
plain multi-select without JavaScript, and the Published checkbox beside its label."""

import pytest
from playwright.sync_api import expect

from prompts import tasks
from prompts.models import Prompt
from tests.browser.flows import DESKTOP, PHONE, log_in
from tests.factories import submitted_prompt

pytestmark = pytest.mark.browser


@pytest.fixture
def finished(alice, local_media, fake_openai):
    prompt = submitted_prompt(alice)
    tasks.generate_ai_content(prompt.id)
    prompt = Prompt.objects.get(id=prompt.id)
    prompt.tags.set(["Landscape", "Photography"])
    return prompt


def tag_names(prompt) -> set[str]:
    return set(Prompt.objects.get(id=prompt.id).tags.names())


def test_tags_are_chosen_and_removed_by_keyboard(alice_page, finished):
    page = alice_page
    page.goto(f"/prompt/edit/{finished.processing_uuid}/")
    expect(page.locator("select[name=tags]")).to_be_hidden()
    chips = page.get_by_role("list", name="Chosen tags")
    expect(chips.get_by_role("listitem")).to_have_text(["Landscape×", "Photography×"])
    box = page.get_by_role("combobox", name="Tags")
    box.focus()
    page.keyboard.type("fant")
    expect(box).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("option", name="Fantasy")).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")  # adds the tag; does not submit the form
    expect(chips.get_by_role("listitem")).to_have_text(["Fantasy×", "Landscape×", "Photography×"])
    expect(page.get_by_role("status").filter(has_text="Added Fantasy")).to_have_text(
        "Added Fantasy. 3 of 5 tags chosen."
    )
    page.keyboard.type("ur")  # "Urban" starts with it, "Nature" contains it
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    active = box.get_attribute("aria-activedescendant")
    second = page.locator(f"#{active}").text_content()
    page.keyboard.press("Enter")
    expect(chips).to_contain_text(second)
    names = chips.get_by_role("listitem").evaluate_all("items => items.map(i => i.firstChild.textContent)")
    assert len(names) == 4 and second in names
    page.keyboard.press("Backspace")  # empty box: the last chip goes
    expect(chips).not_to_contain_text(names[-1])
    page.keyboard.type("zzz")
    expect(page.get_by_role("listbox")).to_contain_text("No tag matches")
    page.keyboard.press("Escape")
    expect(box).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Shift+Tab")  # back to the last chip's Remove button
    expect(page.get_by_role("button", name=f"Remove {names[-2]}")).to_be_focused()
    page.keyboard.press("Enter")
    expect(chips.get_by_role("listitem")).to_have_count(len(names) - 2)
    expect(box).to_be_focused()
    kept = set(names[:-2])
    box.fill("")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(f"**/prompt/{Prompt.objects.get(id=finished.id).slug}/")
    assert tag_names(finished) == kept and "Fantasy" in kept


def test_no_more_than_five_tags_and_the_picker_says_so(alice_page, finished):
    page = alice_page
    page.goto(f"/prompt/edit/{finished.processing_uuid}/")
    box = page.get_by_role("combobox", name="Tags")
    for name in ("Fantasy", "Portrait", "Animals"):
        box.fill(name)
        page.keyboard.press("Enter")
    box.fill("Architecture")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="up to 5")).to_be_visible()
    expect(page.get_by_role("list", name="Chosen tags").get_by_role("listitem")).to_have_count(5)


def test_without_javascript_the_multi_select_still_works(browser, live_server, alice, finished):
    context = browser.new_context(base_url=live_server.url, viewport=PHONE, java_script_enabled=False)
    log_in(context, alice, live_server.url)
    page = context.new_page()
    page.goto(f"/prompt/edit/{finished.processing_uuid}/")
    select = page.get_by_label("Tags")
    expect(select).to_be_visible()
    expect(page.get_by_text("Hold Ctrl")).to_be_visible()
    select.select_option(label=["Animals", "Fantasy"])
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_load_state()
    assert tag_names(finished) == {"Animals", "Fantasy"}
    context.close()


def test_the_published_checkbox_sits_beside_its_label(alice_page, finished):
    page = alice_page
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        page.goto(f"/prompt/edit/{finished.processing_uuid}/")
        checkbox = page.get_by_label("Published (visible to everyone)")
        label = page.locator("label", has_text="Published (visible to everyone)")
        box, text = checkbox.bounding_box(), label.bounding_box()
        assert box["x"] + box["width"] <= text["x"], (box, text)  # to the left of the label
        middle = box["y"] + box["height"] / 2
        assert text["y"] <= middle <= text["y"] + text["height"], (box, text)  # on the same line

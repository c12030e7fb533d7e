"""The processing page when things do not go to plan: the AI fails, the person cancels, the AI is slow,
nothing happens at all, or someone else opens the address."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import OrmQ, Success
from playwright.sync_api import expect

from prompts import tasks
from prompts.models import Prompt
from prompts.services import ai_content
from tests.browser.flows import AI_TIMEOUT_MS, dialog, log_in, screenshot, submitted_prompt
from tests.processes import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GENERATING = "⏳ Generating..."


def open_processing_page(page, prompt: Prompt) -> None:
    page.goto(f"/prompt/processing/{prompt.processing_uuid}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(GENERATING)


def test_when_the_ai_fails_the_prompt_is_saved_as_a_draft_with_limited_details(
    alice_page, alice, live_server, start_worker
):
    prompt = submitted_prompt(alice, base_url=live_server.url, content="Neon koi fish in a rainy alley [[ai:error]]")
    start_worker()
    page = alice_page
    open_processing_page(page, prompt)
    limited = dialog(page, "⚠️ Your prompt was saved with limited details")
    expect(limited).to_be_visible(timeout=AI_TIMEOUT_MS)
    expect(limited).to_contain_text("Your prompt has been saved as a DRAFT")
    for name in ("View Draft", "Edit Now", "Try Again"):
        expect(limited.get_by_role("button", name=name)).to_be_visible()
    limited.get_by_role("button", name="View Draft").click()
    prompt.refresh_from_db()
    page.wait_for_url(f"**/prompt/{prompt.slug}/")
    # The title falls back to the start of the prompt text.
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Neon koi fish in a rainy alley"))
    expect(page.get_by_text("Draft — only you can see this page")).to_be_visible()
    assert prompt.status == Prompt.Status.DRAFT
    assert prompt.needs_seo_review


def test_deleting_during_processing_moves_the_prompt_to_trash(
    alice_page, alice, live_server, fake_openai, start_worker
):
    prompt = submitted_prompt(alice, base_url=live_server.url, content="A slow one [[ai:delay=3]]")
    start_worker()
    page = alice_page
    open_processing_page(page, prompt)
    wait_until(lambda: fake_openai.requests_of("content"), timeout=20, message="the AI call to start")

    page.get_by_role("button", name="Delete", exact=True).click()
    confirm = dialog(page, "🗑️ Cancel this upload?")
    expect(confirm).to_contain_text("You can restore it within 5 days if you change your mind.")
    confirm.get_by_role("button", name="Keep It").click()
    expect(confirm).to_be_hidden()
    expect(page).to_have_url(re.compile(r"/prompt/processing/"))

    page.get_by_role("button", name="Delete", exact=True).click()
    confirm.get_by_role("button", name="Move to Trash").click()
    page.wait_for_url("**/upload/")
    expect(page.get_by_text("Upload cancelled. You can restore it from trash within 5 days.")).to_be_visible()
    prompt.refresh_from_db()
    assert prompt.is_deleted and prompt.deleted_at is not None

    # The AI call that was running finishes, sees the prompt is in the trash, and stops.
    wait_until(
        lambda: Success.objects.filter(name=f"ai_content_{prompt.id}").exists(),
        timeout=20,
        message="the AI task to finish",
    )
    prompt.refresh_from_db()
    assert prompt.is_deleted and not prompt.processing_complete
    # The page is gone for its author too.
    assert page.goto(f"/prompt/processing/{prompt.processing_uuid}/").status == 404


def test_another_user_gets_not_found(context, page, alice, bob, live_server):
    prompt = submitted_prompt(alice, base_url=live_server.url)
    log_in(context, bob, live_server.url)
    response = page.goto(f"/prompt/processing/{prompt.processing_uuid}/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.get_by_text(prompt.content)).to_have_count(0)
    status = page.request.get(f"/api/prompt/status/{prompt.processing_uuid}/")
    assert status.status == 404


def test_a_slow_ai_shows_the_taking_longer_notice_then_the_result(
    alice_page, alice, live_server, settings, start_worker
):
    settings.PROCESSING_WARNING_MS = 1500
    prompt = submitted_prompt(alice, base_url=live_server.url, content="A slow lighthouse [[ai:delay=4]]")
    start_worker()
    page = alice_page
    open_processing_page(page, prompt)
    slow = page.get_by_role("status").filter(has_text="⏳ Taking longer than expected...")
    expect(slow).to_be_visible(timeout=10_000)
    expect(slow).to_contain_text("Close this page - your prompt will still be processed")
    expect(page.get_by_text("❌ Something went wrong")).to_be_hidden()
    expect(dialog(page, "✅ Your prompt is ready!")).to_be_visible(timeout=AI_TIMEOUT_MS)
    expect(slow).to_be_hidden()


def test_when_nothing_happens_the_page_gives_up_and_offers_try_again(alice_page, alice, live_server, settings):
    """No worker runs: the page warns, then gives up; Try Again waits anew, and queues the AI again only
    once the first task counts as lost (a task still waiting is never queued twice)."""
    settings.PROCESSING_WARNING_MS = 800
    settings.PROCESSING_ERROR_MS = 2000
    prompt = submitted_prompt(alice, base_url=live_server.url)
    page = alice_page
    open_processing_page(page, prompt)
    expect(page.get_by_text("⏳ Taking longer than expected...")).to_be_visible(timeout=5_000)
    failed = page.get_by_role("alert").filter(has_text="❌ Something went wrong")
    expect(failed).to_be_visible(timeout=10_000)
    expect(failed).to_contain_text("Your image has been saved and our team has been notified.")
    expect(page.get_by_text("⏳ Taking longer than expected...")).to_be_hidden()
    queued = OrmQ.objects.count()

    failed.get_by_role("button", name="Try Again").click()
    expect(failed).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_have_text(GENERATING)
    # Still nothing runs, so the page gives up again on the same schedule; the first task still waits.
    expect(failed).to_be_visible(timeout=10_000)
    assert OrmQ.objects.count() == queued
    # Once the queued task counts as lost, Try Again queues it again.
    Prompt.objects.filter(id=prompt.id).update(
        ai_queued_at=timezone.now() - ai_content.AI_QUEUED_LOST_AFTER - timedelta(seconds=1)
    )
    failed.get_by_role("button", name="Try Again").click()
    expect(failed).to_be_hidden()
    wait_until(lambda: OrmQ.objects.count() == queued + 1, timeout=10, message="the AI task queued again")
    expect(failed).to_be_visible(timeout=10_000)


def test_while_the_ai_task_is_being_retried_the_page_keeps_waiting_past_its_limit(
    alice_page, alice, live_server, settings
):
    """A lost task was queued again (issue 24): the status says "retrying", and the page does not give up
    at its limit; once the server stops saying so, the usual notice comes."""
    settings.PROCESSING_WARNING_MS = 800
    settings.PROCESSING_ERROR_MS = 2000
    prompt = submitted_prompt(alice, base_url=live_server.url)
    Prompt.objects.filter(id=prompt.id).update(ai_attempts=1, ai_queued_at=timezone.now())  # queued again
    page = alice_page
    open_processing_page(page, prompt)
    expect(page.get_by_text("⏳ Taking longer than expected...")).to_be_visible(timeout=5_000)
    failed = page.get_by_role("alert").filter(has_text="❌ Something went wrong")
    page.wait_for_timeout(4_000)  # twice the page's limit
    expect(failed).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_have_text(GENERATING)
    screenshot(page, "processing-retrying")
    Prompt.objects.filter(id=prompt.id).update(ai_queued_at=None)  # no retry due any more
    expect(failed).to_be_visible(timeout=10_000)


def status_requests(page) -> list[str]:
    """Every request the page makes to the status endpoint, from now on."""
    seen = []
    page.on("request", lambda request: seen.append(request.url) if "/api/prompt/status/" in request.url else None)
    return seen


def test_a_prompt_completed_just_before_its_page_opens_shows_the_modal_without_a_status_request(
    alice_page, alice, live_server, fake_openai
):
    """With a fast AI the prompt is often complete before its processing page is rendered: the page
    carries the status answer and opens the modal from it, without asking the status endpoint."""
    prompt = submitted_prompt(alice, base_url=live_server.url)
    tasks.generate_ai_content(prompt.id)
    prompt.refresh_from_db()
    page = alice_page
    asked = status_requests(page)
    page.goto(f"/prompt/processing/{prompt.processing_uuid}/")
    ready = dialog(page, "✅ Your prompt is ready!")
    expect(ready).to_be_visible()
    expect(ready).to_contain_text(f"“{prompt.title}”")
    assert page.evaluate("() => performance.getEntriesByName('pf:status-complete').length") == 1
    page.wait_for_timeout(500)  # time enough for a status request to have gone out
    assert asked == []
    screenshot(page, "processing-completed-at-render")
    ready.get_by_role("button", name="View Your Prompt").click()
    page.wait_for_url(f"**/prompt/{prompt.slug}/")


def test_a_prompt_completed_a_while_ago_shows_its_outcome_without_the_modal(
    alice_page, alice, live_server, fake_openai
):
    prompt = submitted_prompt(alice, base_url=live_server.url)
    tasks.generate_ai_content(prompt.id)
    Prompt.objects.filter(id=prompt.id).update(processing_completed_at=timezone.now() - timedelta(minutes=5))
    page = alice_page
    asked = status_requests(page)
    page.goto(f"/prompt/processing/{prompt.processing_uuid}/")
    expect(page.get_by_role("heading", name="Published")).to_be_visible()
    page.wait_for_timeout(500)
    expect(dialog(page, "✅ Your prompt is ready!")).to_be_hidden()
    assert asked == []


def test_the_first_long_poll_leaves_from_the_page_s_head_and_the_script_takes_its_answer(
    alice_page, alice, live_server, fake_openai, start_worker
):
    """The first status request is preloaded from the head (it leaves before processing.js has run); the
    script's first poll takes that answer rather than asking again."""
    prompt = submitted_prompt(alice, base_url=live_server.url)
    page = alice_page
    asked = status_requests(page)
    open_processing_page(page, prompt)
    page.wait_for_timeout(1000)
    assert len(asked) == 1 and asked[0].endswith("?wait=20.0"), asked
    start_worker()
    expect(dialog(page, "✅ Your prompt is ready!")).to_be_visible(timeout=AI_TIMEOUT_MS)
    assert len(asked) == 1, asked  # the preloaded long poll was the one the completion answered
    entries = "performance.getEntriesByType('resource').filter((r) => r.name.includes('/api/prompt/status/'))"
    assert page.evaluate(f"() => {entries}.map((r) => r.initiatorType)") == ["link"]  # sent by the head


def test_under_the_procfile_s_web_process_the_page_follows_its_event_stream(
    browser, procfile_web, alice, live_server, fake_openai
):
    """The production path (gunicorn + uvicorn's worker): after its preloaded long poll the page opens the
    status event stream, one request however long it waits, and the completion arrives on it."""
    from tests.browser.conftest import DESKTOP, PageWatch

    _server, base = procfile_web(PROCESSING_WARNING_MS="1500", PROCESSING_EVENTS_EVERY_SECONDS="1")
    prompt = submitted_prompt(alice, base_url=live_server.url)
    context = browser.new_context(base_url=base, viewport=DESKTOP)
    try:
        log_in(context, alice, base)
        page = context.new_page()
        page.watch = PageWatch()
        page.watch.attach(page)
        asked = status_requests(page)
        open_processing_page(page, prompt)
        # The preloaded long poll waits until the first notice (1.5 s), then the stream; its status
        # events come every second (PROCESSING_EVENTS_EVERY_SECONDS) on the one request.
        page.wait_for_event("request", lambda request: request.url.endswith("/events/"), timeout=10_000)
        page.wait_for_timeout(2_500)
        expect(page.get_by_text("⏳ Taking longer than expected...")).to_be_visible()
        screenshot(page, "processing-on-its-event-stream")
        tasks.generate_ai_content(prompt.id)
        ready = dialog(page, "✅ Your prompt is ready!")
        expect(ready).to_be_visible(timeout=AI_TIMEOUT_MS)
        prompt.refresh_from_db()
        expect(ready).to_contain_text(f"“{prompt.title}”")
        path = f"/api/prompt/status/{prompt.processing_uuid}/"
        assert asked == [f"{base}{path}?wait=1.5", f"{base}{path}events/"], asked
        page.wait_for_timeout(500)
        assert len(asked) == 2  # the stream was closed with the completion, not reopened
        page.watch.assert_clean()
    finally:
        context.close()


def test_a_failed_event_stream_falls_back_to_polling_and_is_tried_again_once_a_poll_works(
    alice_page, alice, live_server, settings, start_worker
):
    """The stream is refused once (the database away, a proxy in the way): the page polls, and once a poll
    is answered it follows the stream again, which brings the completion."""
    settings.PROCESSING_WARNING_MS = 1000
    settings.PROCESSING_LONG_POLL_SECONDS = 2
    prompt = submitted_prompt(alice, base_url=live_server.url)
    page = alice_page
    refused: list[str] = []

    def refuse_the_first(route):
        if refused:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.fulfill(status=503, content_type="application/json", body='{"error": "Please try again."}')

    page.route("**/events/", refuse_the_first)
    asked = status_requests(page)
    open_processing_page(page, prompt)
    page.wait_for_event("request", lambda request: request.url.endswith("/events/") and bool(refused))
    path = f"{live_server.url}/api/prompt/status/{prompt.processing_uuid}/"
    assert asked[:4] == [f"{path}?wait=1.0", f"{path}events/", f"{path}?wait=2.0", f"{path}events/"], asked
    start_worker()
    expect(dialog(page, "✅ Your prompt is ready!")).to_be_visible(timeout=AI_TIMEOUT_MS)
    assert all(url == f"{path}events/" for url in asked[4:]), asked  # on the stream to the end
    assert page.watch.error_responses == [f"503 GET {path}events/"]


def _show_tab(page, shown: bool) -> None:
    page.evaluate(
        """(shown) => {
            Object.defineProperty(document, 'hidden', { value: !shown, configurable: true });
            document.dispatchEvent(new Event('visibilitychange'));
        }""",
        shown,
    )


def test_a_hidden_tab_lets_go_of_its_event_stream_and_follows_it_again_when_shown(
    alice_page, alice, live_server, settings, start_worker
):
    """A tab in the background holds no stream (nor a slot on the server); shown again, it follows the stream
    and the completion arrives."""
    settings.PROCESSING_WARNING_MS = 1000
    settings.PROCESSING_LONG_POLL_SECONDS = 2  # under WSGI each stream request answers after 2 s, then reconnects
    prompt = submitted_prompt(alice, base_url=live_server.url)
    page = alice_page
    asked = status_requests(page)
    open_processing_page(page, prompt)
    page.wait_for_event("request", lambda request: request.url.endswith("/events/"))
    _show_tab(page, False)
    hidden_at = len(asked)
    page.wait_for_timeout(5_000)  # a stream left open would have asked again twice by now
    assert len(asked) == hidden_at, asked[hidden_at:]
    _show_tab(page, True)
    page.wait_for_event("request", lambda request: request.url.endswith("/events/"))
    start_worker()
    expect(dialog(page, "✅ Your prompt is ready!")).to_be_visible(timeout=AI_TIMEOUT_MS)

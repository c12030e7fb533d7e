"""Headless Chromium against pytest-django's live server: one browser per session, a new context per test.

The live server thread and the qcluster subprocess must see the test's rows, so every browser test
uses the transactional database. A flush between tests also removes the tag vocabulary the data
migration made, so it is put back before each test (the AI may only choose existing tags).
"""

import os
import signal
from dataclasses import dataclass, field

import pytest
from django.utils.text import slugify
from playwright.sync_api import sync_playwright

from tests.browser.flows import ARTIFACTS, DESKTOP, log_in
from tests.processes import start_qcluster, stop_process

CHROMIUM = "/usr/bin/chromium"
FAILURES = ARTIFACTS / "failures"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    # Sync Playwright keeps an event loop in the main thread for the whole session; Django refuses
    # ORM calls from a thread with a running loop unless told it is safe (it is: nothing else runs
    # on that loop).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(autouse=True)
def tag_vocabulary(transactional_db):
    from taggit.models import Tag

    from prompts.vocabulary import TAG_VOCABULARY

    Tag.objects.bulk_create([Tag(name=name, slug=slugify(name)) for name in TAG_VOCABULARY], ignore_conflicts=True)


@pytest.fixture(autouse=True)
def empty_cache(transactional_db):
    """The cache table outlives the flush between tests: allauth's limits (one verification mail per
    address every 3 minutes) and the log-in throttle must start empty."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def quick_processing_page(settings):
    """The processing page polls every 300 ms; the warning and error stay at their real minutes."""
    settings.PROCESSING_POLL_MS = 300
    settings.PROCESSING_WARNING_MS = 60_000
    settings.PROCESSING_ERROR_MS = 120_000


def _closed_by_the_page(request) -> bool:
    """An event stream the page closed itself (processing.js, once the prompt is complete): the browser
    reports it aborted when the close comes before the server's end of the stream."""
    return request.resource_type == "eventsource" and request.failure == "net::ERR_ABORTED"


@dataclass
class PageWatch:
    """What went wrong on a page that a person would not see but a developer must: console errors,
    requests that failed, and answers with an error status."""

    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    error_responses: list[str] = field(default_factory=list)
    documents: int = 0  # documents the page has asked for
    navigating: bool = False  # a new document was asked for and has not replaced the old one yet
    made_for: dict = field(default_factory=dict, repr=False)  # request -> the document it was made for

    def attach(self, page) -> None:
        page.on("request", lambda request: self._started(page, request))
        page.on("framenavigated", lambda frame: frame == page.main_frame and self._arrived())
        page.on(
            "console",
            lambda message: (
                message.type == "error"
                and self.console_errors.append(f"{message.text} @ {message.location.get('url', '')}")
            ),
        )
        page.on("pageerror", lambda error: self.console_errors.append(f"uncaught: {error}"))
        page.on("requestfailed", self._failed)
        page.on(
            "response",
            lambda response: (
                response.status >= 400
                and self.error_responses.append(f"{response.status} {response.request.method} {response.url}")
            ),
        )

    def _started(self, page, request) -> None:
        if request.is_navigation_request() and request.frame == page.main_frame:
            self.documents += 1  # from here on, what the page was showing is being left
            self.navigating = True
            self.made_for[request] = self.documents
        else:  # until the new document arrives, only the one being left makes requests (a late favicon)
            self.made_for[request] = self.documents - 1 if self.navigating else self.documents

    def _arrived(self) -> None:
        self.navigating = False

    def _failed(self, request) -> None:
        if _closed_by_the_page(request) or self._left_behind(request):
            return
        self.failed_requests.append(f"{request.method} {request.url}: {request.failure}")

    def _left_behind(self, request) -> bool:
        """A request of a document the page has since left (a favicon, a script still loading when the test
        clicked on): the browser cuts it off with the navigation, which nobody sees."""
        made_for = self.made_for.get(request, self.documents)
        return request.failure == "net::ERR_ABORTED" and made_for < self.documents

    def assert_clean(self) -> None:
        assert self.console_errors == [], self.console_errors
        assert self.failed_requests == [], self.failed_requests
        assert self.error_responses == [], self.error_responses


@pytest.fixture
def context(browser, live_server, transactional_db, fake_openai, settings):
    # Set up after the database, the fake AI and the settings, so it is closed before they are torn
    # down: a request still in flight must not reach a flushed database or the real settings.
    ctx = browser.new_context(base_url=live_server.url, viewport=DESKTOP)
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def page(request, context):
    page = context.new_page()
    page.watch = PageWatch()
    page.watch.attach(page)
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed and not page.is_closed():
        # What the browser showed when the test failed, for a run nobody watched (CI).
        FAILURES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(FAILURES / f"{request.node.name}.png"), full_page=True)
        print(f"page at failure: {page.url}\n{page.watch}")


@pytest.fixture
def alice_page(context, page, alice, live_server):
    log_in(context, alice, live_server.url)
    return page


@pytest.fixture
def public_s3_media(s3_media):
    """s3_media as deployed: a private bucket whose public/ prefix anyone (the CDN) can read, so the
    pages show published images straight from the bucket and unpublished ones through our own view."""
    return s3_media


def s3_worker_env(settings) -> dict[str, str]:
    """The environment that gives a subprocess the same S3 media settings as this test."""
    if settings.MEDIA_BACKEND != "s3":
        return {}
    options = settings.STORAGES["default"]["OPTIONS"]
    return {
        "MEDIA_BACKEND": "s3",
        "B2_ENDPOINT_URL": options["endpoint_url"],
        "B2_REGION": options["region_name"],
        "B2_BUCKET": options["bucket_name"],
        "B2_KEY_ID": options["access_key"],
        "B2_APPLICATION_KEY": options["secret_key"],
        "MEDIA_CDN_URL": settings.MEDIA_CDN_URL,
    }


@pytest.fixture
def start_worker(request, transactional_db, live_server, fake_openai, settings):
    """Start a real qcluster on the test database, the fake OpenAI server and this test's media.

    A function, so a test scripts the AI and makes its rows first. Requests s3_media first when the test uses it,
    so the worker sees the S3 settings.
    """
    if "s3_media" in request.fixturenames:
        request.getfixturevalue("s3_media")
    workers = []

    def start(*, ai_timeout: float = 10.0):
        env = fake_openai.env(timeout=ai_timeout, max_retries=0)
        env["MEDIA_ROOT"] = str(settings.MEDIA_ROOT)
        env.update(s3_worker_env(settings))
        workers.append(start_qcluster(extra_env=env))
        return workers[-1]

    yield start
    for worker in workers:
        # SIGKILL: a worker may be inside a slow fake AI call, and the database is flushed next anyway.
        stop_process(worker, sig=signal.SIGKILL)

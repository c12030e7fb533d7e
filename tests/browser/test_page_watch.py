"""PageWatch (tests/browser/conftest.py), which every browser test trusts to see what a person would not:
what it counts as a failed request, and what it leaves out."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_request_cut_off_by_a_navigation_is_not_a_failure_but_one_that_fails_on_the_page_is(page):
    held = []
    page.route("**/static/js/site.js", lambda route: held.append(route), times=1)
    page.goto("/", wait_until="commit")
    page.wait_for_timeout(500)  # the first page's site.js is on its way, held
    page.goto("/search/")  # the browser cuts it off: nobody sees that
    assert len(held) == 1 and page.watch.failed_requests == []

    page.route("**/static/js/site.js", lambda route: route.abort())
    page.reload()  # the page in front of the person misses its script: that is a failure
    assert page.watch.failed_requests == [f"GET {page.url.split('/search')[0]}/static/js/site.js: net::ERR_FAILED"]

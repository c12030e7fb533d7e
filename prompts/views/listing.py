"""What every keyset-paged list page shares: cursors from the query string, canonical and
rel prev/next links, and the answer to a broken cursor."""

from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import render

from prompts.pagination import BadCursor, KeysetPage


def absolute(request, path: str) -> str:
    if not path:
        return ""
    if path.startswith(("http://", "https://")):
        return path
    base = settings.SITE_URL or f"{request.scheme}://{request.get_host()}"
    return f"{base}{path}"


CURSOR_PARAMS = ("after", "before")


def cursors(request) -> dict:
    after = request.GET.get("after", "")[:200]
    return {"after": after or None, "before": None if after else (request.GET.get("before", "")[:200] or None)}


def list_links(request, page: KeysetPage, *, indexable: bool) -> dict:
    """canonical, rel prev/next and the Load more link of a keyset page.

    Filtered or re-sorted views of a list are not separate pages for search engines: they get
    noindex and point their canonical at the plain list. The plain list's pages are each their
    own canonical (a cursor page is a stable set of prompts a crawler can follow with rel=next).
    """
    kept = [
        (key, value) for key, values in request.GET.lists() if key not in CURSOR_PARAMS for value in values if value
    ]
    path = request.path

    def url(**cursor) -> str:
        query = urlencode([*kept, *cursor.items()])
        return f"{path}?{query}" if query else path

    filtered = bool(kept)
    cursor = cursors(request)
    if filtered or not indexable or page.prev_cursor is None:
        canonical = absolute(request, path)
    elif cursor["after"]:
        canonical = absolute(request, url(after=cursor["after"]))
    else:
        canonical = absolute(request, url(before=cursor["before"]))
    return {
        "page": page,
        "canonical_url": canonical,
        "noindex": filtered or not indexable,
        "next_url": url(after=page.next_cursor) if page.next_cursor else "",
        "prev_url": url(before=page.prev_cursor) if page.prev_cursor else "",
        "first_url": path if page.prev_cursor else "",
    }


def bad_cursor(request, error: BadCursor):
    return render(request, "400.html", {"message": error.message, "noindex": True}, status=400)

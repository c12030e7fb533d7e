"""Finding prompts: the home page, search, and the tag and generator pages.

Lists page by cursor (`?after=` / `?before=`). "Load more" is a plain link to the next page
(works without JavaScript); static/js/load-more.js fetches that page and appends its cards.
"""

from urllib.parse import urlencode

from django.http import Http404
from django.shortcuts import get_object_or_404, render
from taggit.models import Tag

from prompts.models import AIGenerator
from prompts.pagination import BadCursor
from prompts.search import feeds
from prompts.search.forms import FeedForm, search_text
from prompts.views.listing import bad_cursor, cursors, list_links


def _feed_form(request, *, with_relevance: bool = False, default_sort: str = feeds.NEWEST) -> FeedForm:
    return FeedForm(request.GET, with_relevance=with_relevance, default_sort=default_sort)


def _filter_context(request, form: FeedForm) -> dict:
    """The filter form's extras: a removable chip per chosen tag, and the tags left to add."""
    chosen = {tag.slug for tag in form.tags}
    chips = []
    for tag in form.tags:
        kept = [
            (key, value)
            for key, values in request.GET.lists()
            if key not in ("after", "before")
            for value in values
            if value and not (key == "tag" and value == tag.slug)
        ]
        chips.append({"tag": tag, "remove_url": f"{request.path}?{urlencode(kept)}" if kept else request.path})
    filters = form.filters()
    return {
        "tag_chips": chips,
        "tag_options": [tag for tag in Tag.objects.order_by("name").only("name", "slug") if tag.slug not in chosen],
        "form_filtered": filters.active,
    }


def home(request):
    cursor = cursors(request)
    try:
        page = feeds.feed_page(feeds.public_prompts(), **cursor)
    except BadCursor as error:
        return bad_cursor(request, error)
    first = not (cursor["after"] or cursor["before"])
    return render(
        request,
        "prompts/home.html",
        {
            **list_links(request, page, indexable=True),
            "first_page": first,
            "trending": feeds.trending(limit=8) if first else [],
            "popular_tags": feeds.popular_tags() if first else [],
            "generators": feeds.popular_generators() if first else [],
            "meta_title": "PromptFinder — AI images and the prompts that made them",
            "meta_description": "Discover AI-generated images from Midjourney, DALL-E, Stable Diffusion, Flux "
            "and more, "
            "together with the exact prompts that made them.",
        },
    )


def search(request):
    query = search_text(request.GET)
    form = _feed_form(request, with_relevance=bool(query), default_sort=feeds.RELEVANCE if query else feeds.NEWEST)
    try:
        results = feeds.search(query, sort=form.chosen_sort, filters=form.filters(), **cursors(request))
    except BadCursor as error:
        return bad_cursor(request, error)
    links = list_links(request, results.page, indexable=False)
    links["canonical_url"] = ""  # arbitrary queries are not pages of the site
    return render(
        request,
        "prompts/search.html",
        {
            **links,
            **_filter_context(request, form),
            "form": form,
            "query": query,
            "results": results,
            "hits": results.hits,
            "meta_title": f"“{query}” — PromptFinder search" if query else "Search prompts — PromptFinder",
            "meta_description": "Search AI images and the prompts that made them.",
            "popular_tags": feeds.popular_tags() if not results.hits else [],
        },
    )


def _filtered_list(request, queryset, *, context: dict, tag: Tag | None = None, hide_generator: bool = False):
    form = _feed_form(request)
    try:
        page = feeds.feed_page(
            queryset,
            sort=form.chosen_sort,
            filters=form.filters(extra_tag_ids=(tag.id,) if tag else ()),
            **cursors(request),
        )
    except BadCursor as error:
        return bad_cursor(request, error)
    return render(
        request,
        "prompts/list.html",
        {
            **list_links(request, page, indexable=True),
            **context,
            **_filter_context(request, form),
            "form": form,
            "show_filters": True,
            "hide_generator": hide_generator,
            "fixed_tag": tag,
        },
    )


def tag_page(request, slug):
    tag = get_object_or_404(Tag, slug=slug)
    return _filtered_list(
        request,
        feeds.public_prompts(),
        tag=tag,
        context={
            "heading": f"{tag.name} prompts",
            "meta_title": f"{tag.name} AI Image Prompts — PromptFinder",
            "meta_description": f"AI-generated images tagged {tag.name}, with the prompts that made them. "
            "Copy a prompt and try it.",
        },
    )


def generator_page(request, slug):
    if slug not in AIGenerator.values:
        raise Http404("Unknown generator")
    label = AIGenerator(slug).label
    return _filtered_list(
        request,
        feeds.public_prompts().filter(ai_generator=slug),
        hide_generator=True,
        context={
            "heading": f"{label} prompts",
            "meta_title": f"{label} Prompts — PromptFinder",
            "meta_description": f"The best {label} prompts with the images they made. "
            f"Copy any prompt and use it in {label}.",
        },
    )

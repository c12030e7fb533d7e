"""The public site: prompt detail, tag/generator/author pages, likes, comments, collections, robots."""

from datetime import datetime
from urllib.parse import quote, urlencode

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Exists, OuterRef
from django.http import (
    Http404,
    HttpResponse,
    HttpResponsePermanentRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from prompts import selectors
from prompts.clients import client_address
from prompts.models import Collection, Prompt
from prompts.pagination import BadCursor, Order, keyset_page
from prompts.permissions import can_moderate
from prompts.search import feeds
from prompts.services import ai_content, editing, plans, seo, social
from prompts.services.errors import DomainError
from prompts.views.listing import absolute, bad_cursor, cursors, list_links

COMMENTS_PAGE = 50
COMMENT_ORDER = Order("created_at", datetime, descending=False)


def _listing(request, queryset, *, context: dict, indexable: bool = True):
    try:
        page = feeds.feed_page(queryset, **cursors(request))
    except BadCursor as error:
        return bad_cursor(request, error)
    return render(request, "prompts/list.html", {**context, **list_links(request, page, indexable=indexable)})


def profile_page(request, username):
    if "\x00" in username:  # no username has one, and PostgreSQL refuses it in a query
        raise Http404("No such author")
    author = get_object_or_404(get_user_model(), username=username)
    own = request.user.is_authenticated and request.user.pk == author.pk
    return _listing(
        request,
        feeds.public_prompts().filter(author=author),
        context={
            "heading": f"Prompts by @{author.username}",
            "profile": author,
            "limited": list(ai_content.limited_prompts(user=author)[:50]) if own else [],
            "meta_title": f"@{author.username}'s AI prompts — PromptFinder",
            "meta_description": f"AI images and prompts shared by @{author.username} on PromptFinder.",
        },
    )


def prompt_detail(request, slug):
    prompt = selectors.prompt_visible_to(slug=slug, user=request.user)
    if prompt is None:
        moved = selectors.prompt_for_old_slug(slug)
        if moved is not None:
            return HttpResponsePermanentRedirect(reverse("prompt_detail", kwargs={"slug": moved.slug}))
        raise Http404("Prompt not found")
    if prompt.is_published:
        social.record_view(
            prompt=prompt,
            user=request.user,
            address=client_address(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
    return _detail_page(request, prompt)


def _detail_page(request, prompt: Prompt, *, comment_draft: str = "", status: int = 200, headers=None):
    try:
        comments = keyset_page(
            prompt.comments.select_related("author"),
            order=COMMENT_ORDER,
            after=request.GET.get("comments_after", "")[:200] or None,
            size=COMMENTS_PAGE,
        )
    except BadCursor as error:
        return bad_cursor(request, error)
    tags = list(prompt.tags.all())
    page_url = absolute(request, reverse("prompt_detail", kwargs={"slug": prompt.slug}))
    like_count = prompt.likes.count()
    user = request.user
    context = {
        "prompt": prompt,
        "tags": tags,
        "canonical_url": page_url,
        "meta_title": seo.meta_title(prompt.title),
        "meta_description": seo.meta_description(prompt.excerpt, fallback=prompt.content),
        "alt_text": prompt.alt_text
        or seo.alt_text(title=prompt.title, generator_label=prompt.get_ai_generator_display()),
        "og_image": absolute(request, prompt.b2_medium_url or prompt.b2_large_url),
        "json_ld": seo.json_ld(
            prompt=prompt,
            page_url=page_url,
            image_url=absolute(request, prompt.b2_large_url or prompt.b2_image_url),
            thumb_url=absolute(request, prompt.b2_thumb_url),
            author_url=absolute(request, reverse("profile", kwargs={"username": prompt.author.username})),
            generator_url=absolute(request, reverse("generator", kwargs={"slug": prompt.ai_generator})),
            home_url=absolute(request, "/"),
            like_count=like_count,
            tags=[t.name for t in tags],
        ),
        "related": feeds.related_prompts(prompt, tag_ids=[t.id for t in tags]) if prompt.is_published else [],
        "more_from": selectors.more_from_author(prompt, limit=4),
        "like_count": like_count,
        "liked": user.is_authenticated and prompt.likes.filter(user=user).exists(),
        "comments": comments,
        "comment_count": prompt.comments.count()
        if comments.next_cursor or comments.prev_cursor
        else len(comments.items),
        "comments_next_url": f"?{urlencode({'comments_after': comments.next_cursor})}#comments"
        if comments.next_cursor
        else "",
        "collections": _collections_of(user, prompt),
        "share_url": quote(page_url, safe=""),
        "share_text": quote(prompt.title, safe=""),
        "share_image": quote(absolute(request, prompt.b2_large_url), safe=""),
        "comment_draft": comment_draft,
        "can_moderate": can_moderate(user),
    }
    if user.is_authenticated and user.pk == prompt.author_id:
        context["draft_reasons"] = editing.draft_reasons(prompt)
        context["can_publish"] = not prompt.is_published and not prompt.publish_blockers()
        context["retention_days"] = plans.retention_days(user)
    context["saved_in"] = [c.name for c in context["collections"] if c.has_prompt]
    response = render(request, "prompts/prompt_detail.html", context, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _collections_of(user, prompt: Prompt) -> list[Collection]:
    """The person's collections, each marked with whether this prompt is already in it (one query)."""
    if not user.is_authenticated:
        return []
    holds = Collection.prompts.through.objects.filter(collection_id=OuterRef("pk"), prompt_id=prompt.id)
    return list(Collection.objects.filter(owner=user).annotate(has_prompt=Exists(holds)).order_by("name"))


def _wants_json(request) -> bool:
    return request.headers.get("Accept") == "application/json"


def _public_prompt(slug) -> Prompt:
    prompt = Prompt.objects.filter(slug=slug, status=Prompt.Status.PUBLISHED, is_deleted=False).first()
    if prompt is None:
        raise Http404("Prompt not found")
    return prompt


@login_required
@require_POST
def like(request, slug):
    prompt = _public_prompt(slug)
    liked, count = social.toggle_like(user=request.user, prompt=prompt)
    if _wants_json(request):
        return JsonResponse({"liked": liked, "likes": count})
    # Without JavaScript the form posts: come back to the button, not the top of the page.
    return redirect(f"{reverse('prompt_detail', kwargs={'slug': slug})}#actions")


@login_required
@require_POST
def comment(request, slug):
    prompt = _public_prompt(slug)
    body = request.POST.get("body", "")
    try:
        social.add_comment(user=request.user, prompt=prompt, body=body)
    except DomainError as exc:
        # The page again, with the refusal and what they wrote still in the box.
        messages.error(request, exc.message)
        return _detail_page(
            request, prompt, comment_draft=body.replace("\x00", ""), status=exc.status, headers=exc.headers
        )
    return redirect(f"{reverse('prompt_detail', kwargs={'slug': slug})}#comments")


@login_required
@require_POST
def comment_delete(request, comment_id):
    try:
        prompt = social.delete_comment(user=request.user, comment_id=comment_id)
    except DomainError:
        raise Http404("Not found") from None
    messages.success(request, "The comment was deleted.")
    return redirect(f"{reverse('prompt_detail', kwargs={'slug': prompt.slug})}#comments")


@login_required
@require_POST
def save_to_collection(request, slug):
    prompt = _public_prompt(slug)
    raw_id = request.POST.get("collection", "")
    try:
        collection = social.save_to_collection(
            user=request.user,
            prompt=prompt,
            collection_id=int(raw_id) if raw_id.isdigit() else None,
            new_name=request.POST.get("new_collection", ""),
        )
    except DomainError as exc:
        if _wants_json(request):
            return JsonResponse({"error": exc.message}, status=exc.status)
        messages.error(request, exc.message)
    else:
        message = f"Saved to “{collection.name}”."
        if _wants_json(request):
            saved_in = [c.name for c in _collections_of(request.user, prompt) if c.has_prompt]
            return JsonResponse({"message": message, "collection": collection.name, "saved_in": saved_in})
        messages.success(request, message)
    return redirect(f"{reverse('prompt_detail', kwargs={'slug': slug})}#save")


@login_required
def collections(request):
    items = Collection.objects.filter(owner=request.user).annotate(size=Count("prompts"))
    return render(request, "prompts/collections.html", {"collections": items})


@login_required
def collection_detail(request, collection_id):
    collection = get_object_or_404(Collection, id=collection_id, owner=request.user)
    return _listing(
        request,
        feeds.public_prompts().filter(collections=collection),
        indexable=False,
        context={
            "heading": collection.name,
            "meta_title": f"{collection.name} — PromptFinder",
            "meta_description": f"Your collection {collection.name}.",
        },
    )


def robots_txt(request):
    lines = [
        "User-agent: *",
        "Disallow: /upload/",
        "Disallow: /prompt/processing/",
        "Disallow: /prompt/edit/",
        "Disallow: /prompt/delete/",
        "Disallow: /api/",
        "Disallow: /admin/",
        "Disallow: /accounts/",
        "Disallow: /trash/",
        "Disallow: /collections/",
        "",
        f"Sitemap: {absolute(request, reverse('sitemap_index'))}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain")


@login_required
@require_POST
def retry_all_limited(request):
    queued, skipped = ai_content.retry_all_limited(user=request.user)
    text = f"{queued} prompt{'s' if queued != 1 else ''} queued to try the AI again."
    if skipped:
        text += f" {skipped} could not be retried (tried too often): our team will complete them."
    messages.success(request, text)
    return redirect("profile", username=request.user.username)

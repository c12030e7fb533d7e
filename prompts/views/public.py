"""The public site: prompt detail, tag/generator/author pages, likes, comments, collections, robots."""
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import (
    Http404,
    HttpResponse,
    HttpResponsePermanentRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from taggit.models import Tag

from prompts import selectors
from prompts.clients import client_address
from prompts.models import AIGenerator, Collection, Prompt
from prompts.permissions import can_moderate
from prompts.services import ai_content, seo, social
from prompts.services.errors import DomainError

PAGE_SIZE = 24


def absolute(request, path: str) -> str:
    if not path:
        return ""
    if path.startswith(("http://", "https://")):
        return path
    base = settings.SITE_URL or f"{request.scheme}://{request.get_host()}"
    return f"{base}{path}"


def _listing(request, queryset, *, template: str, context: dict):
    page = Paginator(queryset.prefetch_related("tags"), PAGE_SIZE).get_page(request.GET.get("page"))
    path = request.path
    canonical = absolute(request, path if page.number == 1 else f"{path}?page={page.number}")
    return render(request, template, {
        **context,
        "page": page,
        "canonical_url": canonical,
        "prev_url": (path if page.previous_page_number() == 1 else f"{path}?page={page.previous_page_number()}")
        if page.has_previous() else "",
        "next_url": f"{path}?page={page.next_page_number()}" if page.has_next() else "",
    })


def home(request):
    return _listing(request, selectors.published_prompts(), template="prompts/home.html", context={
        "heading": "Latest prompts",
        "meta_title": "PromptFinder — AI images and the prompts that made them",
        "meta_description": "Discover AI-generated images from Midjourney, DALL-E, Stable Diffusion, Flux and more, "
                            "together with the exact prompts that made them.",
    })


def tag_page(request, slug):
    tag = get_object_or_404(Tag, slug=slug)
    return _listing(request, selectors.prompts_tagged(slug), template="prompts/home.html", context={
        "heading": f"{tag.name} prompts",
        "meta_title": f"{tag.name} AI Image Prompts — PromptFinder",
        "meta_description": f"AI-generated images tagged {tag.name}, with the prompts that made them. Copy a prompt and try it.",
    })


def generator_page(request, slug):
    if slug not in AIGenerator.values:
        raise Http404("Unknown generator")
    label = AIGenerator(slug).label
    return _listing(request, selectors.prompts_by_generator(slug), template="prompts/home.html", context={
        "heading": f"{label} prompts",
        "meta_title": f"{label} Prompts — PromptFinder",
        "meta_description": f"The best {label} prompts with the images they made. Copy any prompt and use it in {label}.",
    })


def profile_page(request, username):
    if "\x00" in username:  # no username has one, and PostgreSQL refuses it in a query
        raise Http404("No such author")
    author = get_object_or_404(get_user_model(), username=username)
    own = request.user.is_authenticated and request.user.pk == author.pk
    return _listing(request, selectors.prompts_by_author(author), template="prompts/home.html", context={
        "heading": f"Prompts by @{author.username}",
        "profile": author,
        "limited": list(ai_content.limited_prompts(user=author)[:50]) if own else [],
        "meta_title": f"@{author.username}'s AI prompts — PromptFinder",
        "meta_description": f"AI images and prompts shared by @{author.username} on PromptFinder.",
    })


def prompt_detail(request, slug):
    prompt = selectors.prompt_visible_to(slug=slug, user=request.user)
    if prompt is None:
        moved = selectors.prompt_for_old_slug(slug)
        if moved is not None:
            return HttpResponsePermanentRedirect(reverse("prompt_detail", kwargs={"slug": moved.slug}))
        raise Http404("Prompt not found")
    if prompt.is_published:
        social.record_view(prompt=prompt, user=request.user, address=client_address(request),
                           user_agent=request.META.get("HTTP_USER_AGENT", ""))
    return _detail_page(request, prompt)


def _detail_page(request, prompt: Prompt, *, comment_draft: str = "", status: int = 200, headers=None):
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
        "alt_text": prompt.alt_text or seo.alt_text(title=prompt.title, generator_label=prompt.get_ai_generator_display()),
        "og_image": absolute(request, prompt.b2_medium_url or prompt.b2_large_url),
        "json_ld": seo.json_ld(
            prompt=prompt, page_url=page_url, image_url=absolute(request, prompt.b2_large_url or prompt.b2_image_url),
            thumb_url=absolute(request, prompt.b2_thumb_url),
            author_url=absolute(request, reverse("profile", kwargs={"username": prompt.author.username})),
            generator_url=absolute(request, reverse("generator", kwargs={"slug": prompt.ai_generator})),
            home_url=absolute(request, "/"), like_count=like_count, tags=[t.name for t in tags],
        ),
        "related": selectors.related_prompts(prompt, tag_ids=[t.id for t in tags]) if prompt.is_published else [],
        "more_from": selectors.more_from_author(prompt, limit=4),
        "like_count": like_count,
        "liked": user.is_authenticated and prompt.likes.filter(user=user).exists(),
        "comments": list(prompt.comments.select_related("author")),
        "collections": list(Collection.objects.filter(owner=user)) if user.is_authenticated else [],
        "share_url": quote(page_url, safe=""),
        "share_text": quote(prompt.title, safe=""),
        "share_image": quote(absolute(request, prompt.b2_large_url), safe=""),
        "comment_draft": comment_draft,
        "can_moderate": can_moderate(user),
    }
    response = render(request, "prompts/prompt_detail.html", context, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


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
    if request.headers.get("Accept") == "application/json":
        return JsonResponse({"liked": liked, "likes": count})
    return redirect("prompt_detail", slug=slug)


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
        return _detail_page(request, prompt, comment_draft=body.replace("\x00", ""), status=exc.status,
                            headers=exc.headers)
    return redirect(f"{reverse('prompt_detail', kwargs={'slug': slug})}#comments")


@login_required
@require_POST
def comment_delete(request, comment_id):
    try:
        prompt = social.delete_comment(user=request.user, comment_id=comment_id)
    except DomainError:
        raise Http404("Not found")
    messages.success(request, "The comment was deleted.")
    return redirect(f"{reverse('prompt_detail', kwargs={'slug': prompt.slug})}#comments")


@login_required
@require_POST
def save_to_collection(request, slug):
    prompt = _public_prompt(slug)
    raw_id = request.POST.get("collection", "")
    try:
        collection = social.save_to_collection(
            user=request.user, prompt=prompt, collection_id=int(raw_id) if raw_id.isdigit() else None,
            new_name=request.POST.get("new_collection", ""),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Saved to “{collection.name}”.")
    return redirect("prompt_detail", slug=slug)


@login_required
def collections(request):
    items = Collection.objects.filter(owner=request.user).annotate(size=Count("prompts"))
    return render(request, "prompts/collections.html", {"collections": items})


@login_required
def collection_detail(request, collection_id):
    collection = get_object_or_404(Collection, id=collection_id, owner=request.user)
    return _listing(request, selectors.published_prompts().filter(collections=collection),
                    template="prompts/home.html", context={
                        "heading": collection.name, "meta_title": f"{collection.name} — PromptFinder",
                        "meta_description": f"Your collection {collection.name}.", "noindex": True,
                    })


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

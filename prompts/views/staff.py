"""The staff queues in the admin: SEO review and moderation.

Mounted by `prompts.admin_site.PromptFinderAdminSite.get_urls` inside `admin_view`, which already
sends anyone but active staff to the admin login page; these views also need the "change prompt"
permission (`prompts.permissions.MODERATE`), like the Prompt changelist: 403 without it. Parse, call a service in
`prompts.services.review`, render.
"""

from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST

from prompts import selectors
from prompts.forms import ModerationNoteForm, SeoReviewForm
from prompts.models import Prompt
from prompts.permissions import MODERATE, can_moderate
from prompts.services import review
from prompts.services.errors import DomainError

PAGE_SIZE = 25
moderators_only = permission_required(MODERATE, raise_exception=True)


def _context(request, **extra) -> dict:
    return {**admin.site.each_context(request), **extra}


def queue_counts(request) -> dict:
    """The admin index's numbers, for those who may work on the queues."""
    counts = {}
    if can_moderate(request.user):
        counts["seo_review_count"] = selectors.seo_review_queue().count()
        counts["moderation_count"] = selectors.moderation_queue().count()
    if request.user.has_perm("django_q.view_failure"):
        from django_q.models import Failure

        counts["failed_task_count"] = Failure.objects.count()
    return counts


def _log_change(request, prompt: Prompt, message: str) -> None:
    """Record the change in the admin's history of the prompt ("History" on its change page)."""
    LogEntry.objects.log_actions(
        user_id=request.user.pk, queryset=[prompt], action_flag=CHANGE, change_message=message, single_object=True
    )


@moderators_only
def seo_review_queue(request):
    queue = selectors.seo_review_queue()
    page = Paginator(queue, PAGE_SIZE).get_page(request.GET.get("page"))
    return TemplateResponse(
        request,
        "admin/prompts/seo_review_queue.html",
        _context(
            request,
            title="SEO review queue",
            page=page,
            total=page.paginator.count,
        ),
    )


@moderators_only
def seo_review_edit(request, prompt_id: int):
    prompt = get_object_or_404(selectors.seo_review_queue(), id=prompt_id)
    initial = {"title": prompt.title, "description": prompt.excerpt, "tags": prompt.tags.all()}
    form = SeoReviewForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            prompt = review.complete_seo_review(
                prompt=prompt,
                reviewer=request.user,
                title=data["title"],
                description=data["description"],
                tags=list(data["tags"]),
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            _log_change(request, prompt, "Completed the SEO review.")
            messages.success(request, _review_outcome(prompt))
            return redirect("admin:seo_review_queue")
    return TemplateResponse(
        request,
        "admin/prompts/seo_review_edit.html",
        _context(
            request,
            title=f"Complete the details of “{prompt.title}”",
            prompt=prompt,
            form=form,
        ),
    )


def _review_outcome(prompt: Prompt) -> str:
    if prompt.is_published:
        return f"“{prompt.title}” is complete and published."
    if prompt.is_held:
        return f"“{prompt.title}” is complete. It stays a draft until a moderator approves it."
    return f"“{prompt.title}” is complete. It stays a draft, as its author asked."


@moderators_only
def moderation_queue(request):
    page = Paginator(selectors.moderation_queue(), PAGE_SIZE).get_page(request.GET.get("page"))
    items = [
        {
            "prompt": prompt,
            "publishes": review.publishes_on_approval(prompt),
            "near_duplicates": selectors.near_duplicates(prompt),
        }
        for prompt in page
    ]
    return TemplateResponse(
        request,
        "admin/prompts/moderation_queue.html",
        _context(
            request,
            title="Moderation queue",
            page=page,
            items=items,
            total=page.paginator.count,
        ),
    )


@moderators_only
@require_POST
def moderation_decide(request, prompt_id: int):
    prompt = Prompt.objects.filter(id=prompt_id).first()
    decision = request.POST.get("decision")
    form = ModerationNoteForm(request.POST)
    if prompt is None or decision not in {"approve", "reject"}:
        raise Http404("Not found")
    if not form.is_valid():
        messages.error(request, f"“{prompt.title}”: {form.errors['note'][0]}")
        return redirect("admin:moderation_queue")
    note = form.cleaned_data["note"]
    try:
        if decision == "approve":
            prompt = review.approve_moderation(prompt=prompt, moderator=request.user, note=note)
            _log_change(request, prompt, "Approved in moderation.")
            state = "published" if prompt.is_published else "kept as a draft"
            messages.success(request, f"Approved “{prompt.title}”: {state}.")
        else:
            prompt = review.reject_moderation(prompt=prompt, moderator=request.user, note=note)
            _log_change(request, prompt, "Rejected in moderation.")
            messages.success(request, f"Rejected “{prompt.title}”: moved to the author's trash.")
    except DomainError as exc:
        messages.error(request, f"“{prompt.title}”: {exc.message}")
    return redirect("admin:moderation_queue")

"""HTML pages: parse the request, call a service or selector, render."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from prompts import selectors
from prompts.forms import PromptEditForm, SubmitForm
from prompts.models import AIGenerator
from prompts.services import editing, plans, review, submission, trash, uploads
from prompts.services.errors import DomainError, NotFound
from prompts.views.accounts import verified_email_required


def _upload_context(request, form, status=200):
    premium = plans.is_premium(request.user)
    context = {
        "form": form,
        "generators": AIGenerator.choices,
        "max_image_bytes": settings.UPLOAD_MAX_IMAGE_BYTES,
        "max_video_bytes": settings.UPLOAD_MAX_VIDEO_BYTES,
        "max_prompt_length": submission.MAX_PROMPT_LENGTH,
        "accepted_types": uploads.accepted_types(),
        "is_premium": premium,
        "weekly_count": uploads.weekly_upload_count(request.user),
        "weekly_limit": settings.UPLOAD_WEEKLY_LIMIT,
        "critical_path": "sequential" if settings.CRITICAL_PATH_SEQUENTIAL else "overlapped",
        "ready_upload": selectors.ready_upload_for(user=request.user, upload_id=form["upload_id"].value())
        if form.is_bound
        else None,
    }
    if context["ready_upload"] is not None:
        context["ready_upload_thumb"] = uploads.variant_urls(context["ready_upload"]).get("medium", "")
    return render(request, "prompts/upload.html", context, status=status)


@login_required
@verified_email_required()
def upload_page(request):
    return _upload_context(request, SubmitForm())


@login_required
@require_POST
@verified_email_required()
def upload_submit(request):
    form = SubmitForm(request.POST)
    if not form.is_valid():
        return _upload_context(request, form, status=400)
    try:
        prompt = submission.submit_prompt(
            user=request.user,
            upload_id=form.cleaned_data["upload_id"],
            content=form.cleaned_data["content"],
            ai_generator=form.cleaned_data["ai_generator"],
            save_as_draft=form.cleaned_data["save_as_draft"],
        )
    except DomainError as exc:
        form.add_error(None, exc.message)
        return _upload_context(request, form, status=exc.status)
    return redirect("processing_page", processing_uuid=prompt.processing_uuid)


def _first_status_url(prompt) -> str:
    """The page's first long poll, preloaded from its head: it leaves when the head is parsed, ~70 ms
    before processing.js runs. It waits as processing.js's first poll would (never past the first notice)."""
    if prompt.processing_complete or not settings.PROCESSING_LONG_POLL_SECONDS:
        return ""
    wait = min(settings.PROCESSING_LONG_POLL_SECONDS, settings.PROCESSING_WARNING_MS / 1000)
    return f"{reverse('api_prompt_status', args=[prompt.processing_uuid])}?wait={wait:.1f}"


@login_required
def processing_page(request, processing_uuid):
    prompt = selectors.own_prompt(user=request.user, processing_uuid=processing_uuid)
    if prompt is None:
        raise Http404("Not found")
    return render(
        request,
        "prompts/processing.html",
        {
            "prompt": prompt,
            "tags": list(prompt.tags.all()) if prompt.processing_complete else [],
            "draft_reasons": editing.draft_reasons(prompt),
            "more_from": selectors.more_from_author(prompt, limit=4),
            "poll_ms": settings.PROCESSING_POLL_MS,
            "long_poll_seconds": settings.PROCESSING_LONG_POLL_SECONDS,
            "retention_days": plans.retention_days(request.user),
            "estimate_text": ""
            if prompt.processing_complete
            else selectors.status_of(user=request.user, processing_uuid=prompt.processing_uuid).get(
                "estimate_text", ""
            ),
            "warning_ms": settings.PROCESSING_WARNING_MS,
            "error_ms": settings.PROCESSING_ERROR_MS,
            "completed_status": selectors.just_completed_status(user=request.user, prompt=prompt),
            "first_status_url": _first_status_url(prompt),
        },
    )


@login_required
@require_POST
def prompt_cancel(request, processing_uuid):
    try:
        trash.cancel_prompt(user=request.user, processing_uuid=processing_uuid)
    except NotFound:
        raise Http404("Not found") from None
    days = plans.retention_days(request.user)
    messages.success(request, f"Upload cancelled. You can restore it from trash within {days} days.")
    return redirect("upload_page")


@login_required
def prompt_edit(request, processing_uuid):
    prompt = selectors.own_prompt(user=request.user, processing_uuid=processing_uuid)
    if prompt is None:
        raise Http404("Not found")
    if not prompt.processing_complete:
        messages.info(request, "Your prompt is still being processed. You can edit it when it's ready.")
        return redirect("processing_page", processing_uuid=prompt.processing_uuid)
    initial = {
        "title": prompt.title,
        "description": prompt.excerpt,
        "tags": prompt.tags.all(),
        "content": prompt.content,
        "ai_generator": prompt.ai_generator,
        "publish": prompt.publish_requested,
    }
    form = PromptEditForm(request.POST or None, initial=initial, label_suffix="")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        prompt = editing.edit_prompt(
            prompt=prompt,
            title=data["title"],
            description=data["description"],
            tags=list(data["tags"]),
            content=data["content"],
            ai_generator=data["ai_generator"],
            publish=data["publish"],
        )
        messages.success(
            request,
            "Your changes were saved."
            if prompt.is_published
            else "Your changes were saved. The prompt is a draft: only you can see it.",
        )
        return redirect("prompt_detail", slug=prompt.slug)
    return render(request, "prompts/edit.html", {"prompt": prompt, "form": form})


@login_required
@require_POST
def prompt_publish(request, processing_uuid):
    try:
        prompt = editing.publish_prompt(user=request.user, processing_uuid=processing_uuid)
    except NotFound:
        raise Http404("Not found") from None
    except DomainError as exc:
        messages.error(request, exc.message)
        prompt = selectors.own_prompt(user=request.user, processing_uuid=processing_uuid)
        if prompt is None:
            raise Http404("Not found") from None
        return redirect(prompt.get_absolute_url())
    messages.success(request, "Your prompt is published and live.")
    return redirect("prompt_detail", slug=prompt.slug)


@login_required
@require_POST
def prompt_delete(request, processing_uuid):
    prompt = selectors.own_prompt(user=request.user, processing_uuid=processing_uuid)
    if prompt is None:
        raise Http404("Not found")
    trash.trash_prompt(prompt=prompt)
    days = plans.retention_days(request.user)
    messages.success(request, f"“{prompt.title}” was moved to your trash. You can restore it within {days} days.")
    return redirect("trash")


@login_required
def trash_page(request):
    return render(
        request,
        "prompts/trash.html",
        {
            "items": selectors.trash_for(user=request.user),
            "retention_days": plans.retention_days(request.user),
        },
    )


@login_required
@require_POST
def trash_restore(request, prompt_id):
    try:
        prompt = trash.restore_prompt(user=request.user, prompt_id=prompt_id)
    except NotFound:
        raise Http404("Not found") from None
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("trash")
    messages.success(request, f"“{prompt.title}” was restored.")
    return redirect(prompt.get_absolute_url())


@login_required
@require_POST
def prompt_appeal(request, processing_uuid):
    prompt = selectors.own_prompt(user=request.user, processing_uuid=processing_uuid, include_deleted=True)
    if prompt is None:
        raise Http404("Not found")
    try:
        review.submit_appeal(user=request.user, prompt=prompt, message=request.POST.get("message", ""))
    except NotFound:
        raise Http404("Not found") from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Thank you. A moderator will look at your appeal, and you'll see the outcome here.")
    if request.POST.get("back") == "trash" or prompt.is_deleted:
        return redirect("trash")
    return redirect(prompt.get_absolute_url())

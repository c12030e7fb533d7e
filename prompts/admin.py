"""The admin: prompts with bulk actions that call services, uploads and the audit trail (view only).

The SEO review and moderation queues are pages of the admin site itself (`prompts/admin_site.py`).
State fields (processing, moderation, trash) are read-only here: they change through the actions
and queues, which go through `prompts.services`, never by editing a field.
"""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.utils.html import format_html

from prompts.forms import ModerationNoteForm
from prompts.models import Collection, Comment, Like, ModerationDecision, Profile, Prompt, SlugRedirect, Upload
from prompts.services import review


def _prompts(count: int) -> str:
    return f"{count} prompt{'' if count == 1 else 's'}"


def _thumbnail(url: str, size: int = 48):
    if not url:
        return "—"
    return format_html(
        '<img src="{}" alt="" width="{}" height="{}" style="object-fit: cover" loading="lazy">', url, size, size
    )


@admin.register(Prompt)
class PromptAdmin(admin.ModelAdmin):
    list_display = [
        "thumbnail",
        "title",
        "author",
        "status",
        "processing_complete",
        "needs_seo_review",
        "seo_review_reason",
        "moderation_status",
        "is_deleted",
        "created_on",
    ]
    list_display_links = ["thumbnail", "title"]
    list_filter = ["status", "needs_seo_review", "seo_review_reason", "moderation_status", "is_deleted", "ai_generator"]
    search_fields = ["title", "content", "author__username"]
    list_select_related = ["author"]
    date_hierarchy = "created_on"
    actions = ["retry_ai", "approve_selected", "reject_selected", "publish_selected"]
    # Everything but the details is shown, never edited here: state changes go through the actions and services.
    STATE_FIELDS = [
        "author",
        "status",
        "publish_requested",
        "processing_complete",
        "needs_seo_review",
        "seo_review_reason",
        "ai_attempts",
        "ai_next_retry_at",
        "moderation_status",
        "moderation_severity",
        "moderation_violations",
        "appeal_message",
        "appealed_at",
        "is_deleted",
        "deleted_at",
    ]
    MEDIA_FIELDS = [
        "media_type",
        "width",
        "height",
        "b2_image_url",
        "b2_thumb_url",
        "b2_medium_url",
        "b2_large_url",
        "b2_webp_url",
        "b2_video_url",
        "media_keys",
        "stale_media_keys",
        "files_deleted_at",
        "seo_filename_base",
    ]
    RECORD_FIELDS = [
        "processing_uuid",
        "upload",
        "relevance_score",
        "relevance_explanation",
        "view_count",
        "created_on",
        "updated_on",
    ]
    fieldsets = [
        ("Details", {"fields": ["preview", "title", "slug", "excerpt", "tags", "content", "ai_generator", "alt_text"]}),
        ("State", {"fields": STATE_FIELDS}),
        ("Media", {"classes": ["collapse"], "fields": MEDIA_FIELDS}),
        ("Record", {"classes": ["collapse"], "fields": RECORD_FIELDS}),
    ]
    # The slug only changes through the SEO review (which keeps the old URL as a redirect).
    readonly_fields = ["preview", "slug", *STATE_FIELDS, *MEDIA_FIELDS, *RECORD_FIELDS]

    @admin.display(description="Image")
    def thumbnail(self, prompt: Prompt):
        return _thumbnail(prompt.b2_thumb_url)

    @admin.display(description="Image")
    def preview(self, prompt: Prompt):
        return _thumbnail(prompt.b2_medium_url or prompt.b2_thumb_url, size=240)

    def has_add_permission(self, request):
        return False  # prompts come from uploads

    def has_delete_permission(self, request, obj=None):
        # Deleting the row would orphan its stored files: trash it instead, and the cleanup job
        # deletes files, then the row, after the retention period.
        return False

    def _report(self, request, result: review.BulkResult, done: str) -> None:
        if result.done or not result.skipped:
            self.message_user(request, f"{_prompts(result.done)} {done}.", messages.SUCCESS)
        for reason, count in result.skipped.items():
            self.message_user(request, f"{_prompts(count)} skipped: {reason}", messages.WARNING)

    @admin.action(description="Retry AI for selected prompts", permissions=["change"])
    def retry_ai(self, request, queryset):
        self._report(request, review.retry_ai(prompts=queryset), "queued for AI retry")

    @admin.action(description="Approve selected (moderation)", permissions=["change"])
    def approve_selected(self, request, queryset):
        self._report(request, review.approve_many(prompts=queryset, moderator=request.user), "approved")

    @admin.action(description="Reject selected (moderation): move to trash with a note", permissions=["change"])
    def reject_selected(self, request, queryset):
        confirmed = "confirm" in request.POST
        form = ModerationNoteForm(request.POST if confirmed else None)
        if confirmed and form.is_valid():
            if form.cleaned_data["note"]:
                result = review.reject_many(prompts=queryset, moderator=request.user, note=form.cleaned_data["note"])
                self._report(request, result, "rejected and moved to the trash")
                return None
            form.add_error("note", "Please write a note for the authors: why were these rejected?")
        return TemplateResponse(
            request,
            "admin/prompts/prompt/reject_selected.html",
            {
                **self.admin_site.each_context(request),
                "title": "Reject prompts",
                "opts": self.model._meta,
                "queryset": queryset,
                "form": form,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(description="Publish selected (finished, not held)", permissions=["change"])
    def publish_selected(self, request, queryset):
        self._report(request, review.publish_many(prompts=queryset), "published")


class ViewOnlyAdmin(admin.ModelAdmin):
    """Rows written by the services (uploads, the audit trail): look, don't touch."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Upload)
class UploadAdmin(ViewOnlyAdmin):
    list_display = [
        "id",
        "owner",
        "state",
        "media_type",
        "moderation_action",
        "moderation_severity",
        "size",
        "created_at",
    ]
    list_filter = ["state", "moderation_action", "moderation_severity", "media_type"]
    search_fields = ["owner__username", "original_filename", "file_key"]
    list_select_related = ["owner"]
    date_hierarchy = "created_at"


@admin.register(ModerationDecision)
class ModerationDecisionAdmin(ViewOnlyAdmin):
    list_display = ["created_at", "prompt", "action", "actor", "note", "author_seen_at"]
    list_filter = ["action"]
    search_fields = ["prompt__title", "note", "actor__username"]
    list_select_related = ["prompt", "actor"]


@admin.register(SlugRedirect)
class SlugRedirectAdmin(admin.ModelAdmin):
    list_display = ["old_slug", "prompt", "created_at"]
    search_fields = ["old_slug", "prompt__slug"]
    list_select_related = ["prompt"]
    raw_id_fields = ["prompt"]


@admin.register(Like)
class LikeAdmin(admin.ModelAdmin):
    list_display = ["user", "prompt", "created_at"]
    list_select_related = ["user", "prompt"]
    raw_id_fields = ["user", "prompt"]


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["author", "prompt", "body", "created_at"]
    search_fields = ["body", "author__username"]
    list_select_related = ["author", "prompt"]
    raw_id_fields = ["author", "prompt"]


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "created_at"]
    search_fields = ["name", "owner__username"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner", "prompts"]


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "is_premium"]
    list_filter = ["is_premium"]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]

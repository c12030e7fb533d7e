"""PromptFinder's data model.

State fields (`Upload.state`, the prompt's processing and moderation fields) are changed only by
the functions in `prompts/services/`. Models hold data, plus the few rules that read one row's own
fields and are asked in many places (may this prompt be public, may it leave the trash): those are
written once, here.
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.urls import reverse
from taggit.managers import TaggableManager


class AIGenerator(models.TextChoices):
    MIDJOURNEY = "midjourney", "Midjourney"
    DALLE = "dall-e", "DALL-E"
    GPT_IMAGE = "gpt-image", "ChatGPT / GPT Image"
    GEMINI = "gemini", "Gemini / Imagen"
    NOVELAI = "novelai", "NovelAI"
    STABLE_DIFFUSION = "stable-diffusion", "Stable Diffusion"
    FLUX = "flux", "Flux"
    LEONARDO = "leonardo", "Leonardo"
    FIREFLY = "firefly", "Adobe Firefly"
    IDEOGRAM = "ideogram", "Ideogram"
    OTHER = "other", "Other"


class MediaType(models.TextChoices):
    IMAGE = "image", "Image"
    VIDEO = "video", "Video"


class Severity(models.TextChoices):
    NONE = "none", "None"
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class ModerationAction(models.TextChoices):
    ALLOW = "allow", "Allow"
    REVIEW = "review", "Review"
    REJECT = "reject", "Reject"


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    is_premium = models.BooleanField(default=False)
    bio = models.CharField(max_length=300, blank=True)

    def __str__(self):
        return f"Profile of {self.user}"


class Upload(models.Model):
    """One direct upload, owned by a user, from presign until it becomes a prompt's media."""

    class State(models.TextChoices):
        PRESIGNED = "presigned", "Presigned"
        # Claimed by one `complete` call that is checking the bytes; no PUT is accepted any more.
        CHECKING = "checking", "Checking"
        UPLOADED = "uploaded", "Uploaded"
        MODERATED = "moderated", "Moderated"
        READY = "ready", "Ready"
        REJECTED = "rejected", "Rejected"
        SUBMITTED = "submitted", "Submitted"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PRESIGNED)
    file_key = models.CharField(max_length=300, unique=True)
    original_filename = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100)
    declared_size = models.PositiveBigIntegerField()
    size = models.PositiveBigIntegerField(null=True, blank=True)
    media_type = models.CharField(max_length=8, choices=MediaType.choices, default=MediaType.IMAGE)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    # SHA-256 of the bytes stored at `file_key` (metadata stripped): what moderation looks at.
    # Moderation, variants and the AI content task refuse bytes with any other hash.
    checked_sha256 = models.CharField(max_length=64, blank=True)
    # When a `complete` call claimed the upload (its claim token; a claim older than the lease is
    # treated as abandoned by a crashed request).
    claimed_at = models.DateTimeField(null=True, blank=True)
    dhash = models.BigIntegerField(null=True, blank=True)
    # What the image said about how it was made (prompt, negative prompt, settings); data only.
    generation_metadata = models.JSONField(default=dict, blank=True)
    duplicate_of = models.ForeignKey("Prompt", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    moderation_severity = models.CharField(max_length=10, choices=Severity.choices, blank=True)
    moderation_action = models.CharField(max_length=10, choices=ModerationAction.choices, blank=True)
    moderation_violations = models.JSONField(default=list, blank=True)
    # False when no real classifier looked at the image (local provider, or the check failed).
    moderation_checked = models.BooleanField(default=False)
    moderation_note = models.CharField(max_length=300, blank=True)

    # {"thumb": key, "medium": key, "large": key, "webp": key}
    variant_keys = models.JSONField(default=dict, blank=True)
    blurhash = models.CharField(max_length=100, blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "created_at"], name="upload_owner_created")]

    def __str__(self):
        return f"Upload {self.id} ({self.state})"


# Published and not in the trash: the rows every public list and the search index cover.
PUBLIC = Q(status=1, is_deleted=False)


class Prompt(models.Model):
    class Status(models.IntegerChoices):
        DRAFT = 0, "Draft"
        PUBLISHED = 1, "Published"

    class ReviewReason(models.TextChoices):
        NONE = "", "—"
        AI_TIMEOUT = "ai_timeout", "AI timeout"
        AI_ERROR = "ai_error", "AI error"
        DOWNLOAD_FAILED = "download_failed", "Download failure"
        MALFORMED = "malformed", "Malformed answer"
        PARTIAL = "partial", "Partial answer"
        STUCK = "stuck", "Stuck in processing"
        MODERATION = "moderation", "Moderation flag"

    class ModerationStatus(models.TextChoices):
        NOT_NEEDED = "", "Not needed"
        PENDING = "pending", "Pending review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="prompts")
    upload = models.OneToOneField(Upload, on_delete=models.SET_NULL, null=True, blank=True, related_name="prompt")
    content = models.TextField(help_text="The prompt text the author used.")
    ai_generator = models.CharField(max_length=32, choices=AIGenerator.choices)

    title = models.CharField(max_length=200, default="Processing...")
    slug = models.SlugField(max_length=220, unique=True, null=True, blank=True)
    # True once the slug was made for a public page. A draft's slug carries a random part, so it
    # never takes (or reveals) a clean slug another person's published prompt would get.
    slug_public = models.BooleanField(default=False)
    excerpt = models.TextField(blank=True, help_text="The description.")
    tags = TaggableManager(blank=True)
    alt_text = models.CharField(max_length=125, blank=True)
    seo_filename_base = models.CharField(max_length=120, blank=True)
    relevance_score = models.FloatField(null=True, blank=True)
    relevance_explanation = models.TextField(blank=True)

    status = models.IntegerField(choices=Status.choices, default=Status.DRAFT, db_index=True)
    publish_requested = models.BooleanField(default=True, help_text="False when the author chose 'Save as draft'.")
    needs_seo_review = models.BooleanField(default=False, db_index=True)
    seo_review_reason = models.CharField(max_length=20, choices=ReviewReason.choices, blank=True)

    moderation_status = models.CharField(max_length=10, choices=ModerationStatus.choices, blank=True, db_index=True)
    moderation_severity = models.CharField(max_length=10, choices=Severity.choices, blank=True)
    moderation_violations = models.JSONField(default=list, blank=True)
    # Appeal of a rejection or a hold: once, with a short message.
    appeal_message = models.CharField(max_length=500, blank=True)
    appealed_at = models.DateTimeField(null=True, blank=True)

    is_deleted = models.BooleanField(default=False, db_index=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    media_type = models.CharField(max_length=8, choices=MediaType.choices, default=MediaType.IMAGE)
    b2_image_url = models.CharField(max_length=500, blank=True)
    b2_thumb_url = models.CharField(max_length=500, blank=True)
    b2_medium_url = models.CharField(max_length=500, blank=True)
    b2_large_url = models.CharField(max_length=500, blank=True)
    b2_webp_url = models.CharField(max_length=500, blank=True)
    b2_video_url = models.CharField(max_length=500, blank=True)
    # Storage keys, so files can be renamed and deleted without parsing URLs.
    media_keys = models.JSONField(default=dict, blank=True)
    # Keys replaced by the SEO rename and not yet deleted (a crash between copy and delete).
    stale_media_keys = models.JSONField(default=list, blank=True)
    files_deleted_at = models.DateTimeField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    blurhash = models.CharField(max_length=100, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    # SHA-256 of the original the moderation checked; the AI content task refuses other bytes.
    media_sha256 = models.CharField(max_length=64, blank=True)
    dhash = models.BigIntegerField(null=True, blank=True)
    generation_settings = models.JSONField(default=dict, blank=True)
    duplicate_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    processing_uuid = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    processing_complete = models.BooleanField(default=False, db_index=True)
    processing_completed_at = models.DateTimeField(null=True, blank=True)
    ai_attempts = models.PositiveSmallIntegerField(default=0)
    # Set while an AI task is queued and has not started: a retry then queues no second one.
    ai_queued_at = models.DateTimeField(null=True, blank=True)
    ai_next_retry_at = models.DateTimeField(null=True, blank=True)
    stuck_requeued_at = models.DateTimeField(null=True, blank=True)

    view_count = models.PositiveIntegerField(default=0)
    # Kept by the database, never written by save() (see DATABASE_MAINTAINED): on PostgreSQL a
    # trigger fills the weighted full-text document (title, tags and generator, description,
    # prompt text); triggers on the likes table keep like_count; the trending task (likes and
    # views of the last 7 days) sets trending_score.
    search_vector = SearchVectorField(null=True, editable=False)
    like_count = models.PositiveIntegerField(default=0, editable=False)
    trending_score = models.PositiveIntegerField(default=0, editable=False)
    created_on = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_on = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_on"]
        indexes = [
            models.Index(fields=["author", "-created_on"], name="prompt_author_created"),
            # Keyset pagination of the public feeds: (sort value, id) scanned backwards from the
            # cursor, over public prompts only.
            models.Index(fields=["created_on", "id"], name="prompt_feed_newest", condition=PUBLIC),
            models.Index(fields=["like_count", "id"], name="prompt_feed_liked", condition=PUBLIC),
            models.Index(fields=["trending_score", "id"], name="prompt_feed_trending", condition=PUBLIC),
            models.Index(fields=["ai_generator", "created_on", "id"], name="prompt_feed_generator", condition=PUBLIC),
            models.Index(fields=["author", "created_on", "id"], name="prompt_feed_author", condition=PUBLIC),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_deleted=False) | Q(deleted_at__isnull=False),
                name="prompt_deleted_has_timestamp",
            ),
            models.CheckConstraint(
                condition=Q(status=0) | Q(slug__isnull=False),
                name="prompt_published_has_slug",
            ),
        ]

    DATABASE_MAINTAINED = ("search_vector", "like_count", "trending_score")

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        # A full save() of an instance loaded a moment ago would write back a like count or a
        # document the database has changed since; leave the database's own columns alone.
        if not self._state.adding and kwargs.get("update_fields") is None and not kwargs.get("force_insert"):
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name not in self.DATABASE_MAINTAINED
            ]
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        if self.slug:
            return reverse("prompt_detail", kwargs={"slug": self.slug})
        return reverse("processing_page", kwargs={"processing_uuid": self.processing_uuid})

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED and not self.is_deleted

    @property
    def is_held(self) -> bool:
        """Held by moderation: waiting for a moderator, or rejected."""
        return self.moderation_status in (self.ModerationStatus.PENDING, self.ModerationStatus.REJECTED)

    @property
    def needs_details(self) -> bool:
        """Title, description or tags are missing. A moderation flag is settled by a moderator, not by details."""
        return self.needs_seo_review and self.seo_review_reason != self.ReviewReason.MODERATION

    def publish_blockers(self, *, as_if_approved: bool = False) -> list[str]:
        """Why this prompt may not be public now, as sentences for staff and authors; [] when nothing stops it.

        The one place that answers "may this prompt be public?" (with `may_be_published`). With
        `as_if_approved`, the answer a moderator's approval would give: the hold, and the trash a
        rejected prompt waits in during its appeal, no longer count.
        """
        blockers = []
        if self.is_deleted and not as_if_approved:
            blockers.append("It is in the trash.")
        if not self.processing_complete:
            blockers.append("It is still being processed.")
        if self.is_held and not as_if_approved:
            blockers.append("It is held by moderation.")
        if self.needs_details or (self.needs_seo_review and not as_if_approved):
            blockers.append("It needs an SEO review first.")
        return blockers

    def may_be_published(self, *, as_if_approved: bool = False) -> bool:
        """Public now if its author asked for that and nothing in `publish_blockers` stops it."""
        return self.publish_requested and not self.publish_blockers(as_if_approved=as_if_approved)

    def restore_blocker(self, *, retention_days: int, now) -> str:
        """Why the author cannot take this prompt out of the trash, or "" when they can."""
        if self.moderation_status == self.ModerationStatus.REJECTED or (
            self.appealed_at is not None and self.moderation_status == self.ModerationStatus.PENDING
        ):
            return "A moderator removed this prompt, so it can't be restored. You can appeal the decision."
        if self.files_deleted_at is not None:
            return "This upload's files were already removed, so it can't be restored."
        if self.deleted_at is None or self.deleted_at < now - timedelta(days=retention_days):
            return "This prompt has been in the trash too long to restore."
        return ""

    @property
    def all_media_keys(self) -> list[str]:
        """Every stored file of this prompt: current keys and those a rename replaced but did not delete yet."""
        return [key for key in self.media_keys.values() if key] + list(self.stale_media_keys)

    @property
    def display_image_url(self) -> str:
        return self.b2_medium_url or self.b2_large_url or self.b2_image_url


class SlugRedirect(models.Model):
    """An old slug that keeps working after a title (and so the slug) changed."""

    old_slug = models.SlugField(max_length=220, unique=True)
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="old_slugs")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.old_slug} -> {self.prompt_id}"


class ModerationDecision(models.Model):
    """The audit trail of moderation: approvals, rejections, appeals and their outcomes."""

    class Action(models.TextChoices):
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        APPEALED = "appealed", "Appealed"
        APPEAL_UPHELD = "appeal_upheld", "Appeal upheld"
        APPEAL_DENIED = "appeal_denied", "Appeal denied"

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="moderation_decisions")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    action = models.CharField(max_length=20, choices=Action.choices)
    note = models.TextField(blank=True)
    # Shown to the author once, on their next visit; set when they have seen it.
    author_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_action_display()} #{self.prompt_id}"


class Like(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="likes")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="likes")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "prompt"], name="like_once")]
        indexes = [models.Index(fields=["created_at"], name="like_created")]

    def __str__(self):
        return f"{self.user_id} likes {self.prompt_id}"


class Comment(models.Model):
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="comments")
    body = models.TextField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return f"Comment by {self.author_id} on {self.prompt_id}"


class Collection(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="collections")
    name = models.CharField(max_length=80)
    prompts = models.ManyToManyField(Prompt, related_name="collections", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="collection_name_per_owner")]

    def __str__(self):
        return self.name


class PromptView(models.Model):
    """ "This visitor's view of this prompt was counted today": one row per prompt, visitor and day
    (the visitor is a keyed hash, see `services.social.visitor_id`); past days are purged daily."""

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="+")
    visitor = models.CharField(max_length=64)
    day = models.DateField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prompt", "visitor", "day"], name="one_view_per_visitor_per_day")
        ]

    def __str__(self):
        return f"{self.prompt_id} seen by {self.visitor[:8]} on {self.day}"


class UsernameSkeleton(models.Model):
    """The UTS #39 skeleton of each username (`services.accounts.username_skeleton`), indexed, so a
    sign-up can be refused when its name looks like an existing one. Kept current on every save of
    a user (`prompts.auth_backends`), whoever makes the user (sign-up, admin, createsuperuser)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="username_skeleton"
    )
    skeleton = models.CharField(max_length=600, db_index=True)

    def __str__(self):
        return self.skeleton


class PromptDailyViews(models.Model):
    """Views of a prompt per day (UTC): what "trending" counts over the last 7 days."""

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="daily_views")
    day = models.DateField()
    views = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["prompt", "day"], name="prompt_views_per_day")]
        indexes = [models.Index(fields=["day"], name="prompt_views_day")]

    def __str__(self):
        return f"{self.prompt_id}: {self.views} views on {self.day}"


class SearchWord(models.Model):
    """Every word the prompts have used (PostgreSQL keeps it with a trigger): the dictionary that
    pg_trgm similarity corrects misspelt query words against."""

    word = models.CharField(max_length=40, primary_key=True)

    def __str__(self):
        return self.word

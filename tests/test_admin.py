"""Staff tools in the admin: the SEO review queue, the moderation queue, the Prompt
actions and the admin index. Prompts are made the real way: upload, submit, the AI task against the
fake OpenAI server (a 500 gives the fallback draft flagged for review)."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone
from django_q.models import OrmQ
from taggit.models import Tag

from prompts import tasks
from prompts.models import ModerationDecision, Prompt, SlugRedirect
from prompts.services import trash
from tests.conftest import csrf_client, make_user
from tests.factories import LONG_PROMPT, submitted_prompt

pytestmark = pytest.mark.django_db

FALLBACK_SLUG = "a-cinematic-vertical-frame-of-a-stylish-young"


@pytest.fixture
def reviewer(staff):
    """The cast's staff member, with the permission the Prompt admin and the queues need."""
    staff.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="prompts", codename__in=["view_prompt", "change_prompt"])
    )
    return staff


@pytest.fixture
def reviewer_client(reviewer):
    return csrf_client(reviewer)


def processed(user, fake_openai, *, ai_fails: bool, age_hours: float = 0, **kwargs) -> Prompt:
    fake_openai.script("content", status=500) if ai_fails else fake_openai.reset()
    prompt = submitted_prompt(user, **kwargs)
    tasks.generate_ai_content(prompt.id)
    if age_hours:
        Prompt.objects.filter(id=prompt.id).update(created_on=timezone.now() - timedelta(hours=age_hours))
    prompt.refresh_from_db()
    return prompt


def text(response) -> str:
    """What a person reads on the page: tags removed, entities decoded, whitespace folded."""
    words = unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).replace("\xa0", " ")
    return " ".join(words.split())


def shown_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


# --- Access ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/admin/seo-review/", "/admin/moderation/", "/admin/seo-review/1/"])
def test_the_queues_are_for_staff_only(alice, reviewer_client, url):
    for client in (csrf_client(), csrf_client(alice)):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == f"/admin/login/?next={url}"
    assert reviewer_client.get("/admin/seo-review/").status_code == 200


def test_staff_without_the_prompt_permission_are_refused(staff, alice, fake_openai):
    prompt = processed(alice, fake_openai, ai_fails=True)
    client = csrf_client(staff)
    assert client.get("/admin/seo-review/").status_code == 403
    assert client.get(f"/admin/seo-review/{prompt.id}/").status_code == 403
    response = client.post_form(f"/admin/moderation/{prompt.id}/decide/", {"decision": "approve"})
    assert response.status_code == 403
    assert "SEO review queue" not in text(client.get("/admin/"))


# --- SEO review queue --------------------------------------------------------------------------


def test_the_queue_lists_exactly_the_flagged_prompts_oldest_first(alice, bob, reviewer_client, fake_openai):
    newer = processed(alice, fake_openai, ai_fails=True, age_hours=2)
    older = processed(
        bob,
        fake_openai,
        ai_fails=True,
        age_hours=5,
        content="an old lighthouse on a stormy cliff at night, oil painting, dramatic waves",
    )
    processed(alice, fake_openai, ai_fails=False)  # the AI succeeded: not in the queue
    trashed = processed(alice, fake_openai, ai_fails=True, content="a trashed prompt that nobody should review")
    trash.cancel_prompt(user=alice, processing_uuid=trashed.processing_uuid)

    page = text(reviewer_client.get("/admin/seo-review/"))
    assert "SEO REVIEW QUEUE (2 prompts need attention)" in page
    assert page.index("#1 – Uploaded 5 hours ago by @bob") < page.index("#2 – Uploaded 2 hours ago by @alice")
    assert page.index(older.title) < page.index(newer.title)
    assert f"Current title: “{newer.title}”" in page and f"Prompt: “{LONG_PROMPT}”" in page
    assert "Reason: AI error" in page and "a trashed prompt" not in page and "Glowing Horizon" not in page
    html = reviewer_client.get("/admin/seo-review/").content.decode()
    assert html.count("Edit &amp; Complete") == 2
    assert f'href="/admin/seo-review/{older.id}/"' in html and f'src="{older.b2_thumb_url}"' in html


def test_completing_a_review_publishes_clears_the_flag_and_keeps_the_old_url(
    alice, reviewer, reviewer_client, fake_openai
):
    prompt = processed(alice, fake_openai, ai_fails=True)
    draft_slug = prompt.slug  # a draft's slug: the title's words and a random part
    assert draft_slug.startswith(f"{FALLBACK_SLUG}-") and prompt.status == Prompt.Status.DRAFT
    form = reviewer_client.get(f"/admin/seo-review/{prompt.id}/")
    html = form.content.decode()
    for label in ("Title:", "Description:", "Tags:"):
        assert re.search(rf'<label for="id_\w+"[^>]*>{label}</label>', html), label
    assert LONG_PROMPT in html and "Complete Review" in html

    tags = list(Tag.objects.filter(name__in=["Fashion", "Vintage", "Cars"]))
    response = reviewer_client.post_form(
        f"/admin/seo-review/{prompt.id}/",
        {
            "title": "Retro Fashion Beside A Classic Car",
            "description": "A woman in 1980s fashion beside a vintage car.",
            "tags": [tag.id for tag in tags],
        },
        follow=True,
    )
    assert response.redirect_chain == [("/admin/seo-review/", 302)]
    assert "“Retro Fashion Beside A Classic Car” is complete and published." in shown_messages(response)
    assert "SEO REVIEW QUEUE (0 prompts need attention)" in text(response)

    prompt.refresh_from_db()
    assert prompt.status == Prompt.Status.PUBLISHED and not prompt.needs_seo_review and prompt.seo_review_reason == ""
    assert prompt.excerpt == "A woman in 1980s fashion beside a vintage car."
    assert sorted(prompt.tags.names()) == ["Cars", "Fashion", "Vintage"]
    assert prompt.slug == "retro-fashion-beside-a-classic-car"
    assert prompt.alt_text.startswith("Retro Fashion Beside A Classic Car - Midjourney Prompt")
    assert SlugRedirect.objects.get(old_slug=draft_slug).prompt == prompt

    visitor = csrf_client()
    assert visitor.get(f"/prompt/{prompt.slug}/").status_code == 200
    moved = visitor.get(f"/prompt/{draft_slug}/")
    assert moved.status_code == 301 and moved["Location"] == "/prompt/retro-fashion-beside-a-classic-car/"
    assert visitor.get("/prompt/no-such-prompt/").status_code == 404
    # an AI retry still queued later finds the prompt complete and leaves the reviewer's details alone
    assert tasks.generate_ai_content(prompt.id)["status"] == "skipped"


def test_completing_keeps_a_draft_when_the_author_asked_for_draft(alice, reviewer_client, fake_openai):
    prompt = processed(alice, fake_openai, ai_fails=True, draft=True)
    draft_slug = prompt.slug
    fashion = Tag.objects.get(name="Fashion")
    response = reviewer_client.post_form(
        f"/admin/seo-review/{prompt.id}/",
        {"title": prompt.title, "description": "A woman beside a classic car.", "tags": [fashion.id]},
        follow=True,
    )
    assert "It stays a draft, as its author asked." in " ".join(shown_messages(response))
    prompt.refresh_from_db()
    assert prompt.status == Prompt.Status.DRAFT and not prompt.needs_seo_review
    assert prompt.slug == draft_slug and not SlugRedirect.objects.exists()  # same title: same slug
    assert csrf_client().get(f"/prompt/{prompt.slug}/").status_code == 404


def test_the_review_form_refuses_more_than_five_tags_and_changes_nothing(alice, reviewer_client, fake_openai):
    prompt = processed(alice, fake_openai, ai_fails=True)
    six = Tag.objects.order_by("name")[:6]
    response = reviewer_client.post_form(
        f"/admin/seo-review/{prompt.id}/",
        {"title": "Six Tags", "description": "Too many tags.", "tags": [tag.id for tag in six]},
    )
    assert response.status_code == 200 and "Choose at most 5 tags." in text(response)
    response = reviewer_client.post_form(f"/admin/seo-review/{prompt.id}/", {"title": "No Details", "description": ""})
    assert "Please write a description." in text(response) and "Please choose at least one tag." in text(response)
    prompt.refresh_from_db()
    assert prompt.needs_seo_review and prompt.title != "Six Tags" and prompt.status == Prompt.Status.DRAFT


def test_a_prompt_held_by_moderation_stays_draft_after_review_until_approved(alice, reviewer_client, fake_openai):
    prompt = processed(alice, fake_openai, ai_fails=True, flagged=True)
    fashion = Tag.objects.get(name="Fashion")
    response = reviewer_client.post_form(
        f"/admin/seo-review/{prompt.id}/",
        {"title": "Retro Fashion Portrait", "description": "A portrait.", "tags": [fashion.id]},
        follow=True,
    )
    assert "It stays a draft until a moderator approves it." in " ".join(shown_messages(response))
    prompt.refresh_from_db()
    assert prompt.status == Prompt.Status.DRAFT and not prompt.needs_seo_review
    reviewer_client.post_form(f"/admin/moderation/{prompt.id}/decide/", {"decision": "approve"})
    prompt.refresh_from_db()
    assert prompt.status == Prompt.Status.PUBLISHED and prompt.moderation_status == "approved"


# --- Moderation queue --------------------------------------------------------------------------


def test_the_moderation_queue_lists_held_prompts_with_their_violations(alice, reviewer_client, fake_openai):
    held = processed(alice, fake_openai, ai_fails=False, flagged=True)
    processed(alice, fake_openai, ai_fails=False)
    assert held.moderation_status == "pending" and held.status == Prompt.Status.DRAFT
    response = reviewer_client.get("/admin/moderation/")
    page = text(response)
    assert "MODERATION QUEUE (1 prompt waiting for a decision)" in page
    assert "Severity: High" in page and "Violations: suggestive, partial nudity" in page
    assert "If approved: It is published." in page and page.count("Uploaded") == 1
    html = response.content.decode()
    assert f'src="{held.b2_medium_url}"' in html
    assert f'<label for="note-{held.id}">Note for the author</label>' in html


def test_approve_publishes_writes_the_audit_row_and_tells_the_author_once(
    alice, reviewer, reviewer_client, fake_openai
):
    prompt = processed(alice, fake_openai, ai_fails=False, flagged=True)
    response = reviewer_client.post_form(
        f"/admin/moderation/{prompt.id}/decide/",
        {"decision": "approve", "note": "Fine: artistic, not explicit."},
        follow=True,
    )
    assert f"Approved “{prompt.title}”: published." in shown_messages(response)
    assert "MODERATION QUEUE (0 prompts waiting for a decision)" in text(response)
    prompt.refresh_from_db()
    assert prompt.moderation_status == "approved" and prompt.is_published
    (decision,) = ModerationDecision.objects.all()
    assert (decision.prompt, decision.actor, decision.action, decision.note) == (
        prompt,
        reviewer,
        "approved",
        "Fine: artistic, not explicit.",
    )

    assert decision.author_seen_at is None
    expected = (
        f"A moderator approved your prompt “{prompt.title}”. It is now published. "
        "Note from the moderator: Fine: artistic, not explicit."
    )
    assert expected not in text(csrf_client(make_user("dave")).get("/"))  # only the author is told
    author = Client()
    author.force_login(alice)
    assert expected in text(author.get("/trash/"))
    assert expected not in text(author.get("/trash/"))
    decision.refresh_from_db()
    assert decision.author_seen_at is not None


def test_approving_a_draft_request_keeps_it_a_draft(alice, reviewer_client, fake_openai):
    prompt = processed(alice, fake_openai, ai_fails=False, flagged=True, draft=True)
    response = reviewer_client.post_form(f"/admin/moderation/{prompt.id}/decide/", {"decision": "approve"}, follow=True)
    assert f"Approved “{prompt.title}”: kept as a draft." in shown_messages(response)
    prompt.refresh_from_db()
    assert prompt.moderation_status == "approved" and prompt.status == Prompt.Status.DRAFT


def test_reject_needs_a_note_then_trashes_and_tells_the_author_once(alice, reviewer, reviewer_client, fake_openai):
    prompt = processed(alice, fake_openai, ai_fails=False, flagged=True)
    response = reviewer_client.post_form(f"/admin/moderation/{prompt.id}/decide/", {"decision": "reject"}, follow=True)
    assert f"“{prompt.title}”: Please write a note for the author: why was it rejected?" in shown_messages(response)
    prompt.refresh_from_db()
    assert prompt.moderation_status == "pending" and not prompt.is_deleted and not ModerationDecision.objects.exists()

    response = reviewer_client.post_form(
        f"/admin/moderation/{prompt.id}/decide/",
        {"decision": "reject", "note": "Explicit content is not allowed."},
        follow=True,
    )
    assert f"Rejected “{prompt.title}”: moved to the author's trash." in shown_messages(response)
    prompt.refresh_from_db()
    assert prompt.moderation_status == "rejected" and prompt.is_deleted and prompt.status == Prompt.Status.DRAFT
    (decision,) = ModerationDecision.objects.all()
    assert (decision.actor, decision.action, decision.note) == (
        reviewer,
        "rejected",
        "Explicit content is not allowed.",
    )
    # a second decision on the same prompt is refused
    reviewer_client.post_form(f"/admin/moderation/{prompt.id}/decide/", {"decision": "approve"})
    assert ModerationDecision.objects.count() == 1

    author = Client()
    author.force_login(alice)
    expected = (
        f"A moderator rejected your prompt “{prompt.title}”. It was moved to your trash. "
        "Note from the moderator: Explicit content is not allowed."
    )
    assert expected in text(author.get("/"))
    assert expected not in text(author.get("/"))


# --- Prompt changelist actions -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the tasks are queued on commit
def test_retry_ai_queues_exactly_one_task_per_eligible_prompt(alice, reviewer_client, fake_openai):
    failed = [processed(alice, fake_openai, ai_fails=True) for _ in range(2)]
    fine = processed(alice, fake_openai, ai_fails=False)
    OrmQ.objects.all().delete()  # the tasks queued while making them
    response = reviewer_client.post_form(
        "/admin/prompts/prompt/",
        {"action": "retry_ai", "_selected_action": [p.id for p in [*failed, fine]]},
        follow=True,
    )
    assert "2 prompts queued for AI retry." in shown_messages(response)
    assert "1 prompt skipped: This prompt already has its details." in shown_messages(response)
    queued = [t.task["args"] for t in OrmQ.objects.all() if t.func() == "prompts.tasks.generate_ai_content"]
    assert sorted(queued) == sorted([(p.id,) for p in failed])
    # the queued task runs and fills in the details
    fake_openai.reset()
    assert tasks.generate_ai_content(failed[0].id)["status"] == "success"
    failed[0].refresh_from_db()
    assert failed[0].is_published and not failed[0].needs_seo_review


def test_bulk_approve_reject_and_publish_report_counts(alice, reviewer, reviewer_client, fake_openai):
    held = [processed(alice, fake_openai, ai_fails=False, flagged=True) for _ in range(2)]
    draft = processed(alice, fake_openai, ai_fails=False, draft=True)
    response = reviewer_client.post_form(
        "/admin/prompts/prompt/",
        {"action": "approve_selected", "_selected_action": [held[0].id, draft.id]},
        follow=True,
    )
    assert shown_messages(response) == [
        "1 prompt approved.",
        "1 prompt skipped: This prompt is not waiting for moderation.",
    ]

    # reject asks for a note on a confirmation page first
    page = reviewer_client.post_form(
        "/admin/prompts/prompt/", {"action": "reject_selected", "_selected_action": [held[1].id]}
    )
    assert page.status_code == 200 and "Note for the author" in text(page)
    assert not ModerationDecision.objects.filter(action="rejected").exists()
    page = reviewer_client.post_form(
        "/admin/prompts/prompt/",
        {"action": "reject_selected", "_selected_action": [held[1].id], "confirm": "yes", "note": ""},
    )
    assert "Please write a note for the authors" in text(page)
    response = reviewer_client.post_form(
        "/admin/prompts/prompt/",
        {"action": "reject_selected", "_selected_action": [held[1].id], "confirm": "yes", "note": "Not allowed."},
        follow=True,
    )
    assert "1 prompt rejected and moved to the trash." in shown_messages(response)
    held[1].refresh_from_db()
    assert held[1].is_deleted and held[1].moderation_status == "rejected"

    flagged = processed(alice, fake_openai, ai_fails=True)
    response = reviewer_client.post_form(
        "/admin/prompts/prompt/",
        {"action": "publish_selected", "_selected_action": [draft.id, flagged.id, held[1].id]},
        follow=True,
    )
    assert sorted(shown_messages(response)) == sorted(
        [
            "1 prompt skipped: Its author chose to keep it as a draft.",
            "1 prompt skipped: It needs an SEO review first.",
            "1 prompt skipped: This prompt is in the trash.",
        ]
    )


def test_the_prompt_changelist_and_the_other_admin_pages_render(alice, reviewer_client, fake_openai, django_user_model):
    prompt = processed(alice, fake_openai, ai_fails=True)
    page = reviewer_client.get("/admin/prompts/prompt/?needs_seo_review__exact=1&q=cinematic")
    assert page.status_code == 200 and prompt.title in text(page)
    assert reviewer_client.get(f"/admin/prompts/prompt/{prompt.id}/change/").status_code == 200
    superuser = django_user_model.objects.create_superuser("root", password="x")
    admin = csrf_client(superuser)
    for url in [
        "/admin/prompts/upload/",
        "/admin/prompts/moderationdecision/",
        "/admin/prompts/slugredirect/",
        "/admin/prompts/like/",
        "/admin/prompts/comment/",
        "/admin/prompts/collection/",
        "/admin/django_q/failure/",
        "/admin/django_q/ormq/",
        f"/admin/prompts/upload/{prompt.upload_id}/change/",
    ]:
        assert admin.get(url).status_code == 200, url


# --- Admin index -------------------------------------------------------------------------------


def test_the_admin_index_shows_both_queues_with_their_counts(alice, reviewer_client, fake_openai):
    processed(alice, fake_openai, ai_fails=True)
    processed(alice, fake_openai, ai_fails=True)
    processed(alice, fake_openai, ai_fails=False, flagged=True)
    response = reviewer_client.get("/admin/")
    page = text(response)
    assert "SEO review queue 2 prompts need attention" in page
    assert "Moderation queue 1 prompt waiting for a decision" in page
    html = response.content.decode()
    assert 'href="/admin/seo-review/"' in html and 'href="/admin/moderation/"' in html

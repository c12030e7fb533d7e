"""Issue 18, the flow a person sees (server side): an AI answer without a fitting tag publishes, a
draft says why it is a draft and can be published from its page, the processing page shows the
outcome, Like and Save answer JSON for the page's fetch, comments say "just now"."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from prompts import tasks
from prompts.models import Collection, Comment, Prompt, SlugRedirect
from prompts.services import ai_content
from tests.conftest import csrf_client
from tests.factories import submitted_prompt

pytestmark = pytest.mark.django_db

NO_MATCHING_TAG = {
    "title": "Copper Kettle On A Winter Windowsill",
    "description": "A copper kettle steams beside a frosted window.",
    "tags": ["Kettles", "Frost On Glass"],  # nothing in the vocabulary
    "relevance_score": 0.9,
    "relevance_explanation": "fits",
}


def test_an_ai_answer_without_a_matching_tag_publishes_when_publish_was_chosen(alice, alice_client, fake_openai):
    fake_openai.script("content", NO_MATCHING_TAG)
    prompt = submitted_prompt(alice)
    assert tasks.generate_ai_content(prompt.id)["status"] == "success"
    prompt.refresh_from_db()
    assert prompt.status == Prompt.Status.PUBLISHED and not prompt.needs_seo_review
    assert prompt.title == "Copper Kettle On A Winter Windowsill"
    assert prompt.slug == "copper-kettle-on-a-winter-windowsill"  # the clean public slug
    assert prompt.tags.count() == 0
    answer = alice_client.get(f"/api/prompt/status/{prompt.processing_uuid}/").json()
    assert answer["success"] is True and answer["is_draft"] is False and "needs_review" not in answer
    assert prompt not in ai_content.limited_prompts(user=alice)


def test_a_missing_description_still_gives_limited_details(alice, fake_openai):
    fake_openai.script("content", {**NO_MATCHING_TAG, "description": ""})
    prompt = submitted_prompt(alice)
    assert tasks.generate_ai_content(prompt.id)["status"] == "partial"
    prompt.refresh_from_db()
    assert prompt.status == Prompt.Status.DRAFT and prompt.seo_review_reason == Prompt.ReviewReason.PARTIAL


def drafted(alice, fake_openai) -> Prompt:
    """A prompt the author saved as a draft, with its AI details."""
    prompt = submitted_prompt(alice, draft=True)
    tasks.generate_ai_content(prompt.id)
    prompt.refresh_from_db()
    assert prompt.status == Prompt.Status.DRAFT and not prompt.slug_public
    return prompt


def test_the_draft_page_says_why_and_publish_makes_it_public_under_its_clean_slug(alice, alice_client, fake_openai):
    prompt = drafted(alice, fake_openai)
    draft_slug = prompt.slug
    page = alice_client.get(f"/prompt/{draft_slug}/").content.decode()
    assert "Why it's a draft" in page and "You chose “Save as draft”." in page
    assert f'action="/prompt/publish/{prompt.processing_uuid}/"' in page

    response = alice_client.post_form(f"/prompt/publish/{prompt.processing_uuid}/")
    prompt.refresh_from_db()
    assert prompt.status == Prompt.Status.PUBLISHED and prompt.publish_requested and prompt.slug_public
    assert prompt.slug == "glowing-horizon-over-a-quiet-dreamlike-scene"
    assert response.status_code == 302 and response["Location"] == f"/prompt/{prompt.slug}/"
    assert SlugRedirect.objects.get(old_slug=draft_slug).prompt_id == prompt.id
    assert alice_client.get(f"/prompt/{draft_slug}/")["Location"] == f"/prompt/{prompt.slug}/"
    published_page = alice_client.get(f"/prompt/{prompt.slug}/").content.decode()
    assert "Why it's a draft" not in published_page and "/prompt/publish/" not in published_page


def test_publish_is_for_the_author_only_by_post_with_csrf(alice, bob, alice_client, fake_openai):
    prompt = drafted(alice, fake_openai)
    url = f"/prompt/publish/{prompt.processing_uuid}/"
    assert csrf_client(bob).post_form(url).status_code == 404
    assert csrf_client().post(url).status_code == 403  # no token, no session
    assert alice_client.get(url).status_code == 405
    assert alice_client.post(url).status_code == 403  # the session without the CSRF token
    prompt.refresh_from_db()
    assert prompt.status == Prompt.Status.DRAFT


def test_publish_refuses_what_publish_blockers_stop_and_the_page_offers_complete_details(
    alice, alice_client, fake_openai
):
    fake_openai.script("content", status=500, times=1)
    prompt = submitted_prompt(alice)
    assert tasks.generate_ai_content(prompt.id)["status"] == "fallback"
    prompt.refresh_from_db()
    page = alice_client.get(f"/prompt/{prompt.slug}/").content.decode()
    assert "We couldn&#x27;t generate its title or description automatically" in page
    assert "Complete details" in page and "/prompt/publish/" not in page

    response = alice_client.post_form(f"/prompt/publish/{prompt.processing_uuid}/", follow=True)
    prompt.refresh_from_db()
    assert prompt.status == Prompt.Status.DRAFT
    assert "can&#x27;t be published yet. It needs an SEO review first." in response.content.decode()


def test_the_processing_page_of_a_finished_prompt_shows_the_outcome_and_links_to_it(alice, alice_client, fake_openai):
    prompt = submitted_prompt(alice)
    waiting = alice_client.get(f"/prompt/processing/{prompt.processing_uuid}/").content.decode()
    assert re.search(r'id="outcome"[^>]*\bhidden\b', waiting)
    tasks.generate_ai_content(prompt.id)
    prompt.refresh_from_db()
    page = alice_client.get(f"/prompt/processing/{prompt.processing_uuid}/").content.decode()
    outcome = re.search(r'<section class="panel outcome ok" id="outcome".*?</section>', page, re.S).group(0)
    assert " hidden" not in outcome.split(">", 1)[0]
    assert "Published" in outcome and f'href="/prompt/{prompt.slug}/"' in outcome
    # The way on comes before Delete, which is last.
    actions = page[page.index('<div class="actions') :]
    assert actions.index("Edit") < actions.index("Delete")
    assert page.index('id="outcome"') < page.index("Delete</button>")


def test_like_and_save_answer_json_for_the_page_and_redirect_back_to_the_buttons_without_it(alice, bob, fake_openai):
    prompt = submitted_prompt(alice)
    tasks.generate_ai_content(prompt.id)
    prompt.refresh_from_db()
    client = csrf_client(bob)
    liked = client.post_form(f"/prompt/{prompt.slug}/like/", HTTP_ACCEPT="application/json")
    assert liked.json() == {"liked": True, "likes": 1}
    plain = client.post_form(f"/prompt/{prompt.slug}/like/")
    assert plain["Location"] == f"/prompt/{prompt.slug}/#actions"

    saved = client.post_form(f"/prompt/{prompt.slug}/save/", {"new_collection": "Cosy"}, HTTP_ACCEPT="application/json")
    assert saved.json() == {"message": "Saved to “Cosy”.", "collection": "Cosy", "saved_in": ["Cosy"]}
    refused = client.post_form(f"/prompt/{prompt.slug}/save/", {"collection": "999999"}, HTTP_ACCEPT="application/json")
    assert refused.status_code == 404 and refused.json() == {
        "error": "Choose one of your collections or name a new one."
    }
    assert client.post_form(f"/prompt/{prompt.slug}/save/", {"new_collection": "Cosy"})["Location"].endswith("#save")

    Collection.objects.create(owner=bob, name="Other")
    page = client.get(f"/prompt/{prompt.slug}/").content.decode()
    assert "Already saved in: Cosy" in page and "Cosy (saved here)" in page and ">Other</option>" in page


def test_the_collection_form_without_collections_asks_for_a_name_not_an_or(alice, bob, fake_openai):
    prompt = submitted_prompt(alice)
    tasks.generate_ai_content(prompt.id)
    prompt.refresh_from_db()
    page = csrf_client(bob).get(f"/prompt/{prompt.slug}/").content.decode()
    assert "Name a new collection" in page and "Or name a new collection" not in page
    assert "Not in any of your collections yet." in page


def test_a_fresh_comment_says_just_now_and_an_older_one_its_age(alice, bob, fake_openai):
    prompt = submitted_prompt(alice)
    tasks.generate_ai_content(prompt.id)
    prompt.refresh_from_db()
    Comment.objects.create(author=bob, prompt=prompt, body="Lovely light")
    old = Comment.objects.create(author=bob, prompt=prompt, body="Older")
    Comment.objects.filter(id=old.id).update(created_at=timezone.now() - timedelta(minutes=5))
    page = csrf_client(bob).get(f"/prompt/{prompt.slug}/").content.decode()
    assert "just now" in page and "5\xa0minutes ago" in page
    assert "0\xa0minutes ago" not in page

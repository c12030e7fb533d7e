"""Appeals: once per decision, seen by moderators, the outcome told to the author, all kept as an audit trail."""

import pytest
from django.contrib.auth.models import Permission

from prompts import tasks
from prompts.models import ModerationDecision, Prompt
from prompts.services import review, submission, trash
from tests.conftest import csrf_client
from tests.factories import ready_upload_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def moderator(staff):
    staff.user_permissions.add(Permission.objects.get(codename="change_prompt"))
    return staff


def held_prompt(user) -> Prompt:
    from prompts.models import Upload

    upload = ready_upload_for(user)
    Upload.objects.filter(id=upload.id).update(moderation_action="review", moderation_severity="high")
    prompt = submission.submit_prompt(
        user=user, upload_id=upload.id, content="a beach at night", ai_generator="flux", save_as_draft=False
    )
    tasks.generate_ai_content(prompt.id)
    return Prompt.objects.get(id=prompt.id)


def test_a_held_prompt_can_be_appealed_once(alice, fake_openai):
    prompt = held_prompt(alice)
    client = csrf_client(alice)
    page = client.get(f"/prompt/{prompt.slug}/").content.decode()
    assert "Held for review." in page and "Send appeal" in page
    response = client.post_form(
        f"/prompt/appeal/{prompt.processing_uuid}/", {"message": "It is a painting of a beach."}, follow=True
    )
    assert "A moderator will look at your appeal" in response.content.decode()
    prompt.refresh_from_db()
    assert prompt.appeal_message == "It is a painting of a beach." and prompt.appealed_at is not None
    response = client.post_form(f"/prompt/appeal/{prompt.processing_uuid}/", {"message": "again"}, follow=True)
    assert "already appealed" in response.content.decode()
    assert ModerationDecision.objects.filter(prompt=prompt, action="appealed").count() == 1


def test_a_rejected_prompt_waits_in_the_trash_for_its_appeal_and_comes_back_when_upheld(alice, moderator, fake_openai):
    prompt = held_prompt(alice)
    review.reject_moderation(prompt=prompt, moderator=moderator, note="Looks explicit.")
    client = csrf_client(alice)
    trash_page = client.get("/trash/").content.decode()
    assert "Rejected by a moderator." in trash_page and "Send appeal" in trash_page and ">Restore<" not in trash_page
    with pytest.raises(Exception, match="can't be restored"):
        trash.restore_prompt(user=alice, prompt_id=prompt.id)
    client.post_form(
        f"/prompt/appeal/{prompt.processing_uuid}/",
        {"message": "It is a classical statue.", "back": "trash"},
        follow=True,
    )
    # the appeal shows in the moderators' queue, and the cleanup leaves the prompt alone meanwhile
    queue = csrf_client(moderator).get("/admin/moderation/").content.decode()
    assert "It is a classical statue." in queue
    from datetime import timedelta

    from django.utils import timezone

    Prompt.objects.filter(id=prompt.id).update(deleted_at=timezone.now() - timedelta(days=10))
    assert trash.cleanup_deleted_prompts()["deleted"] == 0
    review.approve_moderation(prompt=Prompt.objects.get(id=prompt.id), moderator=moderator, note="Fair enough.")
    prompt.refresh_from_db()
    assert not prompt.is_deleted and prompt.status == Prompt.Status.PUBLISHED
    actions = list(
        ModerationDecision.objects.filter(prompt=prompt).order_by("created_at").values_list("action", flat=True)
    )
    assert actions == ["rejected", "appealed", "appeal_upheld"]
    first_visit = client.get("/").content.decode()
    assert "Your appeal was accepted for" in first_visit and "Fair enough." in first_visit
    assert "Your appeal was accepted" not in client.get("/").content.decode()  # told once


def test_a_denied_appeal_is_final(alice, moderator, fake_openai):
    prompt = held_prompt(alice)
    review.submit_appeal(user=alice, prompt=prompt, message="Please look again.")
    review.reject_moderation(prompt=Prompt.objects.get(id=prompt.id), moderator=moderator, note="Still not allowed.")
    prompt.refresh_from_db()
    assert prompt.is_deleted and prompt.moderation_status == "rejected"
    assert ModerationDecision.objects.filter(prompt=prompt, action="appeal_denied").exists()
    with pytest.raises(Exception, match="already appealed"):
        review.submit_appeal(user=alice, prompt=prompt, message="one more time")
    from django.test import Client

    visitor = Client()
    visitor.force_login(alice)
    assert "Your appeal for “" in visitor.get("/").content.decode()


def test_only_the_author_can_appeal_and_only_a_moderation_decision(alice, bob, fake_openai):
    prompt = held_prompt(alice)
    assert (
        csrf_client(bob)
        .post_form(f"/prompt/appeal/{prompt.processing_uuid}/", {"message": "mine"}, follow=True)
        .status_code
        == 404
    )
    upload = ready_upload_for(alice)
    normal = submission.submit_prompt(
        user=alice, upload_id=upload.id, content="x", ai_generator="flux", save_as_draft=False
    )
    with pytest.raises(Exception, match="no moderation decision"):
        review.submit_appeal(user=alice, prompt=normal, message="why not")

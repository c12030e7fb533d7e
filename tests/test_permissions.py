"""One permission check everywhere: `is_staff` alone (admin access, no permission) reads no one's
unpublished prompt, deletes no one's comment and works no queue; "Can change prompt" does all three."""

import pytest
from django.contrib.auth.models import Permission

from prompts.models import Comment, Prompt
from tests.conftest import csrf_client, make_user
from tests.test_public_site import publish

pytestmark = pytest.mark.django_db


def post(client, url, data=None):
    return client.post(url, data or {}, HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)


@pytest.fixture
def moderator(db):
    user = make_user("mod", staff=True)
    user.user_permissions.add(Permission.objects.get(codename="change_prompt"))
    return user


def unpublished(alice):
    return {
        "draft": publish(alice, title="Secret Draft", status=Prompt.Status.DRAFT),
        "held": publish(
            alice,
            title="Held Prompt",
            status=Prompt.Status.DRAFT,
            moderation_status=Prompt.ModerationStatus.PENDING,
        ),
        "trashed": publish(alice, title="Trashed Prompt", deleted=True),
    }


def test_staff_without_the_permission_read_no_unpublished_prompt(alice, staff, moderator):
    for name, prompt in unpublished(alice).items():
        url = f"/prompt/{prompt.slug}/"
        assert csrf_client(staff).get(url).status_code == 404, name
        assert csrf_client(moderator).get(url).status_code == 200, name


def test_staff_without_the_permission_delete_no_comment(alice, bob, staff, moderator):
    prompt = publish(alice)
    post(csrf_client(bob), f"/prompt/{prompt.slug}/comments/", {"body": "nice"})
    comment = Comment.objects.get()
    page = csrf_client(staff).get(f"/prompt/{prompt.slug}/").content.decode()
    assert f"/comments/{comment.id}/delete/" not in page
    assert post(csrf_client(staff), f"/comments/{comment.id}/delete/").status_code == 404
    assert Comment.objects.filter(id=comment.id).exists()
    page = csrf_client(moderator).get(f"/prompt/{prompt.slug}/").content.decode()
    assert f"/comments/{comment.id}/delete/" in page
    assert post(csrf_client(moderator), f"/comments/{comment.id}/delete/").status_code == 302
    assert not Comment.objects.exists()


@pytest.mark.parametrize("url", ["/admin/seo-review/", "/admin/moderation/"])
def test_the_queues_ask_the_same_permission(staff, moderator, url):
    assert csrf_client(staff).get(url).status_code == 403
    assert csrf_client(moderator).get(url).status_code == 200


def test_a_superuser_has_it_and_an_inactive_moderator_does_not(alice, moderator):
    draft = unpublished(alice)["draft"]
    root = make_user("root", staff=True)
    root.is_superuser = True
    root.save()
    assert csrf_client(root).get(f"/prompt/{draft.slug}/").status_code == 200
    moderator.is_active = False
    moderator.save()
    assert csrf_client(moderator).get(f"/prompt/{draft.slug}/").status_code == 404

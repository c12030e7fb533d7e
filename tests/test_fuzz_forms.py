"""Every form field of every page under generated input (hypothesis), as tests/test_fuzz_api.py does
for the JSON API: odd Unicode, NUL, huge text, numbers no column can hold, several values for one
field, missing and unknown fields — posted by the cast to the real views, admin pages included.
Whatever comes in, the answer is never a server error."""

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from taggit.models import Tag

from prompts import tasks
from prompts.models import Comment, Prompt
from prompts.services import ai_content, submission, trash
from tests.conftest import csrf_client, make_user
from tests.factories import ready_upload_for
from tests.test_public_site import publish

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
HUGE = "999999999999999999999999999999"

odd_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=200)
scalars = st.one_of(
    st.text(max_size=30),
    odd_text,
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.integers(min_value=1_000, max_value=30_000).map(lambda n: "ü" * n),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            HUGE,
            "-1",
            "0",
            "1e400",
            "NaN",
            "on",
            "true",
            "approve",
            "reject",
            "trash",
            "flux",
            "midjourney",
            "../../etc/passwd",
            "<script>alert(1)</script>",
            "\ud7ff",
            "𝐚lice",
        ]
    ),
)
values = st.one_of(scalars, st.lists(scalars, min_size=0, max_size=4))


def form(*names, **specific):
    """Some of the page's fields (each holding anything, or one of `specific`'s values) and maybe others."""
    known = st.fixed_dictionaries(
        {},
        optional={name: st.one_of(values, specific.get(name, values)) for name in names},
    )
    extra = st.dictionaries(st.text(min_size=1, max_size=10), values, max_size=2)
    return st.builds(lambda k, e: {**e, **k}, known, extra)


def post(client, url, data):
    data = {key.replace("\x00", ""): value for key, value in data.items()}
    if "csrftoken" in client.cookies:
        data["csrfmiddlewaretoken"] = client.cookies["csrftoken"].value
    return client.post(url, data)


def assert_no_server_error(response):
    assert response.status_code < 500, (response.status_code, response.content[:300])


def fuzz_posts(client, url, data, *, clear_cache=False):
    @FUZZ
    @given(data)
    def check(fields):
        if clear_cache:
            cache.clear()  # rate limits (log-in, comments) would otherwise answer most examples
        assert_no_server_error(post(client() if callable(client) else client, url, fields))

    check()


@pytest.fixture
def cast(alice, bob, settings):
    """A complete prompt of alice (editable), a published one of bob, one in the SEO queue, one trashed."""
    settings.UPLOAD_HOURLY_PRESIGN_LIMIT = 10_000
    complete = submission.submit_prompt(
        user=alice,
        upload_id=ready_upload_for(alice).id,
        content="a fox in the snow",
        ai_generator="flux",
        save_as_draft=False,
    )
    tasks.generate_ai_content(complete.id)
    flagged = submission.submit_prompt(
        user=bob,
        upload_id=ready_upload_for(bob).id,
        content="a hare",
        ai_generator="flux",
        save_as_draft=False,
    )
    ai_content.apply_fallback(prompt_id=flagged.id, reason=Prompt.ReviewReason.AI_ERROR)
    trashed = submission.submit_prompt(
        user=alice,
        upload_id=ready_upload_for(alice).id,
        content="an owl",
        ai_generator="flux",
        save_as_draft=True,
    )
    tasks.generate_ai_content(trashed.id)
    trash.trash_prompt(prompt=Prompt.objects.get(id=trashed.id))
    moderator = make_user("mod", staff=True)
    moderator.user_permissions.add(Permission.objects.get(codename="change_prompt"))
    return {
        "prompt": Prompt.objects.get(id=complete.id),
        "published": publish(bob),
        "flagged": Prompt.objects.get(id=flagged.id),
        "trashed": Prompt.objects.get(id=trashed.id),
        "moderator": moderator,
        "tag_ids": st.lists(
            st.sampled_from([str(i) for i in Tag.objects.values_list("id", flat=True)[:20]]),
            max_size=7,
        ),
        "ready": str(ready_upload_for(alice).id),
    }


def test_the_tag_id_no_column_can_hold_is_a_form_error(alice, cast):
    """SQLite raised OverflowError (a 500) for it, on the edit form and the SEO review form."""
    prompt, flagged = cast["prompt"], cast["flagged"]
    response = post(
        csrf_client(alice),
        f"/prompt/edit/{prompt.processing_uuid}/",
        {
            "title": "New title",
            "content": "a fox",
            "ai_generator": "flux",
            "tags": [HUGE],
        },
    )
    assert response.status_code == 200 and "Choose tags from the list." in response.content.decode()
    assert Prompt.objects.get(id=prompt.id).title == prompt.title
    response = post(
        csrf_client(cast["moderator"]),
        f"/admin/seo-review/{flagged.id}/",
        {
            "title": "A title",
            "description": "A description",
            "tags": [HUGE, "1"],
        },
    )
    assert response.status_code == 200 and "Choose tags from the list." in response.content.decode()
    assert Prompt.objects.get(id=flagged.id).needs_seo_review


def test_anonymous_forms_answer_anything_without_a_server_error(db):
    make_user("alice")
    pages = [
        ("/accounts/signup/", form("username", "password1", "password2")),
        ("/accounts/login/", form("username", "password", "next")),
        ("/admin/login/", form("username", "password", "next")),
        ("/accounts/password_reset/", form("email")),
    ]
    for url, data in pages:
        fuzz_posts(csrf_client, url, data, clear_cache=True)


def test_the_authors_forms_answer_anything_without_a_server_error(alice, cast):
    client = csrf_client(alice)
    prompt, published, trashed = cast["prompt"], cast["published"], cast["trashed"]
    pages = [
        (
            "/upload/submit/",
            form(
                "upload_id",
                "content",
                "ai_generator",
                "save_as_draft",
                upload_id=st.just(cast["ready"]),
            ),
        ),
        (f"/prompt/{published.slug}/comments/", form("body")),
        (f"/prompt/{published.slug}/save/", form("collection", "new_collection")),
        (f"/prompt/{published.slug}/like/", form()),
        (
            f"/prompt/edit/{prompt.processing_uuid}/",
            form(
                "title",
                "description",
                "tags",
                "content",
                "ai_generator",
                "publish",
                tags=cast["tag_ids"],
            ),
        ),
        (f"/prompt/appeal/{trashed.processing_uuid}/", form("message", "back")),
        (f"/trash/{trashed.id}/restore/", form()),
        ("/me/retry-all/", form()),
        (
            "/accounts/password_change/",
            form("old_password", "new_password1", "new_password2"),
        ),
    ]
    for url, data in pages:
        fuzz_posts(client, url, data, clear_cache=True)
    assert Comment.objects.exists()  # some examples were good comments, not only refusals


def test_the_staff_forms_answer_anything_without_a_server_error(cast):
    client = csrf_client(cast["moderator"])
    flagged = cast["flagged"]
    pages = [
        (
            f"/admin/seo-review/{flagged.id}/",
            form("title", "description", "tags", tags=cast["tag_ids"]),
        ),
        (f"/admin/moderation/{cast['prompt'].id}/decide/", form("decision", "note")),
    ]
    for url, data in pages:
        fuzz_posts(client, url, data)


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/tag/photography/",
        "/generator/flux/",
        "/u/alice/",
        "/collections/",
        "/trash/",
        "/admin/seo-review/",
        "/admin/moderation/",
        "/admin/prompts/prompt/",
        "/admin/prompts/comment/",
    ],
)
def test_query_strings_of_every_page_answer_anything_without_a_server_error(alice, cast, url):
    client = csrf_client(cast["moderator"]) if url.startswith("/admin/") else csrf_client(alice)

    @settings(FUZZ, max_examples=12)
    @given(
        form(
            "page",
            "q",
            "o",
            "status",
            "is_deleted__exact",
            "needs_seo_review__exact",
            "ai_generator",
            "p",
        )
    )
    def check(params):
        params = {key.replace("\x00", ""): value for key, value in params.items()}
        assert_no_server_error(client.get(url, params))

    check()

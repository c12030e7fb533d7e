from django.core.management import call_command

from prompts.models import Prompt
from tests.conftest import csrf_client


def make_prompt(author, *, title, slug=None, published=True, deleted=False):
    from django.utils import timezone

    return Prompt.objects.create(
        author=author,
        content="prompt text",
        ai_generator="flux",
        title=title,
        slug=slug,
        status=Prompt.Status.PUBLISHED if published else Prompt.Status.DRAFT,
        processing_complete=True,
        is_deleted=deleted,
        deleted_at=timezone.now() if deleted else None,
    )


def test_home_lists_published_prompts_newest_first_and_hides_drafts_and_trash(alice, client):
    make_prompt(alice, title="Older Fox", slug="older-fox")
    make_prompt(alice, title="Secret Draft", slug="secret-draft", published=False)
    make_prompt(alice, title="Trashed One", slug="trashed-one", deleted=True)
    make_prompt(alice, title="Newer Owl", slug="newer-owl")
    html = client.get("/").content.decode()
    assert html.index("Newer Owl") < html.index("Older Fox")
    assert "Secret Draft" not in html and "Trashed One" not in html


def test_detail_page_shows_published_prompt_and_hides_drafts_from_others(alice, bob, client):
    make_prompt(alice, title="Newer Owl", slug="newer-owl")
    make_prompt(alice, title="Secret Draft", slug="secret-draft", published=False)
    page = client.get("/prompt/newer-owl/")
    assert page.status_code == 200 and "<h1>Newer Owl</h1>" in page.content.decode()
    assert client.get("/prompt/secret-draft/").status_code == 404
    assert csrf_client(bob).get("/prompt/secret-draft/").status_code == 404
    assert csrf_client(alice).get("/prompt/secret-draft/").status_code == 200


def test_seed_demo_creates_published_prompts_with_real_images_and_is_repeatable(db, client, settings):
    call_command("seed_demo")
    call_command("seed_demo")
    prompts = Prompt.objects.filter(author__username="demo", status=Prompt.Status.PUBLISHED)
    assert prompts.count() == 4
    for prompt in prompts:
        for key in prompt.media_keys.values():
            assert (settings.MEDIA_ROOT / key).stat().st_size > 1000
    home = client.get("/").content.decode()
    assert "Neon Grid City at Night" in home
    thumb = client.get(prompts.first().b2_thumb_url)
    assert thumb.status_code == 200
    # The demo account of a local run can upload at once (its address counts as verified).
    assert client.post("/accounts/login/", {"login": "demo", "password": "promptfinder-demo"}).status_code == 302
    assert client.get("/upload/").status_code == 200

"""The public site: SEO of the detail page, JSON-LD safety, sitemap, robots, lists, likes, comments, collections."""

import json
import re
from html import unescape

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from taggit.models import Tag

from prompts.models import Collection, Comment, Like, Prompt
from prompts.services import seo
from prompts.templatetags.pictures import DETAIL_SIZES
from tests.conftest import csrf_client

HOSTILE = '</script><script>alert("x")</script> & "quotes" \'single\''


def publish(
    author,
    *,
    title="Vintage Fashion Against Urban Backdrop",
    slug=None,
    excerpt="A stylish woman beside a yellow car.",
    generator="midjourney",
    tags=("Photography", "Vintage"),
    status=Prompt.Status.PUBLISHED,
    deleted=False,
    **extra,
):
    prompt = Prompt.objects.create(
        author=author,
        content="a cinematic frame of a woman and a car",
        ai_generator=generator,
        title=title,
        slug=slug or seo.slugify_title(title),
        excerpt=excerpt,
        status=status,
        processing_complete=True,
        is_deleted=deleted,
        deleted_at=timezone.now() if deleted else None,
        width=1200,
        height=900,
        b2_thumb_url="/media/t.jpg",
        b2_medium_url="/media/m.jpg",
        b2_large_url="/media/l.jpg",
        b2_webp_url="/media/w.webp",
        b2_image_url="/media/o.jpg",
        alt_text=seo.alt_text(title=title, generator_label="Midjourney"),
        **extra,
    )
    prompt.tags.set(list(tags))
    return prompt


def ld_blocks(html: str) -> list[dict]:
    return [
        json.loads(block) for block in re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    ]


def meta(html: str, attr: str, name: str) -> str:
    match = re.search(rf'<meta {attr}="{re.escape(name)}" content="([^"]*)"', html)
    return unescape(match.group(1)) if match else ""


# --- SEO helpers ------------------------------------------------------------------------


def test_meta_lengths_cut_at_a_word():
    title = "An Extraordinarily Detailed Portrait Of A Lighthouse Keeper At Dawn In Winter"
    cut = seo.meta_title(title)
    assert len(cut) <= 60 and cut.endswith("…") and title.startswith(cut[:-1])
    assert cut[:-1].split()[-1] in title.split()
    text = "word " * 60
    assert len(seo.meta_description(text)) <= 155
    assert seo.meta_title("Short Title") == "Short Title"
    alt = seo.alt_text(title="x" * 200, generator_label="Stable Diffusion")
    assert len(alt) == 125 and alt.endswith("... - Stable Diffusion Prompt - AI-generated image")


# --- detail page ------------------------------------------------------------------------


@pytest.mark.django_db
def test_detail_page_has_everything_search_engines_and_social_previews_need(alice, client):
    prompt = publish(alice, excerpt="This captivating image features a stylish woman. " * 6)
    html = client.get(f"/prompt/{prompt.slug}/", HTTP_USER_AGENT="Mozilla/5.0").content.decode()
    assert "<title>Vintage Fashion Against Urban Backdrop</title>" in html
    description = meta(html, "name", "description")
    assert 0 < len(description) <= 155
    assert html.count("<h1") == 1
    assert f'<link rel="canonical" href="http://testserver/prompt/{prompt.slug}/">' in html
    assert 'alt="Vintage Fashion Against Urban Backdrop - Midjourney Prompt - AI-generated image"' in html
    assert 'srcset="/media/t.jpg 300w, /media/m.jpg 600w, /media/l.jpg 1200w"' in html
    assert f'sizes="{DETAIL_SIZES}"' in html and 'fetchpriority="high"' in html
    assert 'width="1200" height="900"' in html and '<source type="image/webp"' in html
    assert meta(html, "property", "og:image") == "http://testserver/media/m.jpg"
    assert meta(html, "property", "og:url") == f"http://testserver/prompt/{prompt.slug}/"
    assert meta(html, "name", "twitter:card") == "summary_large_image"
    assert meta(html, "name", "twitter:image").startswith("http://testserver/")
    image, breadcrumb = ld_blocks(html)
    assert image["@type"] == "ImageObject" and image["name"] == prompt.title
    assert (
        image["contentUrl"] == "http://testserver/media/l.jpg"
        and image["thumbnailUrl"] == "http://testserver/media/t.jpg"
    )
    assert image["creator"] == {"@type": "Person", "name": "alice", "url": "http://testserver/u/alice/"}
    assert image["keywords"] == "Photography, Vintage"
    assert [s["interactionType"] for s in image["interactionStatistic"]] == [
        "https://schema.org/LikeAction",
        "https://schema.org/ViewAction",
    ]
    assert [item["name"] for item in breadcrumb["itemListElement"]] == ["Home", "Midjourney Prompts", prompt.title]
    assert '<a href="/tag/photography/">Photography</a>' in html
    assert 'href="/generator/midjourney/"' in html and 'href="/u/alice/"' in html


@pytest.mark.django_db
def test_hostile_ai_text_cannot_break_out_of_the_page_or_the_json_ld(alice, client):
    publish(alice, title=HOSTILE, slug="hostile", excerpt=HOSTILE)
    html = client.get("/prompt/hostile/").content.decode()
    assert '<script>alert("x")</script>' not in html
    assert html.count("</script>") == html.count("<script")  # no block was closed early
    image, breadcrumb = ld_blocks(html)
    assert image["name"] == HOSTILE and image["description"] == HOSTILE
    assert breadcrumb["itemListElement"][2]["name"] == HOSTILE


@pytest.mark.django_db
def test_drafts_and_trash_are_404_for_others_but_visible_to_author_and_staff(alice, bob, staff):
    staff.user_permissions.add(Permission.objects.get(codename="change_prompt"))  # a moderator
    draft = publish(alice, title="Secret Draft", status=Prompt.Status.DRAFT)
    trashed = publish(alice, title="Trashed Prompt", deleted=True)
    for prompt in (draft, trashed):
        url = f"/prompt/{prompt.slug}/"
        assert csrf_client().get(url).status_code == 404
        assert csrf_client(bob).get(url).status_code == 404
        assert csrf_client(alice).get(url).status_code == 200
        assert csrf_client(staff).get(url).status_code == 200


@pytest.mark.django_db
def test_views_are_counted_except_the_author_and_bots(alice, bob):
    prompt = publish(alice)
    url = f"/prompt/{prompt.slug}/"
    csrf_client(bob).get(url, HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64)")
    csrf_client().get(url, HTTP_USER_AGENT="Mozilla/5.0 Safari")
    csrf_client(alice).get(url, HTTP_USER_AGENT="Mozilla/5.0")
    csrf_client().get(url, HTTP_USER_AGENT="Googlebot/2.1 (+http://www.google.com/bot.html)")
    csrf_client().get(url)
    assert Prompt.objects.get(id=prompt.id).view_count == 2


@pytest.mark.django_db
def test_related_prompts_share_tags_or_generator_and_leave_out_drafts(alice, bob, client):
    prompt = publish(alice, tags=("Photography", "Vintage", "Urban"))
    best = publish(bob, title="Three Shared Tags", generator="flux", tags=("Photography", "Vintage", "Urban"))
    some = publish(bob, title="One Shared Tag", generator="flux", tags=("Urban",))
    same_generator = publish(bob, title="Same Generator Only", tags=("Cats",))
    publish(bob, title="Unrelated Prompt", generator="flux", tags=("Cats",))
    publish(bob, title="Related Draft", tags=("Photography",), status=Prompt.Status.DRAFT)
    html = client.get(f"/prompt/{prompt.slug}/").content.decode()
    section = (
        html[html.index("Related prompts") : html.index("More from")]
        if "More from" in html
        else html[html.index("Related prompts") :]
    )
    assert section.index(best.title) < section.index(some.title)
    assert same_generator.title in section
    assert "Unrelated Prompt" not in section and "Related Draft" not in section


@pytest.mark.django_db
def test_detail_and_list_pages_have_bounded_query_counts(alice, bob, django_assert_max_num_queries):
    prompt = publish(alice, tags=("Photography", "Vintage"))
    for index in range(30):
        other = publish(bob, title=f"Other Prompt Number {index}", tags=("Photography",))
        Comment.objects.create(author=bob, prompt=prompt, body=f"comment {index}")
        Like.objects.create(user=bob, prompt=other)
    client = csrf_client(bob)
    with django_assert_max_num_queries(14):
        assert client.get(f"/prompt/{prompt.slug}/", HTTP_USER_AGENT="Mozilla/5.0").status_code == 200
    for url in ("/", "/tag/photography/", "/generator/midjourney/", "/u/bob/", "/?page=2"):
        with django_assert_max_num_queries(8):
            assert client.get(url).status_code == 200


# --- lists ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_tag_generator_and_author_pages_list_only_published_prompts(alice, bob, client):
    publish(alice, title="Published Vintage Car", tags=("Vintage",))
    publish(alice, title="Draft Vintage Car", tags=("Vintage",), status=Prompt.Status.DRAFT)
    publish(alice, title="Deleted Vintage Car", tags=("Vintage",), deleted=True)
    publish(bob, title="Bob's Flux Lake", generator="flux", tags=("Nature",))
    for url, shown, hidden in [
        ("/tag/vintage/", ["Published Vintage Car"], ["Draft Vintage Car", "Deleted Vintage Car", "Lake"]),
        ("/generator/flux/", ["Bob&#x27;s Flux Lake"], ["Vintage Car"]),
        ("/u/alice/", ["Published Vintage Car"], ["Draft Vintage", "Deleted Vintage", "Lake"]),
    ]:
        html = client.get(url).content.decode()
        for title in shown:
            assert title in html, (url, title)
        for title in hidden:
            assert title not in html, (url, title)
        assert f'<link rel="canonical" href="http://testserver{url}">' in html
    html = client.get("/tag/vintage/").content.decode()
    assert "<title>Vintage AI Image Prompts — PromptFinder</title>" in html
    assert client.get("/generator/photoshop/").status_code == 404
    assert client.get("/tag/not-a-tag/").status_code == 404
    assert client.get("/u/nobody/").status_code == 404


@pytest.mark.django_db
def test_home_pages_by_cursor_with_prev_and_next_links(alice, client):
    for index in range(30):
        publish(alice, title=f"Prompt Number {index}")
    first = client.get("/").content.decode()
    next_url = re.search(r'<link rel="next" href="([^"]+)">', first).group(1)
    assert next_url.startswith("/?after=") and 'rel="prev"' not in first
    assert '<link rel="canonical" href="http://testserver/">' in first
    second = client.get(next_url).content.decode()
    prev_url = re.search(r'<link rel="prev" href="([^"]+)">', second).group(1)
    assert prev_url.startswith("/?before=")
    assert f'<link rel="canonical" href="http://testserver{next_url}">' in second
    assert "Prompt Number 5<" in second and "Prompt Number 29<" not in second
    back = client.get(prev_url).content.decode()
    assert "Prompt Number 29<" in back and "Prompt Number 5<" not in back
    assert '<link rel="canonical" href="http://testserver/">' in back  # the first page again


# --- sitemap and robots -----------------------------------------------------------------


@pytest.mark.django_db
def test_sitemap_lists_exactly_the_published_prompts_with_lastmod(alice, client):
    shown = publish(alice, title="Shown In Sitemap", tags=("Vintage",))
    publish(alice, title="Draft Not In Sitemap", status=Prompt.Status.DRAFT)
    publish(alice, title="Deleted Not In Sitemap", deleted=True)
    index = client.get("/sitemap.xml").content.decode()
    assert "/sitemap-prompts.xml" in index and "/sitemap-tags.xml" in index and "/sitemap-generators.xml" in index
    prompts = client.get("/sitemap-prompts.xml").content.decode()
    locations = re.findall(r"<loc>(.*?)</loc>", prompts)
    assert locations == [f"http://testserver/prompt/{shown.slug}/"]
    assert "<lastmod>" in prompts
    assert "http://testserver/tag/vintage/" in client.get("/sitemap-tags.xml").content.decode()
    generators = client.get("/sitemap-generators.xml").content.decode()
    assert re.findall(r"<loc>(.*?)</loc>", generators) == ["http://testserver/generator/midjourney/"]


@pytest.mark.django_db
def test_robots_points_at_the_sitemap_and_keeps_crawlers_out_of_private_pages(client):
    text = client.get("/robots.txt").content.decode()
    assert "Sitemap: http://testserver/sitemap.xml" in text
    for path in ("/upload/", "/prompt/processing/", "/api/", "/admin/", "/accounts/", "/trash/"):
        assert f"Disallow: {path}" in text


# --- likes, comments, collections -------------------------------------------------------


@pytest.mark.django_db
def test_like_toggles_and_needs_login(alice, bob, client):
    prompt = publish(alice)
    assert client.post(f"/prompt/{prompt.slug}/like/")["Location"].startswith("/accounts/login/")
    bob_client = csrf_client(bob)
    bob_client.post_form(f"/prompt/{prompt.slug}/like/")
    assert Like.objects.filter(prompt=prompt).count() == 1
    assert '<span aria-hidden="true">❤️</span> Liked · 1' in bob_client.get(f"/prompt/{prompt.slug}/").content.decode()
    bob_client.post_form(f"/prompt/{prompt.slug}/like/")
    assert Like.objects.filter(prompt=prompt).count() == 0
    draft = publish(alice, title="A Draft", status=Prompt.Status.DRAFT)
    assert bob_client.post_form(f"/prompt/{draft.slug}/like/").status_code == 404


@pytest.mark.django_db
def test_comments_escape_html_and_can_be_deleted_by_author_prompt_owner_or_staff_only(alice, bob, carol, staff):
    staff.user_permissions.add(Permission.objects.get(codename="change_prompt"))  # a moderator
    prompt = publish(alice)
    bob_client = csrf_client(bob)
    bob_client.post_form(f"/prompt/{prompt.slug}/comments/", {"body": "<img src=x onerror=alert(1)> nice"})
    html = csrf_client().get(f"/prompt/{prompt.slug}/").content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt; nice" in html and "<img src=x" not in html
    comment = Comment.objects.get()
    assert csrf_client(carol).post_form(f"/comments/{comment.id}/delete/").status_code == 404
    assert Comment.objects.count() == 1
    csrf_client(alice).post_form(f"/comments/{comment.id}/delete/")  # the prompt's author may
    assert Comment.objects.count() == 0
    bob_client.post_form(f"/prompt/{prompt.slug}/comments/", {"body": "again"})
    csrf_client(staff).post_form(f"/comments/{Comment.objects.get().id}/delete/")
    assert Comment.objects.count() == 0
    bob_client.post_form(f"/prompt/{prompt.slug}/comments/", {"body": "   "})
    assert Comment.objects.count() == 0


@pytest.mark.django_db
def test_save_to_a_new_or_existing_collection_of_your_own_only(alice, bob):
    prompt = publish(alice)
    bob_client = csrf_client(bob)
    bob_client.post_form(f"/prompt/{prompt.slug}/save/", {"new_collection": "Cars I like"})
    collection = Collection.objects.get(owner=bob)
    assert list(collection.prompts.all()) == [prompt]
    alices = Collection.objects.create(owner=alice, name="Alice's")
    bob_client.post_form(f"/prompt/{prompt.slug}/save/", {"collection": str(alices.id)})
    assert alices.prompts.count() == 0
    html = bob_client.get("/collections/").content.decode()
    assert "Cars I like" in html and "1 prompt" in html and "Alice" not in html
    assert bob_client.get(f"/collections/{collection.id}/").status_code == 200
    assert bob_client.get(f"/collections/{alices.id}/").status_code == 404


@pytest.mark.django_db
def test_author_sees_edit_and_delete_others_do_not(alice, bob):
    prompt = publish(alice)
    assert (
        '<span aria-hidden="true">✏️</span> Edit' in csrf_client(alice).get(f"/prompt/{prompt.slug}/").content.decode()
    )
    assert (
        '<span aria-hidden="true">✏️</span> Edit' not in csrf_client(bob).get(f"/prompt/{prompt.slug}/").content.decode()
    )


@pytest.mark.django_db
def test_vocabulary_tag_pages_exist_for_every_tag(client):
    tag = Tag.objects.get(name="Studio Ghibli Style")
    assert client.get(f"/tag/{tag.slug}/").status_code == 200

"""Search and the browse feeds: ranking, query syntax, typos, filters, sorts, keyset pages, what is
never found, query budgets, hostile queries, canonical/noindex. Runs on SQLite (the fallback) and
on PostgreSQL (full text, GIN, pg_trgm) with the same expectations."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.utils import timezone
from taggit.models import Tag

from prompts.models import Comment, Like, Prompt, PromptDailyViews
from prompts.pagination import encode
from prompts.search import feeds, sql, text
from prompts.services import seo, trending

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's own full-text machinery")


def make(
    author,
    title,
    *,
    excerpt="An image.",
    content="an image",
    generator="midjourney",
    tags=(),
    status=Prompt.Status.PUBLISHED,
    **extra,
):
    prompt = Prompt.objects.create(
        author=author,
        title=title,
        slug=seo.slugify_title(title) + f"-{Prompt.objects.count()}",
        excerpt=excerpt,
        content=content,
        ai_generator=generator,
        status=status,
        processing_complete=True,
        b2_thumb_url="/media/t.jpg",
        **extra,
    )
    if tags:
        prompt.tags.set(list(tags))
    return prompt


def feed_slugs(html: str) -> list[str]:
    """The prompts of the page's growing list, in order (not the trending row or related ones)."""
    start = html.index("data-feed-items")
    block = html[start : html.index("</ul>", start)]
    return re.findall(r'<li class="card[^"]*"[^>]*>\s*<a href="/prompt/([^/]+)/"', block)


def link(html: str, rel: str) -> str:
    match = re.search(rf'<link rel="{rel}" href="([^"]+)">', html)
    return unescape(match.group(1)) if match else ""


# --- the query reader and the highlighter ---------------------------------------------------


def test_query_syntax_is_read_like_websearch():
    parsed = text.parse('"Golden hour" -portrait cat or dog -"black cat"')
    assert [[t.text for t in clause] for clause in parsed.clauses] == [["golden hour"], ["cat", "dog"]]
    assert [t.text for t in parsed.excluded] == ["portrait", "black cat"]
    assert parsed.to_text({"dog": "dogs"}) == '"golden hour" cat or dogs -portrait -"black cat"'
    assert not text.parse('  - "" \x00 ')


def test_highlight_escapes_everything_but_its_own_marks():
    html = text.highlight('<img src=x onerror="alert(1)"> Cats & <b>cat</b>', ["cat"])
    assert "<img" not in html and "<b>" not in html
    assert html == (
        "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; <mark>Cats</mark> &amp; &lt;b&gt;<mark>cat</mark>&lt;/b&gt;"
    )
    assert text.snippet("one two three", ["nothing"]) is None


# --- ranking, syntax, typos ------------------------------------------------------------------


def test_a_title_match_ranks_above_a_description_match(alice, client):
    make(alice, "Quiet harbour at dawn", excerpt="Boats and a lighthouse.", content="a lighthouse on a cliff")
    make(alice, "Lighthouse in a storm", excerpt="Waves.", content="big waves")
    make(alice, "Unrelated forest", excerpt="Trees.", content="trees")
    html = client.get("/search/?q=lighthouse").content.decode()
    titles = re.findall(r'class="card-title">(.*?)</span>', html)
    assert titles == ["<mark>Lighthouse</mark> in a storm", "Quiet harbour at dawn"]
    assert "<mark>lighthouse</mark>" in html.lower()  # the description's snippet is highlighted too


def test_phrase_minus_and_or_syntax(alice, client):
    make(alice, "Beach at golden hour", content="golden hour light on the sand")
    make(alice, "Golden hour portrait", content="a portrait at golden hour")
    make(alice, "Golden gate after an hour", content="the golden gate bridge, one hour later")
    make(alice, "Cat on a roof", content="a cat")
    make(alice, "Dog in a park", content="a dog")

    def found(query):
        return set(
            re.findall(r'class="card-title">(.*?)</span>', client.get("/search/", {"q": query}).content.decode())
        )

    assert {re.sub("</?mark>", "", t) for t in found('"golden hour" -portrait')} == {"Beach at golden hour"}
    assert {re.sub("</?mark>", "", t) for t in found("cat or dog")} == {"Cat on a roof", "Dog in a park"}


def test_a_misspelt_word_is_corrected_and_said_so(alice, client):
    make(alice, "Portrait of an astronaut", content="astronaut portrait, studio light")
    make(alice, "Mountain lake", content="lake")
    html = client.get("/search/?q=portriat").content.decode()
    assert "Showing results for" in html and ">portrait</a>" in html
    assert "<mark>Portrait</mark> of an astronaut" in html
    assert "Mountain lake" not in html
    html = client.get("/search/?q=xqzvwk").content.decode()
    assert "No prompts match" in html and "Showing results for" not in html


def test_load_more_of_a_corrected_search_continues_the_corrected_search(alice, client):
    portraits = [make(alice, f"Portrait number {index}", content="a portrait") for index in range(30)]
    seen, next_url = [], "/search/?q=portriat"
    while next_url:
        html = client.get(next_url).content.decode()
        assert "Showing results for" in html
        seen += feed_slugs(html)
        next_url = (
            unescape(re.search(r'href="([^"]+)" data-load-more', html).group(1)) if "data-load-more" in html else ""
        )
    assert sorted(seen) == sorted(prompt.slug for prompt in portraits)


def test_typo_correction_never_suggests_words_only_hidden_prompts_use(alice, client):
    make(alice, "Secretive zeppelin draft", content="zeppelin", status=Prompt.Status.DRAFT)
    html = client.get("/search/?q=zepelin").content.decode()
    assert "zeppelin" not in html.lower() and "No prompts match" in html


def test_tags_and_generator_are_searched_too(alice, client):
    make(alice, "Plain title one", tags=("Cyberpunk",))
    make(alice, "Plain title two", generator="flux")
    assert "Plain title one" in client.get("/search/?q=cyberpunk").content.decode()
    html = client.get("/search/?q=flux").content.decode()
    assert "Plain title two" in html and "Plain title one" not in html


# --- filters and sorts -----------------------------------------------------------------------


def test_filters_combine_with_search(alice, client):
    a1111 = {"prompt": "castle", "settings": {"Model": "sdxl_base_1.0", "Steps": "20"}}
    comfy = {"prompt": "castle", "settings": {"model": "flux1-dev.safetensors"}}
    make(alice, "Castle A", generator="stable-diffusion", tags=("Castles", "Fantasy"), generation_settings=a1111)
    make(alice, "Castle B", generator="flux", tags=("Castles",), generation_settings=comfy)
    make(alice, "Castle C", generator="midjourney", tags=("Castles", "Fantasy"), media_type="video")
    make(alice, "Castle D", generator="midjourney", tags=("Fantasy",))

    def found(**params):
        html = client.get("/search/", {"q": "castle", **params}).content.decode()
        return {re.sub("</?mark>", "", t) for t in re.findall(r'class="card-title">(.*?)</span>', html)}

    assert found() == {"Castle A", "Castle B", "Castle C", "Castle D"}
    assert found(generator="flux") == {"Castle B"}
    assert found(tag=["castles", "fantasy"]) == {"Castle A", "Castle C"}
    assert found(media="video") == {"Castle C"}
    assert found(settings="on") == {"Castle A", "Castle B"}
    assert found(model="sdxl") == {"Castle A"}
    assert found(model="FLUX1") == {"Castle B"}
    assert found(generator="midjourney", tag="fantasy", media="image") == {"Castle D"}
    html = client.get("/search/", {"q": "castle", "generator": "photoshop", "tag": "no-such-tag"}).content.decode()
    assert "Select a valid choice" in html and "don&#x27;t exist" in html  # said, and the rest still searched
    assert "Castle A" in html


def test_tag_and_generator_pages_have_the_same_filters_and_sorts(alice, bob, client):
    first = make(alice, "Moody fox", generator="flux", tags=("Animals", "Moody"))
    second = make(alice, "Happy fox", generator="flux", tags=("Animals",))
    make(alice, "Midjourney fox", generator="midjourney", tags=("Animals",))
    Like.objects.create(user=bob, prompt=first)
    html = client.get("/tag/animals/", {"generator": "flux", "sort": "liked"}).content.decode()
    assert feed_slugs(html) == [first.slug, second.slug]
    html = client.get("/generator/flux/", {"tag": "moody"}).content.decode()
    assert feed_slugs(html) == [first.slug]
    assert 'name="generator"' not in html  # the page is the generator


def test_every_sort(alice, bob, carol, client):
    old = make(alice, "Sunset one", content="sunset")
    liked = make(alice, "Sunset two", content="sunset")
    hot = make(alice, "Sunset three", content="sunset sunset", excerpt="A sunset.")
    best = make(alice, "Sunset sunset four", content="sunset")
    for user in (bob, carol):
        Like.objects.create(user=user, prompt=liked)
    Like.objects.create(user=bob, prompt=hot)
    Like.objects.filter(prompt=liked).update(
        created_at=timezone.now() - timedelta(days=10)
    )  # last week's likes don't trend
    PromptDailyViews.objects.create(prompt=hot, day=timezone.now().date(), views=3)
    PromptDailyViews.objects.create(prompt=old, day=(timezone.now() - timedelta(days=9)).date(), views=50)
    trending.refresh_trending()

    def order(**params):
        return feed_slugs(client.get("/search/", {"q": "sunset", **params}).content.decode())

    assert order(sort="newest") == [best.slug, hot.slug, liked.slug, old.slug]
    assert order(sort="liked") == [liked.slug, hot.slug, best.slug, old.slug]
    assert order(sort="trending")[:1] == [hot.slug]
    assert order()[0] == best.slug  # relevance: the title says it twice
    assert order(sort="relevance") == order()
    html = client.get("/").content.decode()
    assert "Trending this week" in html and hot.title in html[html.index("Trending") : html.index("Newest prompts")]


def test_trending_counts_real_views_of_the_last_week(alice, bob, client):
    viewed = make(alice, "Viewed a lot")
    make(alice, "Not viewed")
    for visitor in ("127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.11"):  # three people, one reload
        client.get(f"/prompt/{viewed.slug}/", HTTP_USER_AGENT="Mozilla/5.0", REMOTE_ADDR=visitor)
    assert PromptDailyViews.objects.get(prompt=viewed).views == 3  # views are counted once per visitor a day
    assert trending.refresh_trending()["scored"] == 1
    viewed.refresh_from_db()
    assert viewed.trending_score == 3
    PromptDailyViews.objects.update(day=timezone.now().date() - timedelta(days=8))
    trending.refresh_trending()
    viewed.refresh_from_db()
    assert viewed.trending_score == 0


# --- keyset pages ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/", "/tag/nature/", "/search/?q=lake&sort=newest", "/search/?q=lake", "/search/?sort=liked", "/u/alice/"]
)
def test_load_more_pages_have_no_duplicates_or_gaps_while_new_prompts_arrive(alice, bob, client, url):
    originals = [make(alice, f"Lake number {index}", content="a lake", tags=("Nature",)) for index in range(55)]
    for prompt in originals[::3]:
        Like.objects.create(user=bob, prompt=prompt)
    seen, next_url, pages = [], url, 0
    while next_url:
        html = client.get(next_url).content.decode()
        seen += feed_slugs(html)
        next_url = (
            unescape(re.search(r'href="([^"]+)" data-load-more', html).group(1)) if "data-load-more" in html else ""
        )
        pages += 1
        make(alice, f"Lake arriving {pages}", content="a lake", tags=("Nature",))  # lands before the cursor
    assert pages == 3
    assert len(seen) == len(set(seen))
    assert set(seen) == {prompt.slug for prompt in originals}


@postgres_only
def test_a_common_word_ranks_its_newest_matches_and_later_pages_keep_that_window(alice, client, monkeypatch):
    """PostgreSQL ranks the matches of a recency window (id buckets) sized from the planner's
    estimate; the window travels in the cursor, so a prompt published meanwhile (or any older
    match) never slips into a later page."""
    monkeypatch.setattr(feeds, "RELEVANCE_CANDIDATES", 5)
    bucket = sql.WINDOW_BUCKET
    older = [make(alice, f"Harbour at dawn {index}", content="harbour") for index in range(30)]
    newer = [make(alice, f"Evening {index}", content="a harbour", id=5 * bucket + index) for index in range(30)]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE prompts_prompt")  # the estimate the window is sized from
        cursor.execute("SELECT prompts_search_floor(websearch_to_tsquery('english', 'harbour'), '', 5)")
        assert 0 < cursor.fetchone()[0] <= 5  # a window: the newest buckets only
    seen, next_url, pages = [], "/search/?q=harbour", 0
    while next_url:
        html = client.get(next_url).content.decode()
        seen += feed_slugs(html)
        next_url = (
            unescape(re.search(r'href="([^"]+)" data-load-more', html).group(1)) if "data-load-more" in html else ""
        )
        pages += 1
        make(alice, f"Harbour arriving {pages}", content="harbour", id=9 * bucket + pages)  # newest, best title
    assert pages == 2
    assert sorted(seen) == sorted(prompt.slug for prompt in newer)  # no duplicate, no gap, nothing older
    assert not {prompt.slug for prompt in older} & set(seen)
    # A rarer query (expected matches at most twice the candidates) ranks every match: titles first.
    html = client.get("/search/", {"q": "harbour dawn"}).content.decode()
    assert feed_slugs(html)[:1] and set(feed_slugs(html)) <= {prompt.slug for prompt in older}
    for window in [("x", 1), (1.5, 2), (-1, 2), (True, 2)]:
        assert client.get("/search/", {"q": "harbour", "after": encode(0.5, 1, *window)}).status_code == 400
    old_link = client.get("/search/", {"q": "harbour", "after": encode(0.5, newer[-1].pk)})  # made before windows
    assert old_link.status_code == 200 and feed_slugs(old_link.content.decode())


def test_previous_pages_by_cursor_and_broken_cursors(alice, client):
    prompts = [make(alice, f"Item {index}") for index in range(30)]
    first = client.get("/").content.decode()
    second = client.get(link(first, "next")).content.decode()
    back = client.get(link(second, "prev")).content.decode()
    assert feed_slugs(back) == feed_slugs(first)
    assert feed_slugs(second) == [p.slug for p in reversed(prompts[:6])]
    for token in ["%%%", "bm90IGpzb24", encode("not a date", 1), encode(5, 1), encode("2024-01-01T00:00:00", 1)]:
        response = client.get("/", {"after": token})
        assert response.status_code == 400
        assert "This page link is broken" in response.content.decode()
    assert client.get("/search/", {"q": "item", "after": encode("high", 1)}).status_code == 400


def test_comments_load_more(alice, bob, client):
    prompt = make(alice, "Much discussed")
    for index in range(55):
        Comment.objects.create(author=bob, prompt=prompt, body=f"comment number {index}")
    html = client.get(f"/prompt/{prompt.slug}/").content.decode()
    assert "Comments (55)" in html and "comment number 49<" in html and "comment number 50<" not in html
    more = unescape(re.search(r'href="([^"]+)" data-load-more>Load more comments', html).group(1))
    html = client.get(f"/prompt/{prompt.slug}/{more}").content.decode()
    assert "comment number 50<" in html and "comment number 54<" in html and "comment number 49<" not in html
    assert f'<link rel="canonical" href="http://testserver/prompt/{prompt.slug}/">' in html


# --- never found -----------------------------------------------------------------------------


def test_drafts_held_rejected_and_trashed_prompts_are_never_found(alice, bob, client):
    shown = make(alice, "Visible zebra", tags=("Wildlife",), generator="flux")
    hidden = [
        make(alice, "Draft zebra", tags=("Wildlife",), generator="flux", status=Prompt.Status.DRAFT),
        make(alice, "Trashed zebra", tags=("Wildlife",), generator="flux", is_deleted=True, deleted_at=timezone.now()),
        make(
            alice, "Held zebra", tags=("Wildlife",), generator="flux", moderation_status=Prompt.ModerationStatus.PENDING
        ),
        make(
            alice,
            "Rejected zebra",
            tags=("Wildlife",),
            generator="flux",
            moderation_status=Prompt.ModerationStatus.REJECTED,
        ),
    ]
    for prompt in [shown, *hidden]:
        Like.objects.create(user=bob, prompt=prompt)
        PromptDailyViews.objects.create(prompt=prompt, day=timezone.now().date(), views=5)
    trending.refresh_trending()
    urls = [
        "/",
        "/search/?q=zebra",
        "/search/?q=zebra&sort=newest",
        "/search/?q=zebra&sort=liked",
        "/search/?q=zebra&sort=trending",
        "/search/?q=zebr",
        "/search/",
        "/tag/wildlife/",
        "/generator/flux/",
        "/u/alice/",
        "/search/?q=%22draft%20zebra%22",
        f"/prompt/{shown.slug}/",
    ]
    for url in urls:
        html = client.get(url).content.decode()
        for prompt in hidden:
            assert prompt.title not in html and prompt.slug not in html, (url, prompt.title)
    assert "Visible zebra" in client.get("/search/?q=zebra").content.decode()


# --- budgets, hostile input, search engines ---------------------------------------------------


def test_query_budget_per_page(alice, bob, client, django_assert_max_num_queries):
    for index in range(30):
        prompt = make(
            alice,
            f"Budget castle {index}",
            tags=("Castles", "Fantasy"),
            generator="flux",
            generation_settings={"settings": {"Model": "sdxl"}},
        )
        Like.objects.create(user=bob, prompt=prompt)
    trending.refresh_trending()
    client.get("/")  # fills the popular tags and generators cache
    budgets = {
        "/": 5,
        "/search/?q=castle": 3,
        "/search/?q=castle&sort=liked&generator=flux&tag=fantasy&settings=on&model=sdxl": 4,
        "/search/?q=castel": 5,
        "/tag/castles/?sort=trending&tag=fantasy": 4,
        "/generator/flux/?media=image": 3,
        "/u/alice/": 3,
    }
    for url, budget in budgets.items():
        with django_assert_max_num_queries(budget):
            assert client.get(url).status_code == 200
        html = client.get(url).content.decode()
        if "data-load-more" in html:
            more = unescape(re.search(r'href="([^"]+)" data-load-more', html).group(1))
            with django_assert_max_num_queries(budget):
                assert client.get(more).status_code == 200


HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


def test_a_hostile_query_is_echoed_escaped_everywhere(alice, client):
    make(alice, "Script <img src=x onerror=alert(3)> alert", content="alert script img onerror")
    for params in (
        {"q": HOSTILE},
        {"q": HOSTILE, "sort": HOSTILE, "generator": HOSTILE, "model": HOSTILE, "tag": HOSTILE},
        {"q": "alret"},
    ):
        response = client.get("/search/", params)
        html = response.content.decode()
        assert response.status_code == 200
        assert "<script>alert" not in html and "<img src=x" not in html and "onerror=alert(2)>" not in html
    html = client.get("/search/", {"q": HOSTILE}).content.decode()
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown as the text it is
    html = client.get("/search/", {"q": "script img"}).content.decode()
    assert "<mark>Script</mark> &lt;<mark>img</mark> src=x onerror=alert(3)&gt; alert" in html  # marks only ours


def test_search_is_noindex_and_lists_have_right_canonical_links(alice, client):
    for index in range(30):
        make(alice, f"Forest {index}", tags=("Forest",))
    html = client.get("/search/?q=forest").content.decode()
    assert '<meta name="robots" content="noindex, follow">' in html and 'rel="canonical"' not in html
    html = client.get("/tag/forest/").content.decode()
    assert "noindex" not in html and link(html, "canonical") == "http://testserver/tag/forest/"
    assert link(html, "next").startswith("/tag/forest/?after=")
    page_two = client.get(link(html, "next")).content.decode()
    assert link(page_two, "canonical") == "http://testserver" + link(html, "next") and "noindex" not in page_two
    filtered = client.get("/tag/forest/?sort=liked").content.decode()
    assert "noindex" in filtered and link(filtered, "canonical") == "http://testserver/tag/forest/"
    assert link(filtered, "next").startswith("/tag/forest/?sort=liked&after=")


def test_header_has_a_search_box_on_every_page(alice, client):
    prompt = make(alice, "Anything")
    for url in ("/", f"/prompt/{prompt.slug}/", "/tag/nature/", "/accounts/login/"):
        assert 'role="search" method="get" action="/search/"' in client.get(url).content.decode(), url


# --- related prompts -------------------------------------------------------------------------


def test_related_prompts_rank_by_shared_tags_and_similar_text(alice, bob, client):
    prompt = make(alice, "Red vintage car in the rain", tags=("Vintage", "Cars"))
    similar = make(bob, "Vintage red car parked", tags=("Vintage",), generator="flux")
    same_tag = make(bob, "Bowl of fruit", tags=("Vintage",), generator="flux")
    both_tags = make(bob, "Old bicycle", tags=("Vintage", "Cars"), generator="flux")
    make(bob, "Draft red vintage car", tags=("Vintage", "Cars"), status=Prompt.Status.DRAFT)
    make(bob, "Unrelated", tags=("Cats",), generator="flux")
    html = client.get(f"/prompt/{prompt.slug}/").content.decode()
    section = html[html.index("Related prompts") :]
    positions = [section.index(p.title) for p in (similar, both_tags, same_tag)]
    assert positions == sorted(positions)  # 1 shared tag + same words beats 2 shared tags
    assert "Draft red vintage car" not in section and "Unrelated" not in section


# --- the database keeps its own columns current ----------------------------------------------


def test_like_count_follows_likes_from_any_path_and_survives_a_full_save(alice, bob, carol):
    prompt = make(alice, "Counted")
    stale = Prompt.objects.get(id=prompt.id)
    Like.objects.create(user=bob, prompt=prompt)
    Like.objects.create(user=carol, prompt=prompt)
    stale.title = "Counted and renamed"
    stale.save()  # loaded before the likes: must not write like_count 0 back
    prompt.refresh_from_db()
    assert prompt.like_count == 2 and prompt.title == "Counted and renamed"
    carol.delete()  # a cascade, not the like button
    prompt.refresh_from_db()
    assert prompt.like_count == 1


@postgres_only
def test_the_search_vector_follows_every_change_made_in_the_database(alice, client):
    prompt = make(alice, "Plain thing")

    def found(query):
        return prompt.slug in client.get("/search/", {"q": query}).content.decode()

    Prompt.objects.filter(id=prompt.id).update(title="Zeppelin over a city")  # no save(), no signal
    assert found("zeppelin")
    prompt.tags.add("Cyberpunk")
    assert found("cyberpunk")
    prompt.tags.remove("Cyberpunk")
    assert not found("cyberpunk")
    prompt.tags.add("Dragons")
    Tag.objects.filter(name="Dragons").update(name="Wyverns")
    assert found("wyverns")
    Prompt.objects.filter(id=prompt.id).update(view_count=5)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM prompts_searchword WHERE word IN ('zeppelin', 'wyverns')")
        assert cursor.fetchone()[0] == 2

"""Finding prompts: full-text search, the browse feeds (home, tag, generator, author, collection),
their filters and sorts, related prompts and the home page's sections.

Only public prompts are ever found: published, not in the trash, not held or rejected by a
moderator. Every list pages by keyset (prompts.pagination).

PostgreSQL: the trigger-kept `search_vector` (weighted title > tags, generator > description >
prompt text), its partial GIN index, `websearch_to_tsquery` ("golden hour" -portrait, or),
`ts_rank`, and pg_trgm similarity against the word dictionary for typos.
SQLite (development): the same query syntax read in Python and matched with `icontains` on every
field, a simple field-weighted relevance, difflib for typos. Correct, not fast.
"""

from __future__ import annotations

import difflib
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.cache import cache
from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from django.utils.safestring import SafeString
from taggit.models import Tag, TaggedItem

from prompts import selectors
from prompts.models import AIGenerator, MediaType, Prompt
from prompts.pagination import KeysetPage, Order, decode, encode, keyset_page
from prompts.search import sql, text
from prompts.search.sql import CONFIG

PAGE_SIZE = 24

NEWEST = "newest"
RELEVANCE = "relevance"
LIKED = "liked"
TRENDING = "trending"
SORT_LABELS = {RELEVANCE: "Best match", NEWEST: "Newest", LIKED: "Most liked", TRENDING: "Trending"}
ORDERS = {
    NEWEST: Order("created_on", datetime),
    LIKED: Order("like_count", int),
    TRENDING: Order("trending_score", int),
}
# Relevance ranks about this many of the newest matches (PostgreSQL: the matches of a recency
# window sized to hold about this many; SQLite: exactly this many): ranking reads every ranked
# row's document, and a common word matches tens of thousands of prompts. Newest, most liked and
# trending reach every match.
RELEVANCE_CANDIDATES = 500
# Typo correction only for short queries: a long query with one odd word still finds plenty.
TYPO_MAX_WORDS = 4
POPULAR_SAMPLE = 5000
POPULAR_CACHE_SECONDS = 600


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


# What a card or a search hit shows (templates/prompts/_card.html, _hit.html): lists load only
# these, not the search document and the other JSON columns every prompt row also carries. The
# picture (prompts/templatetags/pictures.py) needs the variant keys, the size and the media type.
CARD_FIELDS = (
    "id",
    "slug",
    "processing_uuid",
    "title",
    "excerpt",
    "content",
    "alt_text",
    "ai_generator",
    "b2_thumb_url",
    "b2_medium_url",
    "b2_large_url",
    "b2_webp_url",
    "media_keys",
    "media_type",
    "width",
    "height",
    "blurhash",
    "like_count",
    "trending_score",
    "created_on",
    "author__username",
)


def public_prompts() -> QuerySet[Prompt]:
    """The prompts anyone may find, loaded as cards."""
    return selectors.published_prompts().only(*CARD_FIELDS)


@dataclass(frozen=True)
class Filters:
    generator: str = ""
    tag_ids: tuple[int, ...] = ()
    media_type: str = ""
    has_settings: bool = False
    model: str = ""

    @property
    def active(self) -> bool:
        return bool(self.generator or self.tag_ids or self.media_type or self.has_settings or self.model)


def apply_filters(queryset: QuerySet[Prompt], filters: Filters) -> QuerySet[Prompt]:
    if filters.generator:
        queryset = queryset.filter(ai_generator=filters.generator)
    for tag_id in filters.tag_ids:  # every tag must be on the prompt
        queryset = queryset.filter(has_tags([tag_id]))
    if filters.media_type:
        queryset = queryset.filter(media_type=filters.media_type)
    if filters.has_settings:
        queryset = queryset.exclude(generation_settings={})
    if filters.model:
        # Automatic1111 writes "Model", ComfyUI's checkpoint loader "model".
        queryset = queryset.filter(
            Q(generation_settings__settings__Model__icontains=filters.model)
            | Q(generation_settings__settings__model__icontains=filters.model)
        )
    return queryset


def has_tags(tag_ids: list[int]) -> Exists:
    """EXISTS on taggit's table rather than a join: taggit's integer object_id joined to our bigint
    id gets a cast that no index serves, while `object_id = outer id` probes the (content type,
    object id, tag) unique index; and EXISTS cannot duplicate rows."""
    return Exists(
        TaggedItem.objects.filter(
            content_type_id=_prompt_content_type_id(), tag_id__in=tag_ids, object_id=OuterRef("pk")
        )
    )


def feed_page(
    queryset: QuerySet[Prompt],
    *,
    sort: str = NEWEST,
    filters: Filters = Filters(),
    after: str | None = None,
    before: str | None = None,
    size: int = PAGE_SIZE,
) -> KeysetPage:
    """One page of a browse feed (home, tag, generator, author, collection)."""
    order = ORDERS.get(sort, ORDERS[NEWEST])
    return keyset_page(apply_filters(queryset, filters), order=order, after=after, before=before, size=size)


# --- search -------------------------------------------------------------------------------------


@dataclass
class Hit:
    prompt: Prompt
    title: SafeString
    snippet: SafeString | None


@dataclass
class SearchResults:
    query: str
    page: KeysetPage
    hits: list[Hit] = field(default_factory=list)
    corrected: str = ""  # the query actually searched when a typo was fixed


def search(
    query: str,
    *,
    sort: str = RELEVANCE,
    filters: Filters = Filters(),
    after: str | None = None,
    before: str | None = None,
    size: int = PAGE_SIZE,
) -> SearchResults:
    query = text.clean_query(query)
    parsed = text.parse(query)
    if not parsed:
        page = feed_page(
            public_prompts(),
            sort=NEWEST if sort == RELEVANCE else sort,
            filters=filters,
            after=after,
            before=before,
            size=size,
        )
        return SearchResults(
            query=query, page=page, hits=[Hit(p, text.highlight(p.title, []), None) for p in page.items]
        )
    page = _search_page(query, parsed, sort=sort, filters=filters, after=after, before=before, size=size)
    corrected = ""
    # Also on later pages: "Load more" of a corrected search keeps the words the person typed (the
    # page says what it searched instead), so its cursor belongs to the corrected query.
    if not page.items:
        suggestion = correct_typos(parsed)
        if suggestion:
            fixed = text.parse(suggestion)
            page = _search_page(suggestion, fixed, sort=sort, filters=filters, after=after, before=before, size=size)
            if page.items:
                corrected, parsed = suggestion, fixed
    words = parsed.words
    hits = [
        Hit(
            prompt,
            text.highlight(prompt.title, words),
            text.snippet(prompt.excerpt, words) or text.snippet(prompt.content, words),
        )
        for prompt in page.items
    ]
    return SearchResults(query=query, page=page, hits=hits, corrected=corrected)


def _search_page(
    query: str, parsed: text.ParsedQuery, *, sort: str, filters: Filters, after=None, before=None, size: int
) -> KeysetPage:
    if is_postgres():
        search_query = SearchQuery(query, search_type="websearch", config=CONFIG)
        matches = apply_filters(public_prompts().filter(search_vector=search_query), filters)
        if sort == RELEVANCE:
            return _postgres_relevance_page(matches, query, filters.generator, after=after, before=before, size=size)
    else:
        matches, relevance = _sqlite_matches(parsed)
        matches = apply_filters(matches, filters)
        if sort == RELEVANCE:
            newest = matches.order_by("-created_on", "-id").values("id")[:RELEVANCE_CANDIDATES]
            ranked = public_prompts().filter(id__in=Subquery(newest)).annotate(relevance=relevance)
            return keyset_page(
                ranked, order=Order("relevance", int, annotation=True), after=after, before=before, size=size
            )
    return keyset_page(matches, order=ORDERS.get(sort, ORDERS[NEWEST]), after=after, before=before, size=size)


RELEVANCE_ORDER = Order("relevance", float, annotation=True)


class Window(NamedTuple):
    floor: int  # the first recency bucket ranked (0: every match)
    ceiling: int  # the newest id ranked


def _relevance_rows(
    matches: QuerySet[Prompt],
    query: str,
    window: Window | tuple[str, int],
    *,
    cursor=(None, None),
    descending: bool = True,
    size: int,
) -> list[tuple]:
    """(id, relevance, floor, ceiling, candidates) of up to size + 1 candidates in rank order
    from the cursor; one row (None, None, floor, ceiling, 0) when none is left. `window`: a
    Window, or (generator, candidates) to size a new one."""
    inner_sql, inner_params = matches.order_by().values("id", "search_vector").query.sql_with_params()
    value, pk = cursor
    if isinstance(window, Window):
        window_sql, window_params = "SELECT %s::bigint AS floor, %s::bigint AS ceiling", list(window)
    else:
        window_sql = (
            "SELECT prompts_search_floor(websearch_to_tsquery(%s::regconfig, %s), %s, %s) AS floor,"
            " (SELECT max(id) FROM prompts_prompt) AS ceiling"
        )
        window_params = [CONFIG, query, *window]
    cursor_sql, cursor_params = "", []
    if value is not None:
        cursor_sql = f"WHERE (relevance, id) {'<' if descending else '>'} (%s, %s)"
        cursor_params = [value, pk]
    direction = "DESC" if descending else "ASC"
    bucket = sql.WINDOW_BUCKET
    rank = "ts_rank(m.search_vector, websearch_to_tsquery(%s::regconfig, %s))::float8"
    # Two settings for this statement only (SET LOCAL in the same implicit transaction, one round
    # trip): JIT compiling costs 50-150 ms and pays off only for long scans, and the estimate of a
    # branch that never runs can cross jit_above_cost; the window is a run-time value, so the
    # planner assumes a third of the matches fall in it and may prefer reading the whole table to
    # the bitmap scan of prompt_search that serves this statement.
    # `id + 0`: the ceiling is a filter on the candidates, not a range for the primary key index.
    statement = (
        "SET LOCAL jit = off; SET LOCAL enable_seqscan = off; "
        f"WITH win AS MATERIALIZED ({window_sql}),"
        " ranked AS ("
        f" SELECT m.id, {rank} AS relevance FROM ({inner_sql}) AS m"
        " WHERE (SELECT floor FROM win) > 0"
        f" AND (m.id / {bucket}) >= (SELECT floor FROM win) AND m.id + 0 <= (SELECT ceiling FROM win)"
        " UNION ALL"
        f" SELECT m.id, {rank} AS relevance FROM ({inner_sql}) AS m"
        " WHERE (SELECT floor FROM win) = 0 AND m.id + 0 <= (SELECT ceiling FROM win)"
        ")"
        " SELECT page.id, page.relevance, win.floor, win.ceiling, coalesce(page.candidates, 0)"
        " FROM win LEFT JOIN LATERAL ("
        f" SELECT id, relevance, count(*) OVER () AS candidates FROM ranked {cursor_sql}"
        f" ORDER BY relevance {direction}, id {direction} LIMIT %s"
        f") AS page ON true ORDER BY page.relevance {direction}, page.id {direction}"
    )
    params = [*window_params, *[CONFIG, query, *inner_params] * 2, *cursor_params, size + 1]
    with connection.cursor() as db:
        db.execute(statement, params)
        return db.fetchall()


def _postgres_relevance_page(
    matches: QuerySet[Prompt], query: str, generator: str, *, after=None, before=None, size: int
) -> KeysetPage:
    """Rank about RELEVANCE_CANDIDATES of the newest matches and return one page of them by rank.

    The candidates are the matches in a recency window: prompts whose id is in bucket `floor` or
    later (prompts.search.sql: the GIN index holds the bucket, so the window is intersected with
    the words inside the index) and at most `ceiling`. The first page sizes the window from the
    planner's estimate of the match count (`prompts_search_floor`, one InitPlan of this query)
    and caps it at the newest id; both travel in the page's cursors, so every later page ranks
    the very same prompts: a prompt published meanwhile cannot push a row across a page boundary.

    One statement: the window, the GIN scan, the ranking of the candidates' documents, the page.
    Two branches, of which a one-time filter runs exactly one: with a window (bucket condition in
    the index scan) or without (a rare query: every match). Only the page's rows are then loaded
    in full. SQL around the ORM's own filtered query, because the ORM cannot rank a window."""
    token = after or before
    value = pk = floor = ceiling = None
    if token:
        value, pk, floor, ceiling = decode(token, float, extra=2)
        if floor is None:  # a link made before cursors carried the window: every match
            floor, ceiling = 0, 2**63 - 1
    descending = not before
    if floor is not None:
        window = Window(floor, ceiling)
        rows = _relevance_rows(matches, query, window, cursor=(value, pk), descending=descending, size=size)
    else:
        rows = _relevance_rows(matches, query, (generator, RELEVANCE_CANDIDATES), size=size)
        window = Window(rows[0][2], rows[0][3] or 0)
        # A window holding less than a page (the word is rarer among the newest prompts than
        # overall, or other filters leave few): widen it by the density it found, at most 64
        # times at once, until it holds a page or reaches back to the first prompt.
        # Every match at once when the density found says they are few (a window's GIN range
        # costs more than reading a few thousand rows).
        while window.floor > 0 and rows[0][4] <= size:
            every = window.ceiling // sql.WINDOW_BUCKET + 1
            buckets, held = every - window.floor, rows[0][4]
            growth = min(64.0, RELEVANCE_CANDIDATES / held if held else 64.0)
            floor = max(0, every - math.ceil(buckets * growth))
            if held and held * every / buckets <= sql.NO_WINDOW_BELOW * RELEVANCE_CANDIDATES:
                floor = 0
            window = Window(floor, window.ceiling)
            rows = _relevance_rows(matches, query, window, size=size)
    rows = [row for row in rows if row[0] is not None]
    more = len(rows) > size
    rows = rows[:size]
    if not descending:
        rows.reverse()
    found = public_prompts().in_bulk([row[0] for row in rows])
    items = []
    for row_pk, relevance, *_window in rows:
        if row_pk in found:
            found[row_pk].relevance = relevance
            items.append(found[row_pk])
    if not items:
        return KeysetPage(items=[], next_cursor=None, prev_cursor=None)
    first = encode(items[0].relevance, items[0].pk, *window)
    last = encode(items[-1].relevance, items[-1].pk, *window)
    if before:
        return KeysetPage(items=items, next_cursor=last, prev_cursor=first if more else None)
    return KeysetPage(items=items, next_cursor=last if more else None, prev_cursor=first if after else None)


def _prompt_content_type_id() -> int:
    return ContentType.objects.get_for_model(Prompt).id


def _tagged_with(term: text.Term):
    return TaggedItem.objects.filter(content_type_id=_prompt_content_type_id(), tag__name__icontains=term.text).values(
        "object_id"
    )


def _term_q(term: text.Term) -> Q:
    return (
        Q(title__icontains=term.text)
        | Q(excerpt__icontains=term.text)
        | Q(content__icontains=term.text)
        | Q(ai_generator__icontains=term.text.replace(" ", "-"))
        | Q(id__in=_tagged_with(term))
    )


def _sqlite_matches(parsed: text.ParsedQuery):
    matches = public_prompts()
    for clause in parsed.clauses:
        condition = Q()
        for term in clause:
            condition |= _term_q(term)
        matches = matches.filter(condition)
    for term in parsed.excluded:
        matches = matches.exclude(_term_q(term))
    terms = parsed.positive_terms

    def any_term(lookup: str) -> Q:
        condition = Q()
        for term in terms:
            condition |= Q(**{lookup: term.text})
        return condition

    tagged = Q()
    for term in terms:
        tagged |= Q(id__in=_tagged_with(term))
    relevance = Case(
        When(any_term("title__icontains"), then=Value(4)),
        When(tagged, then=Value(3)),
        When(any_term("excerpt__icontains"), then=Value(2)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return matches, relevance


# --- typos --------------------------------------------------------------------------------------


def correct_typos(parsed: text.ParsedQuery) -> str:
    """The query with unknown words replaced by the closest known word, or "" when nothing changes."""
    words = [word for word in parsed.words if word.isalpha()]
    if not words or len(parsed.words) > TYPO_MAX_WORDS:
        return ""
    fixes = _postgres_corrections(words) if is_postgres() else _sqlite_corrections(words)
    fixes = {word: fix for word, fix in fixes.items() if fix and fix != word}
    return parsed.to_text(fixes) if fixes else ""


def _postgres_corrections(words: list[str]) -> dict[str, str]:
    # `%` is pg_trgm's similarity operator (threshold 0.3), served by the trigram index.
    sql = (
        "SELECT q.word, (SELECT w.word FROM prompts_searchword w WHERE w.word %% q.word "
        "ORDER BY similarity(w.word, q.word) DESC, w.word LIMIT 1) "
        "FROM unnest(%s::text[]) AS q(word) "
        "WHERE NOT EXISTS (SELECT 1 FROM prompts_searchword k WHERE k.word = q.word)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [words])
        return dict(cursor.fetchall())


def _sqlite_corrections(words: list[str]) -> dict[str, str]:
    # The words of recent public titles, by how often they occur: among equally close words the
    # common one is the likelier meaning ("castel": "castle" of many titles, not the tag "Pastel").
    counts: Counter[str] = Counter()
    for title in public_prompts().order_by("-created_on").values_list("title", flat=True)[:2000]:
        counts.update(text.parse(title).words)
    for name in [*Tag.objects.values_list("name", flat=True), *AIGenerator.values]:
        counts.update({word: 0 for word in text.parse(name).words})
    fixes = {}
    for word in words:
        if word in counts:
            continue
        close = difflib.get_close_matches(word, counts, n=5, cutoff=0.75)
        ranked = [
            (round(difflib.SequenceMatcher(a=candidate, b=word).ratio(), 2), counts[candidate], candidate)
            for candidate in close
        ]
        fixes[word] = max(ranked)[2] if ranked else ""
    return fixes


# --- related, home sections ---------------------------------------------------------------------

RELATED_CANDIDATES = 200
SIMILARITY_WEIGHT = 5.0


def related_prompts(prompt: Prompt, *, tag_ids: list[int], limit: int = 6) -> list[Prompt]:
    """Public prompts ranked by shared tags plus how alike their text is (the title's words).

    Candidates: the newest prompts sharing a tag, the generator, or a title word (bounded, so
    the detail page stays fast at any size); then shared-tag count + weighted text rank."""
    words = sorted({word for word in text.parse(prompt.title).words if len(word) >= 3})[:8]
    others = public_prompts().exclude(id=prompt.id)
    candidates = Q(
        id__in=Subquery(
            others.filter(has_tags(tag_ids) | Q(ai_generator=prompt.ai_generator))
            .order_by("-created_on")
            .values("id")[:RELATED_CANDIDATES]
        )
    )
    shared = _shared_tags(tag_ids)
    if is_postgres() and words:
        similar_query = SearchQuery(" or ".join(words), search_type="websearch", config=CONFIG)
        candidates |= Q(
            id__in=Subquery(
                others.filter(search_vector=similar_query).order_by("-created_on").values("id")[:RELATED_CANDIDATES]
            )
        )
        similarity = Cast(SearchRank(F("search_vector"), similar_query), FloatField())
        return list(
            others.filter(candidates)
            .annotate(shared=shared, similarity=similarity)
            .annotate(score=F("shared") + SIMILARITY_WEIGHT * F("similarity"))
            .order_by("-score", "-created_on")[:limit]
        )
    if words:
        title_match = Q()
        for word in words:
            title_match |= Q(title__icontains=word)
        candidates |= Q(
            id__in=Subquery(others.filter(title_match).order_by("-created_on").values("id")[:RELATED_CANDIDATES])
        )
    found = list(others.filter(candidates).annotate(shared=shared))
    wanted = set(words)

    def score(other: Prompt) -> float:
        theirs = {word for word in text.parse(other.title).words if len(word) >= 3}
        overlap = len(wanted & theirs) / len(wanted | theirs) if wanted and theirs else 0.0
        return other.shared + SIMILARITY_WEIGHT * overlap

    found.sort(key=lambda other: (score(other), other.created_on), reverse=True)
    return found[:limit]


def _shared_tags(tag_ids: list[int]):
    if not tag_ids:
        return Value(0, output_field=IntegerField())
    table = connection.ops.quote_name(Prompt._meta.db_table)
    placeholders = ", ".join(["%s"] * len(tag_ids))
    return RawSQL(
        f"SELECT COUNT(*) FROM taggit_taggeditem ti WHERE ti.object_id = {table}.id "
        f"AND ti.content_type_id = %s AND ti.tag_id IN ({placeholders})",
        [_prompt_content_type_id(), *tag_ids],
        output_field=IntegerField(),
    )


def trending(*, limit: int = 8) -> list[Prompt]:
    return list(public_prompts().filter(trending_score__gt=0).order_by("-trending_score", "-id")[:limit])


def _recent_ids():
    return public_prompts().order_by("-created_on").values("id")[:POPULAR_SAMPLE]


def popular_tags(*, limit: int = 16) -> list[dict]:
    """The tags most used by the newest 5,000 public prompts: current, and bounded at any size."""
    key = f"search:popular-tags:{limit}"
    found = cache.get(key)
    if found is None:
        found = list(
            Tag.objects.filter(
                taggit_taggeditem_items__content_type_id=_prompt_content_type_id(),
                taggit_taggeditem_items__object_id__in=Subquery(_recent_ids()),
            )
            .annotate(uses=Count("taggit_taggeditem_items"))
            .order_by("-uses", "name")
            .values("name", "slug", "uses")[:limit]
        )
        cache.set(key, found, POPULAR_CACHE_SECONDS)
    return found


def popular_generators() -> list[dict]:
    key = "search:popular-generators"
    found = cache.get(key)
    if found is None:
        rows = (
            Prompt.objects.filter(id__in=Subquery(_recent_ids()))
            .values("ai_generator")
            .annotate(uses=Count("id"))
            .order_by("-uses", "ai_generator")
        )
        labels = dict(AIGenerator.choices)
        found = [
            {
                "slug": row["ai_generator"],
                "name": labels.get(row["ai_generator"], row["ai_generator"]),
                "uses": row["uses"],
            }
            for row in rows
        ]
        cache.set(key, found, POPULAR_CACHE_SECONDS)
    return found


def generator_choices() -> list[tuple[str, str]]:
    return list(AIGenerator.choices)


def media_choices() -> list[tuple[str, str]]:
    return list(MediaType.choices)


def sort_choices(*, with_relevance: bool) -> list[tuple[str, str]]:
    return [(key, label) for key, label in SORT_LABELS.items() if with_relevance or key != RELEVANCE]

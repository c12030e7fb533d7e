"""The database side of search: PostgreSQL functions, triggers and indexes, and SQLite's triggers.

Used by migrations 0012 and 0016 and by bench/search.py (which drops and rebuilds the indexes
around a bulk load). PostgreSQL keeps `prompts_prompt.search_vector` current itself, so no code
path (admin, shell, bulk update, a tag added by the AI task) can leave a prompt unsearchable:

- a BEFORE INSERT/UPDATE trigger on the prompt rebuilds the document when the title, description,
  prompt text or generator change (and only then: a view counter update does not pay for it);
- a trigger on taggit's tagged items rebuilds it when a tag is added or removed, one on tags when
  a tag is renamed;
- the same prompt trigger adds the document's words to `prompts_searchword`, the dictionary that
  pg_trgm corrects typos against (the approach of the pg_trgm documentation, "Text Search
  Integration").

Weights: A title, B tags and generator, C description, D prompt text; SearchRank's default weights
(1.0, 0.4, 0.2, 0.1) make a title match outrank a description match.
"""

CONFIG = "english"

POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # The prompt's tag names, for the document (taggit's generic relation: filter on content type).
    """
    CREATE OR REPLACE FUNCTION prompts_tag_names(p_id bigint) RETURNS text
    LANGUAGE sql STABLE AS $$
        SELECT coalesce(string_agg(t.name, ' '), '')
        FROM taggit_taggeditem ti
        JOIN taggit_tag t ON t.id = ti.tag_id
        JOIN django_content_type ct ON ct.id = ti.content_type_id
        WHERE ti.object_id = p_id AND ct.app_label = 'prompts' AND ct.model = 'prompt'
    $$
    """,
    f"""
    CREATE OR REPLACE FUNCTION prompts_search_document(
        p_title text, p_tags text, p_generator text, p_excerpt text, p_content text
    ) RETURNS tsvector
    LANGUAGE sql IMMUTABLE AS $$
        SELECT setweight(to_tsvector('{CONFIG}', coalesce(p_title, '')), 'A')
            || setweight(to_tsvector('{CONFIG}', coalesce(p_tags, '') || ' '
                         || coalesce(p_generator, '') || ' ' || replace(coalesce(p_generator, ''), '-', ' ')), 'B')
            || setweight(to_tsvector('{CONFIG}', coalesce(p_excerpt, '')), 'C')
            || setweight(to_tsvector('{CONFIG}', coalesce(p_content, '')), 'D')
    $$
    """,
    # Plain lower-case words of 3 to 40 letters; digits and mixed tokens make poor corrections.
    """
    CREATE OR REPLACE FUNCTION prompts_add_search_words(p_text text) RETURNS void
    LANGUAGE sql VOLATILE AS $$
        INSERT INTO prompts_searchword (word)
        SELECT DISTINCT w FROM unnest(tsvector_to_array(to_tsvector('simple', coalesce(p_text, '')))) AS w
        WHERE w ~ '^[a-z]{3,40}$'
        ON CONFLICT (word) DO NOTHING
    $$
    """,
    """
    CREATE OR REPLACE FUNCTION prompts_prompt_search_trigger() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        tag_names text := prompts_tag_names(NEW.id);
    BEGIN
        NEW.search_vector := prompts_search_document(NEW.title, tag_names, NEW.ai_generator, NEW.excerpt, NEW.content);
        PERFORM prompts_add_search_words(concat_ws(' ', NEW.title, tag_names, NEW.excerpt, NEW.content));
        RETURN NEW;
    END
    $$
    """,
    "DROP TRIGGER IF EXISTS prompts_prompt_search ON prompts_prompt",
    """
    CREATE TRIGGER prompts_prompt_search
    BEFORE INSERT OR UPDATE OF title, excerpt, content, ai_generator ON prompts_prompt
    FOR EACH ROW EXECUTE FUNCTION prompts_prompt_search_trigger()
    """,
    """
    CREATE OR REPLACE FUNCTION prompts_refresh_search_vector(p_id bigint) RETURNS void
    LANGUAGE sql VOLATILE AS $$
        UPDATE prompts_prompt p
        SET search_vector = prompts_search_document(
            p.title, prompts_tag_names(p.id), p.ai_generator, p.excerpt, p.content)
        WHERE p.id = p_id
    $$
    """,
    """
    CREATE OR REPLACE FUNCTION prompts_taggeditem_search_trigger() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('DELETE', 'UPDATE') THEN
            PERFORM prompts_refresh_search_vector(OLD.object_id);
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            PERFORM prompts_refresh_search_vector(NEW.object_id);
            PERFORM prompts_add_search_words((SELECT name FROM taggit_tag WHERE id = NEW.tag_id));
        END IF;
        RETURN NULL;
    END
    $$
    """,
    "DROP TRIGGER IF EXISTS prompts_taggeditem_search ON taggit_taggeditem",
    """
    CREATE TRIGGER prompts_taggeditem_search
    AFTER INSERT OR UPDATE OR DELETE ON taggit_taggeditem
    FOR EACH ROW EXECUTE FUNCTION prompts_taggeditem_search_trigger()
    """,
    """
    CREATE OR REPLACE FUNCTION prompts_tag_rename_search_trigger() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM prompts_refresh_search_vector(ti.object_id) FROM taggit_taggeditem ti WHERE ti.tag_id = NEW.id;
        PERFORM prompts_add_search_words(NEW.name);
        RETURN NULL;
    END
    $$
    """,
    "DROP TRIGGER IF EXISTS prompts_tag_rename_search ON taggit_tag",
    """
    CREATE TRIGGER prompts_tag_rename_search
    AFTER UPDATE OF name ON taggit_tag
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION prompts_tag_rename_search_trigger()
    """,
    # Only public prompts are ever searched: the partial index is smaller and cannot serve anything else.
    """
    CREATE INDEX IF NOT EXISTS prompt_search_vector ON prompts_prompt USING gin (search_vector)
    WHERE status = 1 AND NOT is_deleted
    """,
    "CREATE INDEX IF NOT EXISTS searchword_trgm ON prompts_searchword USING gin (word gin_trgm_ops)",
]

POSTGRES_BACKFILL = [
    """
    UPDATE prompts_prompt p
    SET search_vector = prompts_search_document(p.title, prompts_tag_names(p.id), p.ai_generator, p.excerpt, p.content)
    """,
    "SELECT prompts_add_search_words(concat_ws(' ', title, excerpt, content)) FROM prompts_prompt",
    "SELECT prompts_add_search_words(name) FROM taggit_tag",
]

POSTGRES_REVERSE = [
    "DROP INDEX IF EXISTS searchword_trgm",
    "DROP INDEX IF EXISTS prompt_search_vector",
    "DROP TRIGGER IF EXISTS prompts_tag_rename_search ON taggit_tag",
    "DROP TRIGGER IF EXISTS prompts_taggeditem_search ON taggit_taggeditem",
    "DROP TRIGGER IF EXISTS prompts_prompt_search ON prompts_prompt",
    "DROP FUNCTION IF EXISTS prompts_tag_rename_search_trigger()",
    "DROP FUNCTION IF EXISTS prompts_taggeditem_search_trigger()",
    "DROP FUNCTION IF EXISTS prompts_refresh_search_vector(bigint)",
    "DROP FUNCTION IF EXISTS prompts_prompt_search_trigger()",
    "DROP FUNCTION IF EXISTS prompts_add_search_words(text)",
    "DROP FUNCTION IF EXISTS prompts_search_document(text, text, text, text, text)",
    "DROP FUNCTION IF EXISTS prompts_tag_names(bigint)",
]

# The like counter: a like or unlike from any path (the button, the admin, a deleted user's
# cascade) moves it.
SQLITE_LIKE_TRIGGERS = [
    """
    CREATE TRIGGER prompts_like_count_up AFTER INSERT ON prompts_like
    BEGIN UPDATE prompts_prompt SET like_count = like_count + 1 WHERE id = NEW.prompt_id; END
    """,
    """
    CREATE TRIGGER prompts_like_count_down AFTER DELETE ON prompts_like
    BEGIN UPDATE prompts_prompt SET like_count = max(like_count - 1, 0) WHERE id = OLD.prompt_id; END
    """,
]
SQLITE_LIKE_TRIGGERS_REVERSE = [
    "DROP TRIGGER IF EXISTS prompts_like_count_up",
    "DROP TRIGGER IF EXISTS prompts_like_count_down",
]

POSTGRES_LIKE_TRIGGERS = [
    """
    CREATE OR REPLACE FUNCTION prompts_like_count_trigger() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            UPDATE prompts_prompt SET like_count = like_count + 1 WHERE id = NEW.prompt_id;
        ELSE
            UPDATE prompts_prompt SET like_count = greatest(like_count - 1, 0) WHERE id = OLD.prompt_id;
        END IF;
        RETURN NULL;
    END
    $$
    """,
    "DROP TRIGGER IF EXISTS prompts_like_count ON prompts_like",
    """
    CREATE TRIGGER prompts_like_count AFTER INSERT OR DELETE ON prompts_like
    FOR EACH ROW EXECUTE FUNCTION prompts_like_count_trigger()
    """,
]
POSTGRES_LIKE_TRIGGERS_REVERSE = [
    "DROP TRIGGER IF EXISTS prompts_like_count ON prompts_like",
    "DROP FUNCTION IF EXISTS prompts_like_count_trigger()",
]

LIKE_COUNT_BACKFILL = (
    "UPDATE prompts_prompt SET like_count = "
    "(SELECT COUNT(*) FROM prompts_like WHERE prompts_like.prompt_id = prompts_prompt.id)"
)

# --- relevance by recency window (migration 0016) -------------------------------------------------
#
# Ranking reads each ranked prompt's document from the table, so relevance ranks about
# RELEVANCE_CANDIDATES matches, the newest ones. Finding "the newest matches" of a common word used
# to walk the newest-first index testing each row's document (63,000 rows for a 1.6% word).
# Instead the GIN index also holds a coarse recency key, the id's bucket of WINDOW_BUCKET ids
# (btree_gin), and the generator: "matches among the newest ids" is then one GIN scan that
# intersects the word's posting list with the window's buckets and the generator inside the index,
# and the table is read only for the few hundred matches in the window.
#
# The window is sized from the planner's own estimate of how many prompts match (its statistics
# of the document's most common lexemes, hence the raised statistics target): with 500 candidates
# a word in 5% of 1 M prompts gets the newest ~10,000 ids; a query expected to match at most
# NO_WINDOW_BELOW times the candidates gets no window (every match is ranked).

WINDOW_BUCKET = 1024  # ids per recency bucket; written literally in the index and in the queries
SEARCH_STATISTICS = 1000  # the planner tracks the document's 10,000 most common lexemes
# Up to this many times the candidates expected, every match is ranked: reading a few thousand
# rows costs less than a window's GIN range, which grows as the matches get rarer.
NO_WINDOW_BELOW = 8

POSTGRES_WINDOW_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS btree_gin",
    "DROP INDEX IF EXISTS prompt_search_vector",
    f"""
    CREATE INDEX IF NOT EXISTS prompt_search ON prompts_prompt
    USING gin (search_vector, (id / {WINDOW_BUCKET}), ai_generator)
    WHERE status = 1 AND NOT is_deleted
    """,
    f"ALTER TABLE prompts_prompt ALTER COLUMN search_vector SET STATISTICS {SEARCH_STATISTICS}",
    # The first recency bucket whose matches are ranked: 0 (rank every match) when `candidates`
    # is 0 or at most NO_WINDOW_BELOW times `candidates` matches are expected, else the bucket
    # that leaves about `candidates` expected matches above it. The planner multiplies the words'
    # shares as if they were independent, and words that come together ("golden hour", any
    # phrase) match far more: so a query without OR is expected to match as many prompts as its
    # rarest word (an upper bound; a window that then holds less than a page is widened). Words
    # after a minus are left out. When the two disagree about "few", the matches are counted (up
    # to twice the candidates). EXPLAIN without ANALYZE only plans (about 0.2 ms a word); the count_estimate
    # recipe of the PostgreSQL wiki.
    f"""
    CREATE OR REPLACE FUNCTION prompts_search_floor(p_query tsquery, p_generator text, p_candidates integer)
    RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
        written text := p_query::text;
        also text := CASE WHEN coalesce(p_generator, '') <> ''
                          THEN format(' AND ai_generator = %L', p_generator) ELSE '' END;
        pieces text[];
        piece text;
        plan json;
        expected float8;
        joint float8;
        few float8 := {NO_WINDOW_BELOW} * p_candidates;
        counted bigint;
        newest bigint;
    BEGIN
        IF p_candidates <= 0 THEN
            RETURN 0;
        END IF;
        pieces := ARRAY[written];
        IF strpos(written, '|') = 0 THEN
            pieces := ARRAY(
                SELECT DISTINCT chr(39) || m[1] || chr(39)
                FROM regexp_matches(
                    regexp_replace(written, $re$!\\([^)]*\\)|!'(?:[^']|'')*'$re$, '', 'g'),
                    $re$'((?:[^']|'')*)'$re$, 'g') AS m);
            IF cardinality(pieces) = 0 THEN
                pieces := ARRAY[written];
            END IF;
        END IF;
        FOREACH piece IN ARRAY array_append(pieces, written) LOOP
            EXECUTE format(
                'EXPLAIN (FORMAT JSON) SELECT 1 FROM prompts_prompt '
                'WHERE status = 1 AND NOT is_deleted AND search_vector @@ %L::tsquery', piece) || also
            INTO plan;
            IF piece = written THEN
                joint := (plan -> 0 -> 'Plan' ->> 'Plan Rows')::float8;
            ELSE
                expected := least(expected, (plan -> 0 -> 'Plan' ->> 'Plan Rows')::float8);
            END IF;
        END LOOP;
        expected := coalesce(expected, joint);
        IF expected <= few THEN
            RETURN 0;
        END IF;
        IF joint <= few THEN
            -- The planner expects few, the rarest word allows many: count them, up to twice the
            -- candidates (each counted match is a row read).
            EXECUTE format(
                'SELECT count(*) FROM (SELECT FROM prompts_prompt WHERE status = 1 AND NOT is_deleted '
                'AND search_vector @@ %L::tsquery%s LIMIT %s) AS found', written, also, 2 * p_candidates + 1)
            INTO counted;
            IF counted <= 2 * p_candidates THEN
                RETURN 0;
            END IF;
        END IF;
        SELECT max(id) INTO newest FROM prompts_prompt;
        RETURN greatest(0, newest - ceil(newest * p_candidates / expected)::bigint) / {WINDOW_BUCKET};
    END
    $$
    """,
]


POSTGRES_WINDOW_REVERSE = [
    "DROP FUNCTION IF EXISTS prompts_search_floor(tsquery, text, integer)",
    "ALTER TABLE prompts_prompt ALTER COLUMN search_vector SET STATISTICS -1",
    "DROP INDEX IF EXISTS prompt_search",
    """
    CREATE INDEX IF NOT EXISTS prompt_search_vector ON prompts_prompt USING gin (search_vector)
    WHERE status = 1 AND NOT is_deleted
    """,
]

"""What a person typed in the search box, read the way PostgreSQL's websearch_to_tsquery reads it,
and matched words highlighted in HTML that is safe whatever the prompt's text contains.

`"golden hour" -portrait cat or dog` is: the phrase "golden hour", AND (cat OR dog), AND NOT
portrait. PostgreSQL parses the raw text itself; this reading serves the SQLite fallback and the
highlighting on both databases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

MAX_QUERY = 200
MAX_TERMS = 12
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORD = re.compile(r"\w+", re.UNICODE)
# Common English endings, so "portraits" highlights "portrait" and "painting" highlights "painted"
# roughly as PostgreSQL's English stemmer matches them.
_SUFFIXES = ("ings", "ing", "ies", "es", "ed", "ly", "s")


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]  # lower-case; more than one for a phrase

    @property
    def text(self) -> str:
        return " ".join(self.words)


@dataclass
class ParsedQuery:
    # Every clause must match; a clause matches when any of its terms does (OR).
    clauses: list[list[Term]] = field(default_factory=list)
    excluded: list[Term] = field(default_factory=list)

    @property
    def positive_terms(self) -> list[Term]:
        return [term for clause in self.clauses for term in clause]

    @property
    def words(self) -> list[str]:
        return [word for term in self.positive_terms for word in term.words]

    def __bool__(self) -> bool:
        return bool(self.clauses)

    def to_text(self, replace: dict[str, str] | None = None) -> str:
        """The query written back in websearch syntax, with some words replaced (typo fixes)."""
        replace = replace or {}

        def written(term: Term) -> str:
            words = [replace.get(word, word) for word in term.words]
            return f'"{" ".join(words)}"' if len(words) > 1 else words[0]

        parts = [" or ".join(written(term) for term in clause) for clause in self.clauses]
        parts += [f"-{written(term)}" for term in self.excluded]
        return " ".join(parts)


def clean_query(raw: str) -> str:
    """Printable text, single spaces, at most MAX_QUERY characters (PostgreSQL refuses NUL)."""
    text = "".join(ch if ch.isprintable() else " " for ch in (raw or ""))
    return " ".join(text.split())[:MAX_QUERY]


def _words(text: str) -> tuple[str, ...]:
    return tuple(word.lower() for word in _WORD.findall(text))


def parse(raw: str) -> ParsedQuery:
    query = ParsedQuery()
    pending_or = False
    for match in _TOKEN.finditer(clean_query(raw)):
        negated, phrase, bare = match.group(1), match.group(2), match.group(3)
        if bare is not None:
            if bare.lower() == "or" and query.clauses:
                pending_or = True
                continue
            negated = "-" if bare.startswith("-") and len(bare) > 1 else ""
            # "black-and-white" needs all three words, as PostgreSQL reads hyphenated words.
            terms = [Term((word,)) for word in _words(bare)]
        else:
            words = _words(phrase)
            terms = [Term(words)] if words else []
        for term in terms:
            if negated:
                query.excluded.append(term)
            elif pending_or:
                query.clauses[-1].append(term)
            else:
                query.clauses.append([term])
            pending_or = False
        if len(query.clauses) + len(query.excluded) >= MAX_TERMS:
            break
    return query


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


@lru_cache(maxsize=256)
def _pattern(words: tuple[str, ...]) -> re.Pattern | None:
    """A word of the text matches a query word when it is that word or shares its stem and adds
    at most four letters ("portrait" ~ "portraits", "paint" ~ "painting")."""
    stems = sorted({_stem(word) for word in words if word}, key=len, reverse=True)
    if not stems:
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(stem) for stem in stems) + r")\w{0,4}\b", re.IGNORECASE)


def highlight(text: str, words: list[str]) -> SafeString:
    """`text` escaped, with the words matching the query inside <mark>. Only our own <mark> tags
    are markup: every character of the text goes through escape(), one piece at a time."""
    text = text or ""
    pattern = _pattern(tuple(words))
    if pattern is None:
        return escape(text)
    out, position = [], 0
    for match in pattern.finditer(text):
        out.append(escape(text[position : match.start()]))
        out.append(f"<mark>{escape(match.group(0))}</mark>")
        position = match.end()
    out.append(escape(text[position:]))
    return mark_safe("".join(out))


def snippet(text: str, words: list[str], *, length: int = 28) -> SafeString | None:
    """About `length` words of `text` around its first match, highlighted; None without a match."""
    text = text or ""
    pattern = _pattern(tuple(words))
    match = pattern.search(text) if pattern else None
    if match is None:
        return None
    before = text[: match.start()].split()
    start = max(0, len(before) - length // 3)
    tokens = text.split()
    end = min(len(tokens), start + length)
    body = highlight(" ".join(tokens[start:end]), words)
    return mark_safe(("… " if start else "") + body + (" …" if end < len(tokens) else ""))

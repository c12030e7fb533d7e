"""What a person typed in the search box, read the way PostgreSQL's websearch_to_tsquery reads it,
and matched words highlighted in HTML that is safe whatever the prompt's text contains.

`"golden hour" -portrait cat or dog` is: the phrase "golden hour", AND (cat OR dog), AND NOT
portrait. PostgreSQL parses the raw text itself; this reading serves the SQLite fallback and the
highlighting on both databases.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

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


def _matches(token: str, stems: set[str]) -> bool:
    lowered = token.lower()
    return _stem(lowered) in stems or lowered in stems


def highlight(text: str, words: list[str]) -> SafeString:
    """`text` escaped, with the words matching the query inside <mark>. Only our own <mark> tags
    are markup: every character of the text goes through escape(), one piece at a time."""
    stems = {_stem(word) for word in words} | set(words)
    out = []
    position = 0
    for match in _WORD.finditer(text or ""):
        if _matches(match.group(0), stems):
            out.append(escape(text[position:match.start()]))
            out.append(f"<mark>{escape(match.group(0))}</mark>")
            position = match.end()
    out.append(escape((text or "")[position:]))
    return mark_safe("".join(out))


def snippet(text: str, words: list[str], *, length: int = 28) -> SafeString | None:
    """About `length` words of `text` around its first match, highlighted; None without a match."""
    tokens = (text or "").split()
    stems = {_stem(word) for word in words} | set(words)
    for index, token in enumerate(tokens):
        if any(_matches(word, stems) for word in _WORD.findall(token)):
            start = max(0, index - length // 3)
            end = min(len(tokens), start + length)
            piece = " ".join(tokens[start:end])
            body = highlight(piece, words)
            return mark_safe(("… " if start else "") + body + (" …" if end < len(tokens) else ""))
    return None

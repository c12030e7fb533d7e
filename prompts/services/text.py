"""How text from the AI, the author or staff becomes what we store: plain, bounded, in the vocabulary.

AI answers are hostile input (a prompt can inject anything into them): everything here returns
plain text with no markup, and tags only ever come from the existing vocabulary.
"""

from __future__ import annotations

import html

from django.utils.html import strip_tags
from taggit.models import Tag

from prompts.services.seo import truncate_at_word
from prompts.vocabulary import pick_tags

DESCRIPTION_MAX = 2000
TITLE_MAX = 120
FALLBACK_TITLE_LENGTH = 50


def clean_text(value: str | None, *, limit: int) -> str:
    """Plain text: no markup, no control characters, whitespace folded, at most `limit` characters."""
    if not value:
        return ""
    text = html.unescape(strip_tags(str(value)))
    text = "".join(ch for ch in text if ch.isprintable() or ch.isspace())
    text = text.replace("<", "").replace(">", "")
    text = " ".join(text.split())
    return text[:limit].rstrip()


def clean_title(value: str | None) -> str:
    """A title: plain text without wrapping quotes or a final full stop, at most ten words if it rambles."""
    title = clean_text(value, limit=200).strip(" \"'“”‘’.")
    words = title.split()
    if len(words) > 12:
        title = " ".join(words[:10])
    return title[:TITLE_MAX].rstrip()


def clean_description(value: str | None) -> str:
    return clean_text(value, limit=DESCRIPTION_MAX)


def fallback_title(content: str) -> str:
    """The title used when the AI gave none: the prompt's first 50 characters, cut at a word, + '...'."""
    text = clean_text(content, limit=len(content or ""))
    if not text:
        return "Untitled prompt"
    if len(text) <= FALLBACK_TITLE_LENGTH:
        return text
    return truncate_at_word(text, FALLBACK_TITLE_LENGTH + 3, ellipsis="...")


def vocabulary() -> list[str]:
    return list(Tag.objects.order_by("name").values_list("name", flat=True))


def choose_tags(names: list[str]) -> list[Tag]:
    """Up to MAX_TAGS tags that already exist in the vocabulary; anything else is dropped, never created."""
    tags = {tag.name: tag for tag in Tag.objects.all()}
    return [tags[name] for name in pick_tags(list(names or []), list(tags))]

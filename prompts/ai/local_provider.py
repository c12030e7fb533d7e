"""The local provider, for development and deployments without an AI key.

It does NO image analysis: moderation reports that nothing was checked (checked=False), and the
title, description and tags are derived from the user's prompt text alone.
"""

import re

from prompts.ai.base import ContentResult, ModerationResult
from prompts.vocabulary import MAX_TAGS

PROVIDER = "local"
TITLE_MAX_WORDS = 10
DESCRIPTION_MAX_WORDS = 80
SMALL_WORDS = {"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to", "with"}


def moderate_image(*, image_bytes: bytes, content_type: str, timeout: float | None = None) -> ModerationResult:
    return ModerationResult(
        severity="none",
        violations=[],
        explanation="No automatic content check was made (local provider)",
        checked=False,
        provider=PROVIDER,
    )


def moderate_video_frames(*, sheet_bytes: bytes, content_type: str, timeout: float | None = None) -> ModerationResult:
    return moderate_image(image_bytes=sheet_bytes, content_type=content_type)


def generate_content(
    *, image_bytes: bytes, content_type: str, prompt_text: str, generator_label: str, available_tags: list[str]
) -> ContentResult:
    words = prompt_text.split()
    if not words:
        return ContentResult(title=None, description=None, tags=[])
    description_words = words[:DESCRIPTION_MAX_WORDS]
    quoted = " ".join(description_words) + (" ..." if len(words) > DESCRIPTION_MAX_WORDS else "")
    return ContentResult(
        title=_title(prompt_text),
        description=f"An AI-generated image made with {generator_label} from this prompt: {quoted}",
        tags=_matching_tags(prompt_text, available_tags),
        relevance_score=None,
        relevance_explanation=None,
    )


def _title(prompt_text: str) -> str | None:
    # The first clause, up to ten words: prompts run on with commas ("a castle, 8k, trending").
    first_clause = re.split(r"[,.;:!?\n]", prompt_text.strip(), maxsplit=1)[0]
    words = re.findall(r"[\w'-]+", first_clause)
    if len(words) < 5:
        words = re.findall(r"[\w'-]+", prompt_text)
    words = words[:TITLE_MAX_WORDS]
    while len(words) > 1 and words[-1].lower() in SMALL_WORDS:  # no title ends "... in the Rain at"
        words.pop()
    if not words:
        return None
    return " ".join(
        word.lower() if i and word.lower() in SMALL_WORDS else word[:1].upper() + word[1:]
        for i, word in enumerate(words)
    )


def _matching_tags(prompt_text: str, available_tags: list[str]) -> list[str]:
    """Vocabulary tags named in the prompt ("cats" or "cat" for Cats), in the order the prompt names them."""
    text = prompt_text.lower()
    found: list[tuple[int, str]] = []
    for tag in available_tags:
        phrase = tag.lower()
        forms = [phrase, phrase[:-1]] if phrase.endswith("s") and len(phrase) > 3 else [phrase]
        positions = [m.start() for form in forms for m in re.finditer(rf"(?<!\w){re.escape(form)}(?!\w)", text)]
        if positions:
            found.append((min(positions), tag))
    return [tag for _, tag in sorted(found)][:MAX_TAGS]

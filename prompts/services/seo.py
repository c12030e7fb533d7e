"""SEO helpers: meta titles and descriptions, alt text, file names, JSON-LD (slugs: slugs.py). Pure functions."""

import re
import time

from django.utils.text import slugify

STOP_WORDS = {"the", "a", "an", "in", "on", "at", "to", "for", "of", "and", "with", "by"}
ALT_MAX = 125
TITLE_MAX = 60
META_DESCRIPTION_MAX = 155
SLUG_MAX = 200


def truncate_at_word(text: str, limit: int, *, ellipsis: str = "…") -> str:
    """`text` cut to at most `limit` characters at a word boundary, marked with an ellipsis."""
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ellipsis) + 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    else:
        cut = cut[: limit - len(ellipsis)]
    return cut.rstrip(" ,;:.-–—") + ellipsis


def slugify_title(title: str) -> str:
    slug = slugify(title)[:SLUG_MAX].strip("-")
    return slug or "prompt"


def alt_text(*, title: str, generator_label: str) -> str:
    """'{Title} - {Generator} Prompt - AI-generated image', at most 125 characters."""
    suffix = f" - {generator_label} Prompt - AI-generated image"
    title = " ".join(title.split())
    if len(title) + len(suffix) <= ALT_MAX:
        return f"{title}{suffix}"
    room = ALT_MAX - len(suffix) - 3
    return f"{title[:room].rstrip()}...{suffix}"


def seo_filename_base(*, title: str, generator_slug: str, timestamp: int | None = None) -> str:
    """'vintage-fashion-urban-midjourney-prompt-1706299200': keywords, generator, 'prompt', time."""
    words = [w for w in re.findall(r"[a-z0-9]+", slugify(title)) if w not in STOP_WORDS]
    keywords = "-".join(words[:3])[:30].strip("-") or "image"
    stamp = int(time.time()) if timestamp is None else timestamp
    return f"{keywords}-{slugify(generator_slug)}-prompt-{stamp}"


def meta_title(title: str) -> str:
    return truncate_at_word(title, TITLE_MAX)


def meta_description(text: str, *, fallback: str = "") -> str:
    return truncate_at_word(text or fallback, META_DESCRIPTION_MAX)


def json_ld(
    *,
    prompt,
    page_url: str,
    image_url: str,
    thumb_url: str,
    author_url: str,
    generator_url: str,
    home_url: str,
    like_count: int,
    tags: list[str],
) -> list[dict]:
    """schema.org ImageObject and the breadcrumb, as plain data to serialise safely."""
    image = {
        "@context": "https://schema.org",
        "@type": "ImageObject",
        "name": prompt.title,
        "description": prompt.excerpt,
        "contentUrl": image_url,
        "thumbnailUrl": thumb_url,
        "url": page_url,
        "creator": {"@type": "Person", "name": prompt.author.username, "url": author_url},
        "datePublished": prompt.created_on.isoformat(),
        "dateModified": prompt.updated_on.isoformat(),
        "interactionStatistic": [
            {
                "@type": "InteractionCounter",
                "interactionType": "https://schema.org/LikeAction",
                "userInteractionCount": like_count,
            },
            {
                "@type": "InteractionCounter",
                "interactionType": "https://schema.org/ViewAction",
                "userInteractionCount": prompt.view_count,
            },
        ],
        "keywords": ", ".join(tags),
    }
    if prompt.width and prompt.height:
        image["width"], image["height"] = prompt.width, prompt.height
    breadcrumb = {
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": 1, "name": "Home", "item": home_url},
            {
                "@type": "ListItem",
                "position": 2,
                "name": f"{prompt.get_ai_generator_display()} Prompts",
                "item": generator_url,
            },
            {"@type": "ListItem", "position": 3, "name": prompt.title, "item": page_url},
        ],
    }
    return [image, breadcrumb]

"""The `<picture>` of a prompt: every stored variant, in every format, with its real width.

`{% picture prompt "card" %}` on cards, `{% picture prompt "detail" alt=alt_text %}` on the detail
page, and `{% picture_preload prompt "detail" %}` in its head so the browser fetches the same file
(the LCP image) before it has laid out the page. The widths in `srcset` are those of the files (a
portrait's "large" is 1200 px high, not wide), so a 2x screen gets a sharp picture.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import template

from prompts.media import storage
from prompts.media.images import AVIF_VARIANTS, FORMATS, VARIANT_BOXES, VARIANTS

register = template.Library()

# The slot the picture fills, as `sizes` says it to the browser; keep these in step with the CSS.
# detail: static/css/site.css `.two-col` (3fr of 5 beside the text, in `main`'s 1400 px less 2.5rem
# padding and the 1.5rem gap; one column below 768 px).
# card: static/css/site.css `.grid` (rows CARD_ROW_HEIGHT px high, each card as wide as its aspect ratio
# says, grown up to about CARD_ROW_GROWTH to fill the row).
DETAIL_SIZES = "(max-width: 768px) calc(100vw - 2rem), (max-width: 1400px) calc((100vw - 4rem) * .6), 802px"
CARD_ROW_HEIGHT = {"phone": 170, "wide": 250}
CARD_ROW_GROWTH = 1.4
# A card never gets narrower or wider than this (portrait 1:2 .. panorama 2:1); the picture is cropped to fit.
CARD_MIN_RATIO, CARD_MAX_RATIO = 0.5, 2.0
# Old fields that already hold the URLs of the first four variants.
_URL_FIELDS = {"thumb": "b2_thumb_url", "medium": "b2_medium_url", "large": "b2_large_url", "webp": "b2_webp_url"}
_ORDER = ("avif", "webp", "jpeg")  # the browser takes the first <source> it supports


@dataclass
class Picture:
    sources: list[dict]  # [{"type", "srcset"}] for AVIF/WebP
    src: str  # JPEG, the fallback
    srcset: str
    sizes: str
    width: int | None
    height: int | None
    ratio: float  # the card's layout ratio (clamped)


def _fit_width(width: int | None, height: int | None, box: int) -> int:
    if not width or not height:
        return box
    return max(1, round(width * min(box / width, box / height, 1.0)))


def _url(prompt, name: str) -> str:
    key = (prompt.media_keys or {}).get(name)
    if key:
        return storage.public_url(key)
    field = _URL_FIELDS.get(name)
    return getattr(prompt, field, "") if field else ""


def build_picture(prompt, layout: str) -> Picture | None:
    width, height = prompt.width, prompt.height
    by_format: dict[str, list[tuple[int, str]]] = {}
    for name, (kind, box) in {**VARIANTS, **AVIF_VARIANTS}.items():
        url = _url(prompt, name)
        if url:
            by_format.setdefault(kind, []).append((_fit_width(width, height, VARIANT_BOXES[box]), url))
    if "jpeg" not in by_format:
        return None
    srcsets = {}
    for kind, entries in by_format.items():
        seen: dict[int, str] = {}
        for w, url in sorted(entries):
            seen.setdefault(w, url)  # a small image: 300/600/1200 may be one width; keep one file of it
        srcsets[kind] = ", ".join(f"{url} {w}w" for w, url in seen.items())
    jpegs = dict(sorted(by_format["jpeg"]))
    ratio = (width / height) if width and height else 1.0
    ratio = min(max(ratio, CARD_MIN_RATIO), CARD_MAX_RATIO)
    if layout == "detail":
        sizes = DETAIL_SIZES
        src = _url(prompt, "medium") or next(iter(jpegs.values()))
    else:
        phone = round(ratio * CARD_ROW_HEIGHT["phone"] * CARD_ROW_GROWTH)
        wide = round(ratio * CARD_ROW_HEIGHT["wide"] * CARD_ROW_GROWTH)
        sizes = f"(max-width: 640px) min({phone}px, calc(100vw - 2rem)), {wide}px"
        src = _url(prompt, "thumb") or next(iter(jpegs.values()))
    sources = [
        {"type": FORMATS[kind][0], "srcset": srcsets[kind]} for kind in _ORDER if kind in srcsets and kind != "jpeg"
    ]
    return Picture(
        sources=sources, src=src, srcset=srcsets["jpeg"], sizes=sizes, width=width, height=height, ratio=ratio
    )


@register.inclusion_tag("prompts/_picture.html")
def picture(prompt, layout: str = "card", alt: str | None = None):
    return {
        "picture": build_picture(prompt, layout),
        "prompt": prompt,
        "alt": alt if alt is not None else (prompt.alt_text or prompt.title),
        "priority": layout == "detail",
    }


@register.inclusion_tag("prompts/_picture_preload.html")
def picture_preload(prompt, layout: str = "detail"):
    """A preload of the file the `<picture>` will choose: the first source the browser supports."""
    built = build_picture(prompt, layout)
    return {"picture": built, "first": built.sources[0] if built and built.sources else None}


@register.simple_tag
def card_ratio(prompt) -> str:
    """The card's layout ratio (width / height, clamped) for its style attribute."""
    ratio = (prompt.width / prompt.height) if prompt.width and prompt.height else 1.0
    return f"{min(max(ratio, CARD_MIN_RATIO), CARD_MAX_RATIO):.4f}"

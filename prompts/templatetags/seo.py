import base64
import functools
import io
import json

import blurhash
from django import template
from django.utils.safestring import mark_safe

register = template.Library()

_ESCAPES = {
    ord("<"): "\\u003C",
    ord(">"): "\\u003E",
    ord("&"): "\\u0026",
    ord("\u2028"): "\\u2028",
    ord("\u2029"): "\\u2029",
}


@register.filter
def ld_json(value) -> str:
    """JSON for a <script type="application/ld+json"> block: nothing in it can close the tag."""
    return mark_safe(json.dumps(value, ensure_ascii=False).translate(_ESCAPES))


@register.filter
def blurhash_uri(value: str) -> str:
    """A tiny PNG data URI painted from a BlurHash: the placeholder before an image arrives."""
    return _blurhash_uri(value or "")


@functools.lru_cache(maxsize=2048)
def _blurhash_uri(value: str) -> str:
    if not value:
        return ""
    try:
        img = blurhash.decode(value, 8, 8)
    except Exception:  # a damaged hash only costs the placeholder
        return ""
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()

"""NovelAI: PNG text chunks Title/Description/Software/Source and a `Comment` JSON with the settings.

The same dict travels gzipped in the alpha channel (stealth_pngcomp) and as EXIF text in converted
files. V4 models put the prompt in `v4_prompt.caption.base_caption`.
"""

from __future__ import annotations

from prompts.media.generation import text as t
from prompts.media.generation.found import Found

_COMMENT_KEYS = ("uc", "noise_schedule", "v4_prompt", "uncond_scale", "request_type", "n_samples")


def is_comment(data) -> bool:
    return isinstance(data, dict) and "prompt" in data and any(key in data for key in _COMMENT_KEYS)


def parse(texts: dict) -> Found | None:
    """`texts`: the PNG chunks (or the stealth dict). None unless it is NovelAI's."""
    comment = t.load_json(texts.get("Comment"))
    if not (str(texts.get("Software", "")).startswith("NovelAI") or is_comment(comment)):
        return None
    comment = comment if isinstance(comment, dict) else {}
    prompt = comment.get("prompt") if isinstance(comment.get("prompt"), str) else ""
    prompt = prompt or _caption(comment.get("v4_prompt")) or texts.get("Description", "")
    negative = comment.get("uc") if isinstance(comment.get("uc"), str) else ""
    negative = negative or _caption(comment.get("v4_negative_prompt"))
    found = Found(prompt=prompt, negative_prompt=negative, source="NovelAI")
    found.add("Steps", comment.get("steps"))
    found.add("Sampler", comment.get("sampler"))
    found.add("CFG scale", comment.get("scale"))
    found.add("Seed", comment.get("seed"))
    found.add("Scheduler", comment.get("noise_schedule"))
    found.add("Size", t.size(comment.get("width"), comment.get("height")))
    found.add("Model", texts.get("Source"))
    found.hints = "novelai"
    return found


def _caption(value) -> str:
    if isinstance(value, dict) and isinstance(value.get("caption"), dict):
        base = value["caption"].get("base_caption")
        return base if isinstance(base, str) else ""
    return ""

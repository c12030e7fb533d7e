"""InvokeAI, three generations of it.

- 3.x and later: `invokeai_metadata` JSON (positive_prompt, negative_prompt, seed, steps, cfg_scale,
  scheduler, width, height, model {name | model_name}).
- 2.x: `sd-metadata` JSON, settings under `image`; the prompt is a string or a list of weighted
  prompts, negative terms written in [brackets].
- 1.x: `Dream`: '"a cat [ugly]" -s 50 -S 42 -W 512 -H 512 -C 7.5 -A k_lms'.
"""

from __future__ import annotations

import re

from prompts.media.generation import text as t
from prompts.media.generation.found import Found

_DREAM_FLAGS = {"s": "Steps", "S": "Seed", "C": "CFG scale", "A": "Sampler", "m": "Sampler"}


def parse(texts: dict) -> Found | None:
    if "invokeai_metadata" in texts:
        return _v3(t.load_json(texts["invokeai_metadata"]))
    if "sd-metadata" in texts:
        return _v2(t.load_json(texts["sd-metadata"]))
    if "Dream" in texts:
        return _v1(texts["Dream"])
    return None


def _v3(meta) -> Found | None:
    if not isinstance(meta, dict):
        return None
    found = Found(
        prompt=meta.get("positive_prompt", ""), negative_prompt=meta.get("negative_prompt", ""), source="InvokeAI"
    )
    found.add("Steps", meta.get("steps"))
    found.add("Sampler", meta.get("scheduler"))
    found.add("CFG scale", meta.get("cfg_scale"))
    found.add("Seed", meta.get("seed"))
    found.add("Size", t.size(meta.get("width"), meta.get("height")))
    model = meta.get("model")
    if isinstance(model, dict):
        found.add("Model", model.get("name") or model.get("model_name"))
        found.hints = f"{t.value(model.get('base') or model.get('base_model'))} {found.settings.get('Model', '')}"
    return found


def _split_brackets(prompt: str) -> tuple[str, str]:
    negatives = [m.strip(" ,") for m in re.findall(r"\[([^\[\]]*)\]", prompt)]
    positive = re.sub(r"\[[^\[\]]*\]", "", prompt)
    return re.sub(r"\s{2,}", " ", positive).strip(" ,"), ", ".join(n for n in negatives if n)


def _v2(meta) -> Found | None:
    if not isinstance(meta, dict) or not isinstance(meta.get("image"), dict):
        return None
    image = meta["image"]
    prompt = image.get("prompt")
    if isinstance(prompt, list):
        prompt = " ".join(p["prompt"] for p in prompt if isinstance(p, dict) and isinstance(p.get("prompt"), str))
    positive, negative = _split_brackets(prompt if isinstance(prompt, str) else "")
    found = Found(prompt=positive, negative_prompt=negative, source="InvokeAI")
    found.add("Steps", image.get("steps"))
    found.add("Sampler", image.get("sampler"))
    found.add("CFG scale", image.get("cfg_scale"))
    found.add("Seed", image.get("seed"))
    found.add("Size", t.size(image.get("width"), image.get("height")))
    found.add("Model", meta.get("model_weights"))
    return found


def _v1(dream) -> Found | None:
    if not isinstance(dream, str):
        return None
    match = re.match(r'^\s*"(.*)"(.*)$', dream[:20000], re.DOTALL)
    if not match:
        return None
    positive, negative = _split_brackets(match.group(1))
    found = Found(prompt=positive, negative_prompt=negative, source="InvokeAI")
    flags = dict(re.findall(r"\s-(\w)\s*([^\s]+)", match.group(2)))
    for flag, name in _DREAM_FLAGS.items():
        if flag in flags:
            found.add(name, flags[flag])
    if "W" in flags and "H" in flags:
        found.add("Size", t.size(flags["W"], flags["H"]))
    return found

"""Which of our generator choices made the file.

Local tools (A1111, Forge, ComfyUI, SwarmUI, Fooocus, InvokeAI, Civitai, Hugging Face Spaces) are
front-ends: what matters to people is the model family, so they map to Flux when the model
says so and to Stable Diffusion otherwise (SD 1.5, SDXL, SD3, Pony, Illustrious ...).
"""

from __future__ import annotations

import re

LOCAL_TOOLS = {
    "Automatic1111",
    "Forge",
    "Forge Neo",
    "SD.Next",
    "ComfyUI",
    "SwarmUI",
    "Fooocus",
    "RuinedFooocus",
    "InvokeAI",
    "Civitai",
    "Hugging Face Space",
}

# (slug, pattern) checked in order on the C2PA credit and the file's own words.
_BY_NAME = [
    ("novelai", r"novel ?ai"),
    ("midjourney", r"midjourney|job id:"),
    ("dall-e", r"dall[·\-\s]?e"),
    ("gpt-image", r"chatgpt|gpt[\-\s]?image|gpt[\-\s]?4o|openai|sora"),
    ("gemini", r"gemini|imagen|google ai|made with google|nano[\-\s]?banana|google c2pa|\bgoogle\b"),
    ("firefly", r"firefly"),
    ("dall-e", r"bing image creator|microsoft designer|image creator from designer|microsoft"),
    ("ideogram", r"ideogram"),
    ("leonardo", r"leonardo"),
    ("flux", r"\bflux"),
    ("stable-diffusion", r"stable[\s\-_]?diffusion|\bsdxl\b|\bsd ?[123]\.?\d?\b|stability"),
]


def guess(source: str, hints: str, provenance: dict, extra: str = "") -> str:
    if source in LOCAL_TOOLS:
        return "flux" if re.search(r"flux", hints, re.IGNORECASE) else "stable-diffusion"
    if source == "NovelAI":
        return "novelai"
    credit = " ".join(str(provenance.get(k, "")) for k in ("claim_generator", "software_agent"))
    for text in (credit, f"{source} {hints} {extra}"):
        for slug, pattern in _BY_NAME:
            if text.strip() and re.search(pattern, text, re.IGNORECASE):
                return slug
    return ""

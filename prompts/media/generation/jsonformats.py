"""Generators that write a JSON object where A1111 writes its text (PNG `parameters`/`Comment`,
EXIF UserComment): Fooocus (both key styles), RuinedFooocus, SwarmUI, Hugging Face Spaces
(Gradio + diffusers), and Civitai's generator (a ComfyUI graph with `extraMetadata`).
"""

from __future__ import annotations

from prompts.media.generation import comfyui, novelai
from prompts.media.generation import text as t
from prompts.media.generation.found import Found


def parse(data) -> Found | None:
    """A reader for the object's shape, or None when it is none we know (it is then not a prompt)."""
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("sui_image_params"), dict):
        return _swarmui(data["sui_image_params"])
    if data.get("software") == "RuinedFooocus" or (
        "Prompt" in data and "Negative" in data and "base_model_name" in data
    ):
        return _ruined_fooocus(data)
    if "Prompt" in data and ("Base Model" in data or "Negative Prompt" in data):
        return _fooocus(data, upper=True)
    if "prompt" in data and ("base_model" in data or "metadata_scheme" in data or "full_prompt" in data):
        return _fooocus(data, upper=False)
    if "prompt" in data and ("num_inference_steps" in data or ("Model" in data and "resolution" in data)):
        return _hf_space(data)
    if novelai.is_comment(data) or str(data.get("Software", "")).startswith("NovelAI"):
        texts = data if "Comment" in data else {"Comment": data}
        return novelai.parse(texts)
    if isinstance(data.get("extraMetadata"), str):
        civitai = _civitai_extra(t.load_json(data["extraMetadata"]))
        if civitai is not None and civitai.useful:
            return civitai
    graph = comfyui.normalise(data)
    if graph is not None:
        source = "Civitai" if any(k.startswith("resource-stack") for k in data) else "ComfyUI"
        return comfyui.parse(graph, source)
    return None


def _fooocus(data: dict, *, upper: bool) -> Found:
    def get(name_upper: str, name_lower: str):
        return data.get(name_upper if upper else name_lower)

    found = Found(
        prompt=get("Prompt", "prompt") or "",
        negative_prompt=get("Negative Prompt", "negative_prompt") or "",
        source="Fooocus",
    )
    found.add("Steps", get("Steps", "steps"))
    found.add("Sampler", get("Sampler", "sampler"))
    found.add("Scheduler", get("Scheduler", "scheduler"))
    found.add("CFG scale", get("Guidance Scale", "guidance_scale"))
    found.add("Seed", get("Seed", "seed"))
    found.add("Size", t.size(str(get("Resolution", "resolution") or "")))
    found.add("Model", get("Base Model", "base_model"))
    found.add("Performance", get("Performance", "performance"))
    found.add("Version", get("Version", "version"))
    found.hints = found.settings.get("Model", "")
    return found


def _ruined_fooocus(data: dict) -> Found:
    found = Found(prompt=data.get("Prompt") or "", negative_prompt=data.get("Negative") or "", source="RuinedFooocus")
    found.add("Steps", data.get("steps"))
    found.add("Sampler", data.get("sampler_name"))
    found.add("Scheduler", data.get("scheduler"))
    found.add("CFG scale", data.get("cfg"))
    found.add("Seed", data.get("seed"))
    found.add("Size", t.size(data.get("width"), data.get("height")))
    found.add("Model", data.get("base_model_name"))
    found.hints = found.settings.get("Model", "")
    return found


def _swarmui(params: dict) -> Found:
    found = Found(
        prompt=params.get("prompt") or "", negative_prompt=params.get("negativeprompt") or "", source="SwarmUI"
    )
    found.add("Steps", params.get("steps"))
    found.add("Sampler", params.get("sampler"))
    found.add("Scheduler", params.get("scheduler"))
    found.add("CFG scale", params.get("cfgscale"))
    found.add("Seed", params.get("seed"))
    found.add("Size", t.size(params.get("width"), params.get("height")))
    found.add("Model", params.get("model"))
    found.hints = found.settings.get("Model", "")
    return found


def _hf_space(data: dict) -> Found:
    found = Found(
        prompt=data.get("prompt") or "", negative_prompt=data.get("negative_prompt") or "", source="Hugging Face Space"
    )
    found.add("Steps", data.get("num_inference_steps"))
    found.add("Sampler", data.get("sampler"))
    found.add("CFG scale", data.get("guidance_scale"))
    found.add("Seed", data.get("seed"))
    found.add("Size", t.size(str(data.get("resolution") or "")))
    found.add("Model", data.get("Model"))
    found.hints = found.settings.get("Model", "")
    return found


def _civitai_extra(extra) -> Found | None:
    if not isinstance(extra, dict):
        return None
    found = Found(prompt=extra.get("prompt") or "", negative_prompt=extra.get("negativePrompt") or "", source="Civitai")
    found.add("Steps", extra.get("steps"))
    found.add("Sampler", extra.get("sampler"))
    found.add("CFG scale", extra.get("cfgScale"))
    found.add("Seed", extra.get("seed"))
    found.add("Size", t.size(extra.get("width"), extra.get("height")))
    found.add("Model", extra.get("baseModel"))
    found.hints = found.settings.get("Model", "")
    return found

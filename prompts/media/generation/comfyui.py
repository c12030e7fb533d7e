"""ComfyUI graphs: the prompt the saved image was made from, and the settings of the first pass.

The API graph (`prompt` chunk, or EXIF in JPEG/WebP) maps node ids to {class_type, inputs};
an input is a value or a link [node id, output index]. Group nodes and subgraphs are already
flattened there (ids like "12:5"), so following links is enough. We start at the node that
saved the image, find the sampler that produced it, follow its `positive` input through any
chain of nodes (conditioning combiners, guiders, ControlNet, text boxes, primitives, concat
nodes, rgthree Power Prompt, ComfyRoll) down to the text, and read seed/steps/CFG/sampler/
model/size from the first sampling pass (the one no other sampler feeds), not from a hires,
refiner or detailer pass. When only the editor's `workflow` is stored, it is converted to the
same shape first.
"""

from __future__ import annotations

import re
from collections import deque

from prompts.media.generation import text as t
from prompts.media.generation.found import Found

MAX_NODES = 5000
MAX_DEPTH = 40
# Inputs holding the text itself, most specific first.
TEXT_INPUTS = (
    "populated_text",
    "text",
    "text_g",
    "prompt",
    "Text",
    "string",
    "value",
    "wildcard_text",
    "positive",
    "text_positive",
    "positive_prompt",
    "STRING",
)
CONDITIONING_INPUTS = (
    "conditioning",
    "conditioning_to",
    "conditioning_1",
    "cond",
    "base_positive",
    "conditioning_from",
    "conditioning_2",
    "clip_conditioning",
    "guider",
)
MODEL_NAMES = ("ckpt_name", "unet_name", "model_name", "base_ckpt_name", "gguf_name")


def _is_link(value) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], (str, int))
        and not isinstance(value[0], bool)
        and isinstance(value[1], int)
    )


def normalise(graph) -> dict[str, dict] | None:
    """{id: {"class_type": str, "inputs": dict}} or None when this is not an API graph."""
    if isinstance(graph, dict) and isinstance(graph.get("prompt"), (dict, str)) and "class_type" not in graph:
        graph = t.load_json(graph["prompt"])
    if not isinstance(graph, dict):
        return None
    nodes = {}
    for key, node in list(graph.items())[:MAX_NODES]:
        if isinstance(node, dict) and isinstance(node.get("class_type"), str):
            inputs = node.get("inputs")
            nodes[str(key)] = {"class_type": node["class_type"], "inputs": inputs if isinstance(inputs, dict) else {}}
    return nodes or None


def from_workflow(workflow) -> dict[str, dict] | None:
    """The editor's workflow ({nodes, links}) as an API-like graph: links become inputs, known widgets named."""
    if not isinstance(workflow, dict) or not isinstance(workflow.get("nodes"), list):
        return None
    links = {}
    for link in workflow.get("links", [])[: MAX_NODES * 4]:
        if isinstance(link, list) and len(link) >= 5:
            links[link[0]] = [str(link[1]), link[2] if isinstance(link[2], int) else 0]
        elif isinstance(link, dict) and "id" in link:
            links[link["id"]] = [str(link.get("origin_id")), link.get("origin_slot", 0)]
    nodes = {}
    for node in workflow["nodes"][:MAX_NODES]:
        if not isinstance(node, dict) or not isinstance(node.get("type"), str) or node.get("mode") in (2, 4):
            continue  # muted (2) and bypassed (4) nodes did not run
        inputs = {}
        widgets = node.get("widgets_values")
        if isinstance(widgets, dict):
            inputs.update({str(k): v for k, v in widgets.items()})
        elif isinstance(widgets, list):
            names = _WIDGETS.get(node["type"])
            if names is None and widgets and isinstance(widgets[0], str):
                names = ("text",) if node["type"] != "PrimitiveNode" else ("value",)
            for name, widget in zip(names or (), widgets, strict=False):
                if name:
                    inputs[name] = widget
            if node["type"] == "PrimitiveNode" and widgets:
                inputs["value"] = widgets[0]
        for slot in node.get("inputs") or []:
            if isinstance(slot, dict) and slot.get("link") in links and isinstance(slot.get("name"), str):
                inputs[slot["name"]] = links[slot["link"]]
        nodes[str(node.get("id"))] = {"class_type": node["type"], "inputs": inputs}
    return nodes or None


# Widget order of the core nodes whose values the editor stores as a plain list.
_WIDGETS = {
    "CLIPTextEncode": ("text",),
    "CLIPTextEncodeSDXL": (
        "width",
        "height",
        "crop_w",
        "crop_h",
        "target_width",
        "target_height",
        "text_g",
        None,
        "text_l",
    ),
    "KSampler": ("seed", None, "steps", "cfg", "sampler_name", "scheduler", "denoise"),
    "KSamplerAdvanced": (
        "add_noise",
        "noise_seed",
        None,
        "steps",
        "cfg",
        "sampler_name",
        "scheduler",
        "start_at_step",
        "end_at_step",
        "return_with_leftover_noise",
    ),
    "CheckpointLoaderSimple": ("ckpt_name",),
    "UNETLoader": ("unet_name", "weight_dtype"),
    "EmptyLatentImage": ("width", "height", "batch_size"),
    "EmptySD3LatentImage": ("width", "height", "batch_size"),
    "RandomNoise": ("noise_seed",),
    "KSamplerSelect": ("sampler_name",),
    "BasicScheduler": ("scheduler", "steps", "denoise"),
    "CFGGuider": ("cfg",),
    "FluxGuidance": ("guidance",),
    "SaveImage": ("filename_prefix",),
}


class Graph:
    def __init__(self, nodes: dict[str, dict]):
        self.nodes = nodes

    def node(self, ref) -> dict | None:
        return self.nodes.get(str(ref[0])) if _is_link(ref) else None

    def upstream(self, node_id: str) -> dict[str, int]:
        """Every node feeding `node_id`, with its distance."""
        seen, queue = {node_id: 0}, deque([node_id])
        while queue:
            current = queue.popleft()
            for value in self.nodes.get(current, {}).get("inputs", {}).values():
                if _is_link(value) and str(value[0]) in self.nodes and str(value[0]) not in seen:
                    seen[str(value[0])] = seen[current] + 1
                    queue.append(str(value[0]))
        seen.pop(node_id)
        return seen

    # --- text ---------------------------------------------------------------------------

    def string(self, value, depth: int = 0, seen: frozenset = frozenset()) -> str:
        """A text input: a literal, or the text a chain of string nodes produces."""
        if isinstance(value, str):
            return value
        if not _is_link(value) or depth > MAX_DEPTH or str(value[0]) in seen:
            return ""
        node = self.node(value)
        if node is None:
            return ""
        seen = seen | {str(value[0])}
        inputs = node["inputs"]
        kind = node["class_type"].lower()
        if any(word in kind for word in ("concat", "join", "combine", "append")):
            parts = [
                self.string(inputs[name], depth + 1, seen)
                for name in sorted(inputs, key=_natural)
                if name not in ("delimiter", "separator", "clean_whitespace", "linebreak_addition")
                and (isinstance(inputs[name], str) or _is_link(inputs[name]))
            ]
            delimiter = inputs.get("delimiter", inputs.get("separator", ""))
            return (delimiter if isinstance(delimiter, str) else "").replace("\\n", "\n").join(p for p in parts if p)
        if (
            "populated_text" in inputs
            and isinstance(inputs["populated_text"], str)
            and inputs["populated_text"].strip()
        ):
            return inputs["populated_text"]
        for name in TEXT_INPUTS:
            if name in inputs:
                text = self.string(inputs[name], depth + 1, seen)
                if text:
                    return text
        # a pass-through node (reroute, text switch): the first linked input
        for item in inputs.values():
            if _is_link(item):
                return self.string(item, depth + 1, seen)
        return ""

    def conditioning_text(self, ref, side: str, depth: int = 0, seen: frozenset = frozenset()) -> str:
        """Follow a CONDITIONING link (positive or negative side) to the text that was encoded."""
        node = self.node(ref)
        if node is None or depth > MAX_DEPTH or str(ref[0]) in seen:
            return ""
        seen = seen | {str(ref[0])}
        inputs = node["inputs"]
        for name in TEXT_INPUTS:
            if name in inputs and name not in ("positive",):
                text = self.string(inputs[name], depth + 1, seen)
                if text.strip():
                    return text
        for name in (side, *CONDITIONING_INPUTS):
            if _is_link(inputs.get(name)):
                text = self.conditioning_text(inputs[name], side, depth + 1, seen)
                if text.strip():
                    return text
        return ""

    # --- numbers ------------------------------------------------------------------------

    def scalar(self, value, depth: int = 0):
        """A widget value, following links to primitives and seed nodes."""
        if not _is_link(value):
            return value
        node = self.node(value)
        if node is None or depth > 10:
            return None
        inputs = node["inputs"]
        for name in (
            "value",
            "seed",
            "noise_seed",
            "int",
            "float",
            "number",
            "Value",
            "steps",
            "cfg",
            "string",
            "text",
            "sampler_name",
            "scheduler",
        ):
            if name in inputs:
                return self.scalar(inputs[name], depth + 1)
        return None

    def model_name(self, ref, depth: int = 0) -> str:
        node = self.node(ref)
        if node is None or depth > MAX_DEPTH:
            return ""
        for name in MODEL_NAMES:
            value = self.scalar(node["inputs"].get(name))
            if isinstance(value, str) and value:
                return value
        for name in ("model", "base_model", "MODEL", "model1"):
            if _is_link(node["inputs"].get(name)):
                return self.model_name(node["inputs"][name], depth + 1)
        return ""


def _natural(name: str):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def is_sampler(node: dict) -> bool:
    inputs = node["inputs"]
    if _is_link(inputs.get("guider")) and ("sigmas" in inputs or "noise" in inputs):
        return True  # SamplerCustomAdvanced
    return _is_link(inputs.get("positive")) and any(k in inputs for k in ("seed", "noise_seed", "steps", "sigmas"))


def _is_output(node: dict) -> bool:
    kind = node["class_type"].lower().replace(" ", "")
    return "saveimage" in kind or "imagesave" in kind or "saveanimated" in kind or kind.startswith("save")


def parse(nodes: dict[str, dict], source: str = "ComfyUI") -> Found | None:
    graph = Graph(nodes)
    samplers = [key for key, node in nodes.items() if is_sampler(node)]
    if not samplers:
        return _without_sampler(graph, source)
    outputs = [key for key, node in nodes.items() if _is_output(node)]
    final = None
    for output in sorted(outputs, key=_natural):
        reached = graph.upstream(output)
        feeding = sorted((distance, _natural(key), key) for key, distance in reached.items() if key in samplers)
        if feeding:
            final = feeding[0][2]
            break
    if final is None:  # no save node: the sampler no other sampler reads from
        fed = {key for s in samplers for key in graph.upstream(s)}
        final = min((s for s in samplers if s not in fed), key=_natural, default=samplers[0])
    chain = [final, *[key for key in graph.upstream(final) if key in samplers]]
    firsts = [s for s in chain if not any(k in samplers for k in graph.upstream(s))]
    first = min(firsts, key=_natural) if firsts else final

    prompt = _side_text(graph, nodes[final], "positive") or _side_text(graph, nodes[first], "positive")
    negative = _side_text(graph, nodes[final], "negative") or _side_text(graph, nodes[first], "negative")
    found = Found(prompt=prompt, negative_prompt=negative, source=source)
    _settings(graph, nodes[first], found)
    return found


def _side_text(graph: Graph, sampler: dict, side: str) -> str:
    inputs = sampler["inputs"]
    if _is_link(inputs.get(side)):
        return graph.conditioning_text(inputs[side], side)
    guider = graph.node(inputs.get("guider"))
    if guider is not None:
        if _is_link(guider["inputs"].get(side)):
            return graph.conditioning_text(guider["inputs"][side], side)
        if side == "positive" and _is_link(guider["inputs"].get("conditioning")):
            return graph.conditioning_text(guider["inputs"]["conditioning"], side)
    return ""


def _settings(graph: Graph, sampler: dict, found: Found) -> None:
    inputs = sampler["inputs"]
    noise = graph.node(inputs.get("noise"))
    guider = graph.node(inputs.get("guider"))
    select = graph.node(inputs.get("sampler"))
    sigmas = graph.node(inputs.get("sigmas"))
    seed = inputs.get("seed", inputs.get("noise_seed"))
    if noise is not None:
        seed = noise["inputs"].get("noise_seed", noise["inputs"].get("seed"))
    found.add("Seed", graph.scalar(seed))
    found.add("Steps", graph.scalar(inputs.get("steps", sigmas["inputs"].get("steps") if sigmas else None)))
    cfg = inputs.get("cfg", guider["inputs"].get("cfg") if guider else None)
    found.add("CFG scale", graph.scalar(cfg))
    sampler_name = inputs.get("sampler_name", select["inputs"].get("sampler_name") if select else None)
    found.add("Sampler", graph.scalar(sampler_name))
    found.add("Scheduler", graph.scalar(inputs.get("scheduler", sigmas["inputs"].get("scheduler") if sigmas else None)))
    denoise = graph.scalar(inputs.get("denoise", sigmas["inputs"].get("denoise") if sigmas else None))
    if isinstance(denoise, (int, float)) and not isinstance(denoise, bool) and denoise < 1:
        found.add("Denoising strength", denoise)
    model_ref = inputs.get("model", guider["inputs"].get("model") if guider else None)
    model = graph.model_name(model_ref) if model_ref is not None else ""
    if not model:
        model = next(
            (
                graph.scalar(n["inputs"].get(name))
                for n in graph.nodes.values()
                for name in MODEL_NAMES
                if isinstance(graph.scalar(n["inputs"].get(name)), str)
            ),
            "",
        )
    found.add("Model", model)
    found.hints = t.value(model)
    latent = graph.node(inputs.get("latent_image"))
    for _ in range(5):  # through latent batch / repeat nodes to the empty latent
        if latent is None or "width" in latent["inputs"] or "dimensions" in latent["inputs"]:
            break
        latent = graph.node(latent["inputs"].get("samples") or latent["inputs"].get("latent"))
    if latent is not None:
        latent_inputs = latent["inputs"]
        if "width" in latent_inputs:
            found.add("Size", t.size(graph.scalar(latent_inputs["width"]), graph.scalar(latent_inputs.get("height"))))
        elif isinstance(latent_inputs.get("dimensions"), str):
            found.add("Size", t.size(latent_inputs["dimensions"]))


def _without_sampler(graph: Graph, source: str) -> Found | None:
    """A graph with no recognisable sampler: only an unambiguous single text encoder is taken."""
    encoders = [n for n in graph.nodes.values() if "textencode" in n["class_type"].lower().replace(" ", "")]
    texts = {graph.string(n["inputs"].get("text")) for n in encoders} - {""}
    if len(texts) != 1:
        return None
    found = Found(prompt=texts.pop(), source=source)
    return found

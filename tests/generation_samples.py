"""Our own test files for every generator format the metadata reader knows, built at test time.

Each builder writes the bytes the way that generator does (container, field, charset, byte
order), from the format descriptions of the generators' writers and of the open-source readers;
no third-party file is copied. SAMPLES maps a name to (bytes builder, what the reader must yield).
"""

from __future__ import annotations

import gzip
import io
import json
import struct
import zlib

from PIL import Image

# --- containers -----------------------------------------------------------------------------


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def text_chunk(key: str, value: str, kind: str = "tEXt") -> bytes:
    """tEXt holds the UTF-8 bytes generators really write (the spec says Latin-1); iTXt/zTXt as specified."""
    if kind == "tEXt":
        return _chunk(b"tEXt", key.encode("latin-1") + b"\0" + value.encode("utf-8"))
    if kind == "zTXt":
        return _chunk(b"zTXt", key.encode("latin-1") + b"\0\0" + zlib.compress(value.encode("utf-8")))
    return _chunk(b"iTXt", key.encode("latin-1") + b"\0\0\0\0\0" + value.encode("utf-8"))


def png(chunks: list[bytes] = (), *, image: Image.Image | None = None, after_idat: list[bytes] = ()) -> bytes:
    """A PNG with extra chunks before the image data (and optionally after it, as some writers do)."""
    buffer = io.BytesIO()
    (image or Image.new("RGB", (64, 64), (40, 80, 120))).save(buffer, format="PNG")
    data = buffer.getvalue()
    first_idat = data.index(b"IDAT") - 4
    iend = data.rindex(b"IEND") - 4
    return data[:first_idat] + b"".join(chunks) + data[first_idat:iend] + b"".join(after_idat) + data[iend:]


ASCII, SHORT, LONG, UNDEFINED = 2, 3, 4, 7


def tiff(
    ifd0: list[tuple[int, int, bytes]], exif_ifd: list[tuple[int, int, bytes]] = (), *, little: bool = False
) -> bytes:
    """A TIFF/EXIF block: (tag, type, raw value bytes) entries; byte order as asked ('II' or 'MM')."""
    order = "<" if little else ">"
    entries0 = list(ifd0) + ([(0x8769, LONG, b"")] if exif_ifd else [])

    def ifd_size(entries):
        return 2 + 12 * len(entries) + 4

    offset0 = 8
    data_start0 = offset0 + ifd_size(entries0)
    blobs0 = sum(len(v) + (len(v) & 1) for _, _, v in entries0 if len(v) > 4)
    offset1 = data_start0 + blobs0

    def build(entries, start, data_start, exif_offset=None):
        head, blob = struct.pack(order + "H", len(entries)), b""
        for tag, kind, value in sorted(entries):
            if tag == 0x8769:
                head += struct.pack(order + "HHII", tag, LONG, 1, exif_offset)
                continue
            count = len(value) if kind in (ASCII, UNDEFINED) else len(value) // {SHORT: 2, LONG: 4, 5: 8}[kind]
            if len(value) <= 4:
                head += struct.pack(order + "HHI", tag, kind, count) + value.ljust(4, b"\0")
            else:
                head += struct.pack(order + "HHII", tag, kind, count, data_start + len(blob))
                blob += value + (b"\0" if len(value) & 1 else b"")
        return head + struct.pack(order + "I", 0) + blob

    body = build(entries0, offset0, data_start0, offset1)
    if exif_ifd:
        body += build(list(exif_ifd), offset1, offset1 + ifd_size(exif_ifd))
    return (b"II*\0" if little else b"MM\0*") + struct.pack(order + "I", 8) + body


def ascii_tag(tag: int, value: str) -> tuple[int, int, bytes]:
    """An EXIF ASCII field holding UTF-8, as generators write it."""
    return tag, ASCII, value.encode("utf-8") + b"\0"


def user_comment(value: str, charset: str) -> tuple[int, int, bytes]:
    raw = {
        "unicode-be": lambda: b"UNICODE\0" + value.encode("utf-16-be"),
        "unicode-le": lambda: b"UNICODE\0" + value.encode("utf-16-le"),
        "ascii": lambda: b"ASCII\0\0\0" + value.encode("utf-8"),
        "undefined": lambda: b"\0" * 8 + value.encode("utf-8"),
        "none": lambda: value.encode("utf-8"),
    }[charset]()
    return 0x9286, UNDEFINED, raw


def jpeg(
    exif: bytes | None = None, *, comment: bytes | None = None, extra_segments: list[bytes] = (), size=(64, 64)
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (90, 60, 30)).save(buffer, format="JPEG", quality=80)
    data = buffer.getvalue()
    segments = b""
    if exif is not None:
        payload = b"Exif\0\0" + exif
        segments += b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    if comment is not None:
        segments += b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    segments += b"".join(extra_segments)
    return data[:2] + segments + data[2:]


def webp(exif: bytes | None = None, *, xmp: bytes | None = None, animated: bool = False) -> bytes:
    buffer = io.BytesIO()
    frames = [Image.new("RGB", (64, 64), (10 * i, 120, 200)) for i in range(2 if animated else 1)]
    options = {"exif": b"Exif\0\0" + exif} if exif is not None else {}
    if xmp is not None:
        options["xmp"] = xmp
    frames[0].save(buffer, format="WEBP", lossless=True, save_all=animated, append_images=frames[1:], **options)
    return buffer.getvalue()


# --- stealth --------------------------------------------------------------------------------


def stealth_png(
    payload: str, *, mode: str = "alpha", compressed: bool = False, size=(200, 160), texts: list[bytes] = ()
) -> bytes:
    """The A1111 stealth-pnginfo / NovelAI layout: signature, 32-bit length in bits, payload; column by column."""
    signature = f"stealth_{'png' if mode == 'alpha' else 'rgb'}{'comp' if compressed else 'info'}".encode()
    body = gzip.compress(payload.encode("utf-8")) if compressed else payload.encode("utf-8")
    bits = "".join(f"{b:08b}" for b in signature) + f"{len(body) * 8:032b}" + "".join(f"{b:08b}" for b in body)
    image = Image.new("RGBA" if mode == "alpha" else "RGB", size)
    pixels = image.load()
    width, height = size
    for x in range(width):
        for y in range(height):
            shade = (x * 7 + y * 3) % 256
            pixels[x, y] = (shade, 255 - shade, (x * y) % 256, 255)[: 4 if mode == "alpha" else 3]
    index = 0
    for x in range(width):
        for y in range(height):
            if index >= len(bits):
                break
            value = list(pixels[x, y])
            if mode == "alpha":
                value[3] = (value[3] & ~1) | int(bits[index])
                index += 1
            else:
                for channel in range(3):
                    if index < len(bits):
                        value[channel] = (value[channel] & ~1) | int(bits[index])
                        index += 1
            pixels[x, y] = tuple(value)
    assert index >= len(bits), "image too small for the payload"
    return png(list(texts), image=image)


# --- payloads -------------------------------------------------------------------------------

PROMPT = "masterpiece, 1girl, #テスト, cherry blossoms,\u3000kawaii\u00a0smile, <lora:detail:0.7>"
NEGATIVE = "lowres, bad hands, (worst quality:1.4)"
A1111 = (
    f"{PROMPT}\nNegative prompt: {NEGATIVE}\n"
    "Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 3141592653, Size: 832x1216, "
    'Model hash: 1a2b3c4d, Model: animagineXL_v31, Lora hashes: "detail: 5e6f7a8b, other: 9a8b7c6d", '
    "Version: v1.10.1"
)
A1111_SETTINGS = {
    "Steps": "28",
    "Sampler": "DPM++ 2M",
    "CFG scale": "6.5",
    "Seed": "3141592653",
    "Size": "832x1216",
    "Model": "animagineXL_v31",
}


def expect(prompt=PROMPT, negative=NEGATIVE, settings=None, source="Automatic1111", generator="stable-diffusion"):
    return {
        "prompt": prompt,
        "negative_prompt": negative,
        "settings": settings or {},
        "source": source,
        "generator": generator,
    }


def comfy_node(class_type: str, **inputs) -> dict:
    return {"class_type": class_type, "inputs": inputs}


def comfy_basic(text=PROMPT, negative=NEGATIVE, ckpt="sd_xl_base_1.0.safetensors") -> dict:
    # The negative encoder comes first on purpose: "the first text node" is the wrong answer.
    return {
        "2": comfy_node("CLIPTextEncode", text=negative, clip=["4", 1]),
        "3": comfy_node(
            "KSampler",
            seed=42,
            steps=30,
            cfg=7.0,
            sampler_name="euler_ancestral",
            scheduler="normal",
            denoise=1.0,
            model=["4", 0],
            positive=["6", 0],
            negative=["2", 0],
            latent_image=["5", 0],
        ),
        "4": comfy_node("CheckpointLoaderSimple", ckpt_name=ckpt),
        "5": comfy_node("EmptyLatentImage", width=1024, height=768, batch_size=1),
        "6": comfy_node("CLIPTextEncode", text=text, clip=["4", 1]),
        "8": comfy_node("VAEDecode", samples=["3", 0], vae=["4", 2]),
        "9": comfy_node("SaveImage", filename_prefix="ComfyUI", images=["8", 0]),
    }


COMFY_BASIC_SETTINGS = {
    "Seed": "42",
    "Steps": "30",
    "CFG scale": "7",
    "Sampler": "euler_ancestral",
    "Scheduler": "normal",
    "Model": "sd_xl_base_1.0.safetensors",
    "Size": "1024x768",
}


def comfy_chain() -> dict:
    """The positive text reaches the sampler through primitives, a concat node, ComfyRoll, FluxGuidance and
    ControlNet."""
    graph = comfy_basic()
    graph["6"] = comfy_node("CLIPTextEncode", text=["20", 0], clip=["4", 1])
    graph.update(
        {
            "20": comfy_node(
                "Text Concatenate", text_a=["21", 0], text_b=["22", 0], delimiter=", ", clean_whitespace="true"
            ),
            "21": comfy_node("PrimitiveStringMultiline", value="masterpiece, 1girl, #テスト"),
            "22": comfy_node("CR Prompt Text", prompt="cherry blossoms,\u3000kawaii\u00a0smile, <lora:detail:0.7>"),
            "23": comfy_node("FluxGuidance", conditioning=["6", 0], guidance=3.5),
            "24": comfy_node(
                "ControlNetApplyAdvanced",
                positive=["23", 0],
                negative=["2", 0],
                control_net=["25", 0],
                image=["26", 0],
                strength=0.8,
                start_percent=0,
                end_percent=1,
            ),
            "25": comfy_node("ControlNetLoader", control_net_name="canny.safetensors"),
            "26": comfy_node("LoadImage", image="pose.png"),
        }
    )
    graph["3"]["inputs"]["positive"] = ["24", 0]
    graph["3"]["inputs"]["negative"] = ["24", 1]
    return graph


def comfy_power_prompt() -> dict:
    graph = comfy_basic()
    del graph["6"]
    graph["40"] = comfy_node(
        "Power Prompt (rgthree)",
        prompt=PROMPT,
        opt_clip=["4", 1],
        insert_lora="CHOOSE",
        insert_embedding="CHOOSE",
        insert_saved="CHOOSE",
    )
    graph["3"]["inputs"]["positive"] = ["40", 0]
    return graph


def comfy_subgraph() -> dict:
    """A subgraph/group node flattened by the frontend: inner ids are 'outer:inner'."""
    graph = comfy_basic()
    graph["57:12"] = graph.pop("6")
    graph["57:13"] = comfy_node("ConditioningCombine", conditioning_1=["57:12", 0], conditioning_2=["57:14", 0])
    graph["57:14"] = comfy_node("ConditioningZeroOut", conditioning=["57:12", 0])
    graph["3"]["inputs"]["positive"] = ["57:13", 0]
    return graph


def comfy_hires() -> dict:
    """Two passes; the upscale pass has the lower id and runs last: the first pass's settings are the ones to report."""
    graph = comfy_basic()
    first = graph.pop("3")
    first["inputs"].update(seed=111, steps=25, cfg=6.5, sampler_name="dpmpp_2m", scheduler="karras")
    graph.update(
        {
            "30": first,
            "31": comfy_node("VAEDecode", samples=["30", 0], vae=["4", 2]),
            "32": comfy_node("ImageScaleBy", image=["31", 0], upscale_method="lanczos", scale_by=1.5),
            "33": comfy_node("VAEEncode", pixels=["32", 0], vae=["4", 2]),
            "3": comfy_node(
                "KSampler",
                seed=222,
                steps=12,
                cfg=5.0,
                sampler_name="euler",
                scheduler="normal",
                denoise=0.45,
                model=["4", 0],
                positive=["6", 0],
                negative=["2", 0],
                latent_image=["33", 0],
            ),
        }
    )
    graph["8"]["inputs"]["samples"] = ["3", 0]
    return graph


COMFY_HIRES_SETTINGS = {
    "Seed": "111",
    "Steps": "25",
    "CFG scale": "6.5",
    "Sampler": "dpmpp_2m",
    "Scheduler": "karras",
    "Model": "sd_xl_base_1.0.safetensors",
    "Size": "1024x768",
}


def comfy_flux_custom_advanced() -> dict:
    return {
        "6": comfy_node("CLIPTextEncode", text=PROMPT, clip=["11", 0]),
        "8": comfy_node("VAEDecode", samples=["13", 0], vae=["10", 0]),
        "9": comfy_node("SaveImage", filename_prefix="flux", images=["8", 0]),
        "10": comfy_node("VAELoader", vae_name="ae.safetensors"),
        "11": comfy_node(
            "DualCLIPLoader", clip_name1="t5xxl_fp16.safetensors", clip_name2="clip_l.safetensors", type="flux"
        ),
        "12": comfy_node("UNETLoader", unet_name="flux1-dev.safetensors", weight_dtype="default"),
        "13": comfy_node(
            "SamplerCustomAdvanced",
            noise=["25", 0],
            guider=["22", 0],
            sampler=["16", 0],
            sigmas=["17", 0],
            latent_image=["27", 0],
        ),
        "16": comfy_node("KSamplerSelect", sampler_name="euler"),
        "17": comfy_node("BasicScheduler", scheduler="simple", steps=20, denoise=1.0, model=["30", 0]),
        "22": comfy_node("BasicGuider", model=["30", 0], conditioning=["26", 0]),
        "25": comfy_node("RandomNoise", noise_seed=["40", 0]),
        "26": comfy_node("FluxGuidance", guidance=3.5, conditioning=["6", 0]),
        "27": comfy_node("EmptySD3LatentImage", width=["41", 0], height=1344, batch_size=1),
        "30": comfy_node("ModelSamplingFlux", max_shift=1.15, base_shift=0.5, width=768, height=1344, model=["31", 0]),
        "31": comfy_node("LoraLoaderModelOnly", lora_name="style.safetensors", strength_model=0.8, model=["12", 0]),
        "40": comfy_node("Seed (rgthree)", seed=987654321),
        "41": comfy_node("PrimitiveInt", value=768),
    }


COMFY_FLUX_SETTINGS = {
    "Seed": "987654321",
    "Steps": "20",
    "Sampler": "euler",
    "Scheduler": "simple",
    "Model": "flux1-dev.safetensors",
    "Size": "768x1344",
}


def comfy_workflow_only() -> dict:
    """The editor's workflow format alone (nodes with widget lists, links as lists)."""
    return {
        "last_node_id": 9,
        "last_link_id": 9,
        "nodes": [
            {
                "id": 7,
                "type": "CLIPTextEncode",
                "inputs": [{"name": "clip", "type": "CLIP", "link": 5}],
                "widgets_values": [NEGATIVE],
            },
            {
                "id": 6,
                "type": "CLIPTextEncode",
                "inputs": [{"name": "clip", "type": "CLIP", "link": 3}],
                "widgets_values": [PROMPT],
            },
            {
                "id": 4,
                "type": "CheckpointLoaderSimple",
                "inputs": [],
                "widgets_values": ["juggernautXL_v9.safetensors"],
            },
            {"id": 5, "type": "EmptyLatentImage", "inputs": [], "widgets_values": [896, 1152, 1]},
            {
                "id": 3,
                "type": "KSampler",
                "inputs": [
                    {"name": "model", "link": 1},
                    {"name": "positive", "link": 4},
                    {"name": "negative", "link": 6},
                    {"name": "latent_image", "link": 2},
                ],
                "widgets_values": [5555, "fixed", 35, 5.5, "dpmpp_2m_sde", "karras", 1],
            },
            {"id": 8, "type": "VAEDecode", "inputs": [{"name": "samples", "link": 7}, {"name": "vae", "link": 8}]},
            {"id": 9, "type": "SaveImage", "inputs": [{"name": "images", "link": 9}], "widgets_values": ["ComfyUI"]},
        ],
        "links": [
            [1, 4, 0, 3, 0, "MODEL"],
            [2, 5, 0, 3, 3, "LATENT"],
            [3, 4, 1, 6, 0, "CLIP"],
            [4, 6, 0, 3, 1, "CONDITIONING"],
            [5, 4, 1, 7, 0, "CLIP"],
            [6, 7, 0, 3, 2, "CONDITIONING"],
            [7, 3, 0, 8, 0, "LATENT"],
            [8, 4, 2, 8, 1, "VAE"],
            [9, 8, 0, 9, 0, "IMAGE"],
        ],
    }


NOVELAI_COMMENT = {
    "prompt": PROMPT,
    "steps": 28,
    "height": 1216,
    "width": 832,
    "scale": 5.0,
    "uncond_scale": 0.0,
    "cfg_rescale": 0.0,
    "seed": 2718281828,
    "n_samples": 1,
    "noise_schedule": "karras",
    "sampler": "k_euler_ancestral",
    "uc": NEGATIVE,
    "request_type": "PromptGenerateRequest",
    "v4_prompt": {"caption": {"base_caption": PROMPT, "char_captions": []}, "use_coords": False, "use_order": True},
    "v4_negative_prompt": {"caption": {"base_caption": NEGATIVE, "char_captions": []}},
}
NOVELAI_TEXTS = {
    "Title": "NovelAI generated image",
    "Description": PROMPT,
    "Software": "NovelAI",
    "Source": "NovelAI Diffusion V4.5 4BDE2A90",
    "Generation time": "6.1",
    "Comment": json.dumps(NOVELAI_COMMENT),
}
NOVELAI_SETTINGS = {
    "Steps": "28",
    "Sampler": "k_euler_ancestral",
    "CFG scale": "5",
    "Seed": "2718281828",
    "Scheduler": "karras",
    "Size": "832x1216",
    "Model": "NovelAI Diffusion V4.5 4BDE2A90",
}

FOOOCUS_UPPER = {
    "Prompt": PROMPT,
    "Negative Prompt": NEGATIVE,
    "Fooocus V2 Expansion": "expanded words",
    "Styles": "['Fooocus V2', 'Fooocus Enhance']",
    "Performance": "Speed",
    "Resolution": "(896, 1152)",
    "Sharpness": 2,
    "Guidance Scale": 4,
    "ADM Guidance": "(1.5, 0.8, 0.3)",
    "Base Model": "juggernautXL_v8Rundiffusion.safetensors",
    "Refiner Model": "None",
    "Sampler": "dpmpp_2m_sde_gpu",
    "Scheduler": "karras",
    "Seed": "1234567890",
    "Version": "Fooocus v2.1.865",
}
FOOOCUS_LOWER = {
    "adm_guidance": "(1.5, 0.8, 0.3)",
    "base_model": "juggernautXL_v8Rundiffusion.safetensors",
    "base_model_hash": "aeb7e9e689",
    "full_prompt": [PROMPT, "expanded"],
    "guidance_scale": 4,
    "negative_prompt": NEGATIVE,
    "performance": "Speed",
    "prompt": PROMPT,
    "resolution": "(896, 1152)",
    "sampler": "dpmpp_2m_sde_gpu",
    "scheduler": "karras",
    "seed": "1234567890",
    "steps": 30,
    "styles": "['Fooocus V2']",
    "version": "Fooocus v2.5.0",
    "metadata_scheme": "fooocus",
}
FOOOCUS_SETTINGS = {
    "Sampler": "dpmpp_2m_sde_gpu",
    "Scheduler": "karras",
    "CFG scale": "4",
    "Seed": "1234567890",
    "Size": "896x1152",
    "Model": "juggernautXL_v8Rundiffusion.safetensors",
}
RUINED = {
    "Prompt": PROMPT,
    "Negative": NEGATIVE,
    "steps": 30,
    "cfg": 8.0,
    "width": 1152,
    "height": 896,
    "seed": 77,
    "sampler_name": "dpmpp_2m_sde_gpu",
    "scheduler": "karras",
    "base_model_name": "sd_xl_base_1.0_0.9vae.safetensors",
    "base_model_hash": "e6bb9ea85b",
    "loras": [],
    "start_step": 0,
    "denoise": None,
    "clip_skip": 1,
    "software": "RuinedFooocus",
}
RUINED_SETTINGS = {
    "Steps": "30",
    "CFG scale": "8",
    "Seed": "77",
    "Sampler": "dpmpp_2m_sde_gpu",
    "Scheduler": "karras",
    "Size": "1152x896",
    "Model": "sd_xl_base_1.0_0.9vae.safetensors",
}
SWARM = {
    "sui_image_params": {
        "prompt": PROMPT,
        "negativeprompt": NEGATIVE,
        "model": "flux1-schnell",
        "seed": 1901,
        "steps": 4,
        "cfgscale": 1.0,
        "aspectratio": "1:1",
        "width": 1024,
        "height": 1024,
        "sampler": "euler",
        "scheduler": "simple",
        "swarm_version": "0.9.6.2",
    },
    "sui_extra_data": {"date": "2025-05-01", "generation_time": "0.66 (prep) and 3.12 (gen) seconds"},
    "sui_models": [{"name": "flux1-schnell.safetensors", "param": "model", "hash": "0x1234"}],
}
SWARM_SETTINGS = {
    "Steps": "4",
    "Sampler": "euler",
    "Scheduler": "simple",
    "CFG scale": "1",
    "Seed": "1901",
    "Size": "1024x1024",
    "Model": "flux1-schnell",
}
HF_SPACE = {
    "prompt": PROMPT,
    "negative_prompt": NEGATIVE,
    "resolution": "832 x 1216",
    "guidance_scale": 7,
    "num_inference_steps": 28,
    "style_preset": "(None)",
    "seed": 42424242,
    "sampler": "Euler a",
    "Model": "Animagine XL 3.1",
    "Model hash": "e3c47aedb0",
}
HF_SETTINGS = {
    "Steps": "28",
    "Sampler": "Euler a",
    "CFG scale": "7",
    "Seed": "42424242",
    "Size": "832x1216",
    "Model": "Animagine XL 3.1",
}
CIVITAI_TEXT = (
    f"{PROMPT}\nNegative prompt: {NEGATIVE}\nSteps: 25, CFG scale: 3.5, Sampler: Euler, Seed: 808, "
    "Size: 832x1216, Clip skip: 2, Created Date: 2025-04-01T10:00:00.000Z, Civitai resources: "
    '[{"type":"checkpoint","modelVersionId":691639,"modelName":"FLUX","modelVersionName":"Dev"},'
    '{"type":"lora","weight":0.8,"modelVersionId":12345,"modelName":"Detail, Tweaker","modelVersionName":"v1"}], '
    'Civitai metadata: {"remixOfId":123}'
)
CIVITAI_SETTINGS = {
    "Steps": "25",
    "CFG scale": "3.5",
    "Sampler": "Euler",
    "Seed": "808",
    "Size": "832x1216",
    "Clip skip": "2",
}


def civitai_graph() -> dict:
    graph = comfy_basic(ckpt="urn:air:sdxl:checkpoint:civitai:101055@128078")
    graph["resource-stack"] = graph.pop("4")
    graph["3"]["inputs"]["model"] = ["resource-stack", 0]
    graph["extra"] = {"airs": ["urn:air:sdxl:checkpoint:civitai:101055@128078"]}
    graph["extraMetadata"] = json.dumps(
        {
            "prompt": PROMPT,
            "negativePrompt": NEGATIVE,
            "cfgScale": 7,
            "sampler": "Euler a",
            "steps": 30,
            "seed": 4242,
            "width": 1024,
            "height": 1024,
            "baseModel": "SDXL 1.0",
        }
    )
    return graph


CIVITAI_GRAPH_SETTINGS = {
    "Steps": "30",
    "Sampler": "Euler a",
    "CFG scale": "7",
    "Seed": "4242",
    "Size": "1024x1024",
    "Model": "SDXL 1.0",
}

INVOKE_V3 = {
    "generation_mode": "txt2img",
    "positive_prompt": PROMPT,
    "negative_prompt": NEGATIVE,
    "width": 1024,
    "height": 1024,
    "seed": 31337,
    "rand_device": "cpu",
    "cfg_scale": 7.5,
    "cfg_rescale_multiplier": 0,
    "steps": 30,
    "scheduler": "dpmpp_2m_k",
    "model": {"key": "abc", "hash": "blake3:00", "name": "Juggernaut XL v9", "base": "sdxl", "type": "main"},
}
INVOKE_V3_SETTINGS = {
    "Steps": "30",
    "Sampler": "dpmpp_2m_k",
    "CFG scale": "7.5",
    "Seed": "31337",
    "Size": "1024x1024",
    "Model": "Juggernaut XL v9",
}
INVOKE_V2 = {
    "model": "stable diffusion",
    "model_weights": "stable-diffusion-1.5",
    "model_hash": "cc6cb27103",
    "app_id": "invoke-ai/InvokeAI",
    "app_version": "2.2.4",
    "image": {
        "prompt": [{"prompt": "a lighthouse at dusk, oil painting [blurry, lowres]", "weight": 1.0}],
        "steps": 50,
        "cfg_scale": 7.5,
        "threshold": 0,
        "perlin": 0,
        "height": 512,
        "width": 512,
        "seed": 1234,
        "seamless": False,
        "hires_fix": False,
        "type": "txt2img",
        "postprocessing": None,
        "sampler": "k_lms",
        "variations": [],
    },
}
INVOKE_V1 = '"a lighthouse at dusk, oil painting [blurry, lowres]" -s 50 -S 1234 -W 512 -H 512 -C 7.5 -A k_lms'
INVOKE_OLD_SETTINGS = {"Steps": "50", "Seed": "1234", "CFG scale": "7.5", "Sampler": "k_lms", "Size": "512x512"}


def _exif_graph(prefix_make: str, prefix_model: str, graph: dict, workflow: dict) -> bytes:
    return tiff(
        [ascii_tag(0x010F, prefix_make + json.dumps(workflow)), ascii_tag(0x0110, prefix_model + json.dumps(graph))]
    )


# name -> (builder, expected). Every expected dict lists the prompt, negative, settings that must be
# present (other settings may be there too), source and generator.
SAMPLES = {
    "a1111_png_utf8_text": (lambda: png([text_chunk("parameters", A1111)]), expect(settings=A1111_SETTINGS)),
    "a1111_png_itxt_after_idat": (
        lambda: png(after_idat=[text_chunk("parameters", A1111, "iTXt")]),
        expect(settings=A1111_SETTINGS),
    ),
    "a1111_png_ztxt": (lambda: png([text_chunk("parameters", A1111, "zTXt")]), expect(settings=A1111_SETTINGS)),
    "a1111_jpeg_unicode_be": (
        lambda: jpeg(tiff([], [user_comment(A1111, "unicode-be")])),
        expect(settings=A1111_SETTINGS),
    ),
    "a1111_jpeg_unicode_le_in_big_endian_file": (
        lambda: jpeg(tiff([], [user_comment(A1111, "unicode-le")])),
        expect(settings=A1111_SETTINGS),
    ),
    "a1111_webp_unicode_le": (
        lambda: webp(tiff([], [user_comment(A1111, "unicode-le")], little=True)),
        expect(settings=A1111_SETTINGS),
    ),
    "a1111_jpeg_ascii_utf8": (lambda: jpeg(tiff([], [user_comment(A1111, "ascii")])), expect(settings=A1111_SETTINGS)),
    "a1111_jpeg_undefined_charset": (
        lambda: jpeg(tiff([], [user_comment(A1111, "undefined")])),
        expect(settings=A1111_SETTINGS),
    ),
    "forge_flux_webp": (
        lambda: webp(
            tiff(
                [],
                [
                    user_comment(
                        A1111.replace("animagineXL_v31", "flux1-dev-bnb-nf4-v2").replace(
                            "v1.10.1", "f2.0.1v1.10.1-previous-313"
                        ),
                        "unicode-be",
                    )
                ],
            )
        ),
        expect(settings={**A1111_SETTINGS, "Model": "flux1-dev-bnb-nf4-v2"}, source="Forge", generator="flux"),
    ),
    "sdnext_png": (
        lambda: png([text_chunk("parameters", A1111.replace("Version: v1.10.1", "App: SD.Next, Version: 0f8f9a7"))]),
        expect(settings=A1111_SETTINGS, source="SD.Next"),
    ),
    "civitai_jpeg_text": (
        lambda: jpeg(tiff([], [user_comment(CIVITAI_TEXT, "unicode-be")])),
        expect(settings=CIVITAI_SETTINGS, source="Civitai", generator="flux"),
    ),
    "civitai_jpeg_graph": (
        lambda: jpeg(tiff([], [user_comment(json.dumps(civitai_graph()), "unicode-be")])),
        expect(settings=CIVITAI_GRAPH_SETTINGS, source="Civitai"),
    ),
    "fooocus_png_json": (
        lambda: png([text_chunk("parameters", json.dumps(FOOOCUS_UPPER)), text_chunk("fooocus_scheme", "fooocus")]),
        expect(settings=FOOOCUS_SETTINGS, source="Fooocus"),
    ),
    "fooocus_jpeg_bare_user_comment": (
        lambda: jpeg(
            tiff(
                [ascii_tag(0x0131, "Fooocus v2.5.0")],
                [user_comment(json.dumps(FOOOCUS_LOWER, ensure_ascii=False), "none"), (0x927C, UNDEFINED, b"fooocus")],
            )
        ),
        expect(settings={**FOOOCUS_SETTINGS, "Steps": "30"}, source="Fooocus"),
    ),
    "ruinedfooocus_png_parameters": (
        lambda: png([text_chunk("parameters", json.dumps(RUINED))]),
        expect(settings=RUINED_SETTINGS, source="RuinedFooocus"),
    ),
    "ruinedfooocus_png_comment": (
        lambda: png([text_chunk("Comment", json.dumps(RUINED))]),
        expect(settings=RUINED_SETTINGS, source="RuinedFooocus"),
    ),
    "swarmui_png": (
        lambda: png([text_chunk("parameters", json.dumps(SWARM, ensure_ascii=False))]),
        expect(settings=SWARM_SETTINGS, source="SwarmUI", generator="flux"),
    ),
    "swarmui_jpeg_unicode_le": (
        lambda: jpeg(tiff([], [user_comment(json.dumps(SWARM, ensure_ascii=False), "unicode-le")], little=True)),
        expect(settings=SWARM_SETTINGS, source="SwarmUI", generator="flux"),
    ),
    "hf_space_png": (
        lambda: png([text_chunk("parameters", json.dumps(HF_SPACE))]),
        expect(settings=HF_SETTINGS, source="Hugging Face Space"),
    ),
    "novelai_png": (
        lambda: png([text_chunk(k, v) for k, v in NOVELAI_TEXTS.items()]),
        expect(settings=NOVELAI_SETTINGS, source="NovelAI", generator="novelai"),
    ),
    "novelai_stealth_pngcomp": (
        lambda: stealth_png(json.dumps(NOVELAI_TEXTS), compressed=True, size=(300, 200)),
        expect(settings=NOVELAI_SETTINGS, source="NovelAI", generator="novelai"),
    ),
    "a1111_stealth_pnginfo": (lambda: stealth_png(A1111), expect(settings=A1111_SETTINGS)),
    "a1111_stealth_rgbinfo": (lambda: stealth_png(A1111, mode="rgb"), expect(settings=A1111_SETTINGS)),
    "a1111_stealth_rgbcomp": (lambda: stealth_png(A1111, mode="rgb", compressed=True), expect(settings=A1111_SETTINGS)),
    "a1111_stealth_small_image": (lambda: stealth_png(A1111, size=(120, 100)), expect(settings=A1111_SETTINGS)),
    "invokeai_v3_png": (
        lambda: png(
            [
                text_chunk("invokeai_metadata", json.dumps(INVOKE_V3, ensure_ascii=False)),
                text_chunk("invokeai_graph", "{}"),
            ]
        ),
        expect(settings=INVOKE_V3_SETTINGS, source="InvokeAI"),
    ),
    "invokeai_v2_sd_metadata": (
        lambda: png([text_chunk("sd-metadata", json.dumps(INVOKE_V2))]),
        expect(
            prompt="a lighthouse at dusk, oil painting",
            negative="blurry, lowres",
            settings={**INVOKE_OLD_SETTINGS, "Model": "stable-diffusion-1.5"},
            source="InvokeAI",
        ),
    ),
    "invokeai_v1_dream": (
        lambda: png([text_chunk("Dream", INVOKE_V1)]),
        expect(
            prompt="a lighthouse at dusk, oil painting",
            negative="blurry, lowres",
            settings=INVOKE_OLD_SETTINGS,
            source="InvokeAI",
        ),
    ),
    "comfyui_png_link_chain": (
        lambda: png(
            [text_chunk("prompt", json.dumps(comfy_chain(), ensure_ascii=False), "iTXt"), text_chunk("workflow", "{}")]
        ),
        expect(
            prompt="masterpiece, 1girl, #テスト, cherry blossoms,\u3000kawaii\u00a0smile, <lora:detail:0.7>",
            settings=COMFY_BASIC_SETTINGS,
            source="ComfyUI",
        ),
    ),
    "comfyui_png_power_prompt": (
        lambda: png([text_chunk("prompt", json.dumps(comfy_power_prompt(), ensure_ascii=False))]),
        expect(settings=COMFY_BASIC_SETTINGS, source="ComfyUI"),
    ),
    "comfyui_png_subgraph": (
        lambda: png([text_chunk("prompt", json.dumps(comfy_subgraph(), ensure_ascii=False))]),
        expect(settings=COMFY_BASIC_SETTINGS, source="ComfyUI"),
    ),
    "comfyui_png_hires_two_samplers": (
        lambda: png([text_chunk("prompt", json.dumps(comfy_hires(), ensure_ascii=False))]),
        expect(settings=COMFY_HIRES_SETTINGS, source="ComfyUI"),
    ),
    "comfyui_png_sampler_custom_advanced_flux": (
        lambda: png([text_chunk("prompt", json.dumps(comfy_flux_custom_advanced(), ensure_ascii=False))]),
        expect(negative="", settings=COMFY_FLUX_SETTINGS, source="ComfyUI", generator="flux"),
    ),
    "comfyui_png_placeholder_parameters": (
        lambda: png(
            [text_chunk("parameters", "unknown"), text_chunk("prompt", json.dumps(comfy_basic(), ensure_ascii=False))]
        ),
        expect(settings=COMFY_BASIC_SETTINGS, source="ComfyUI"),
    ),
    "comfyui_png_workflow_only": (
        lambda: png([text_chunk("workflow", json.dumps(comfy_workflow_only(), ensure_ascii=False))]),
        expect(
            settings={
                "Seed": "5555",
                "Steps": "35",
                "CFG scale": "5.5",
                "Sampler": "dpmpp_2m_sde",
                "Scheduler": "karras",
                "Model": "juggernautXL_v9.safetensors",
                "Size": "896x1152",
            },
            source="ComfyUI",
        ),
    ),
    "comfyui_animated_webp_make_model": (
        lambda: webp(_exif_graph("workflow:", "prompt:", comfy_basic(), comfy_workflow_only()), animated=True),
        expect(settings=COMFY_BASIC_SETTINGS, source="ComfyUI"),
    ),
    "comfyui_save_image_extended_jpeg": (
        lambda: jpeg(
            tiff(
                [
                    ascii_tag(0x010E, "Workflow: " + json.dumps(comfy_workflow_only())),
                    ascii_tag(0x010F, "Prompt: " + json.dumps(comfy_basic())),
                ]
            )
        ),
        expect(settings=COMFY_BASIC_SETTINGS, source="ComfyUI"),
    ),
    "comfyui_save_image_plus_ifd0_user_comment": (
        lambda: webp(
            tiff([user_comment(json.dumps({"prompt": comfy_basic(), "workflow": comfy_workflow_only()}), "none")])
        ),
        expect(settings=COMFY_BASIC_SETTINGS, source="ComfyUI"),
    ),
    "midjourney_jpeg_description_utf8": (
        lambda: jpeg(tiff([ascii_tag(0x010E, "#テスト a neon city in the rain --ar 16:9 --v 6.1 Job ID: 4d5e6f")])),
        expect(
            prompt="#テスト a neon city in the rain --ar 16:9 --v 6.1 Job ID: 4d5e6f",
            negative="",
            source="EXIF/XMP",
            generator="midjourney",
        ),
    ),
}

# Files from editors and cameras: nothing in them is a prompt.
GIMP_XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:description><rdf:Alt>'
    b'<rdf:li xml:lang="x-default">Created with GIMP</rdf:li></rdf:Alt></dc:description>'
    b"</rdf:Description></rdf:RDF></x:xmpmeta>"
)
NOT_PROMPTS = {
    "gimp_webp_comment": lambda: webp(
        tiff([ascii_tag(0x0131, "GIMP 2.10.36")], [user_comment("Created with GIMP", "ascii")]), xmp=GIMP_XMP
    ),
    "gimp_jpeg_com": lambda: jpeg(comment=b"Created with GIMP"),
    "gimp_webp_own_comment": lambda: webp(
        tiff([ascii_tag(0x0131, "GIMP 2.10.36")], [user_comment("Holiday card for grandma, 2023", "ascii")])
    ),
    "camera_jpeg_description": lambda: jpeg(
        tiff(
            [
                ascii_tag(0x010E, "Sunset over the lake at the cottage"),
                ascii_tag(0x010F, "Canon"),
                ascii_tag(0x0110, "Canon EOS R6"),
            ],
            [(0x829A, 5, struct.pack(">II", 1, 250)), (0x8827, SHORT, struct.pack(">H", 200))],
        )
    ),
    "olympus_jpeg": lambda: jpeg(tiff([ascii_tag(0x010E, "OLYMPUS DIGITAL CAMERA         ")])),
    "photoshop_png": lambda: png(
        [text_chunk("Software", "Adobe Photoshop 25.0"), text_chunk("Description", "Created with Adobe Photoshop")]
    ),
    "lightroom_jpeg": lambda: jpeg(
        tiff(
            [
                ascii_tag(0x0131, "Adobe Photoshop Lightroom Classic 13.0"),
                ascii_tag(0x010E, "Family portrait in the garden"),
            ]
        )
    ),
    "lightroom_webp_xmp_caption": lambda: webp(
        xmp=(
            b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description xmp:CreatorTool="Adobe Photoshop Lightroom '
            b'Classic 13.0"><dc:description><rdf:Alt>'
            b'<rdf:li xml:lang="x-default">Family portrait in the garden</rdf:li>'
            b"</rdf:Alt></dc:description></rdf:Description></rdf:RDF></x:xmpmeta>"
        )
    ),
    "plain_png": lambda: png(),
}

"""Reading generation metadata from an upload: prompts.media.generation.read on 3 MB files.

Inputs are generated here from fixed seeds, just under the 3 MiB upload limit, with noise so they
do not compress: a 1024x768 RGBA PNG carrying a ComfyUI graph and workflow, the same picture
with A1111 `parameters` text, an RGBA PNG with NovelAI-style stealth bits (gzip), a 4000x3000-ish
JPEG with an A1111 UTF-16 UserComment, and a PNG signed with C2PA Content Credentials. The
baseline, measured in the same run, is the way the previous reader looked at a PNG: Pillow's
`Image.open(...).text`, which decodes every pixel to reach text chunks after the image data.

Target (PASS/MISS): the reader takes < 20 ms (p95) on the 3 MB PNGs without stealth bits. A file
that does carry stealth bits must be decoded to read them: reported, no target. The privacy
rewrites (clear_stealth_bits, remove_provenance) are reported too.
"""

from __future__ import annotations

import io
import json
import os
import random
import struct
from pathlib import Path

from PIL import Image

from bench.common import OtherLoad, Table, measure, print_header, verdict, write_results
from prompts.media import generation
from tests import generation_samples as samples

NAME = "generation_metadata"
ROOT = Path(__file__).resolve().parent.parent
WARMUP, REPEATS = 2, 15
TARGET_MS = 20.0
MAX_IMAGE_BYTES = 3 * 1024 * 1024  # mirrors UPLOAD_MAX_IMAGE_BYTES


def noisy(mode: str, size: tuple[int, int], seed: int) -> Image.Image:
    channels = len(mode)
    raw = bytearray(random.Random(seed).randbytes(size[0] * size[1] * channels))
    if mode == "RGBA":
        raw[3::4] = b"\xff" * (size[0] * size[1])  # opaque, like generator output
    return Image.frombytes(mode, size, bytes(raw))


def inputs() -> list[tuple[str, bytes, bool]]:
    """(label, bytes, has a target)."""
    rgba = noisy("RGBA", (1000, 740), 1)
    graph, workflow = samples.comfy_hires(), samples.comfy_workflow_only()
    comfy = samples.png(
        [samples.text_chunk("prompt", json.dumps(graph)), samples.text_chunk("workflow", json.dumps(workflow))],
        image=rgba,
    )
    a1111 = samples.png([samples.text_chunk("parameters", samples.A1111)], image=noisy("RGB", (1150, 860), 2))
    stealth = _stealth_full_size(rgba)
    photo = noisy("RGB", (1400, 1050), 3)
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=92)
    jpeg = buffer.getvalue()
    jpeg = _jpeg_with_comment(jpeg)
    from tests.c2pa_signing import signed_image

    buffer = io.BytesIO()
    noisy("RGB", (800, 800), 4).save(buffer, format="PNG")
    signed = signed_image("PNG", claim_generator="ChatGPT", software_agent="GPT-4o", image=buffer.getvalue())
    return [
        ("PNG RGBA + ComfyUI graph", comfy, True),
        ("PNG RGB + A1111 text", a1111, True),
        ("PNG RGBA + stealth_pngcomp", stealth, False),
        ("JPEG + A1111 UserComment", jpeg, False),
        ("PNG + C2PA manifest", signed, False),
    ]


def _stealth_full_size(image: Image.Image) -> bytes:
    """The picture with NovelAI's gzip stealth payload in its first columns, as NovelAI writes it."""
    payload = json.dumps(samples.NOVELAI_TEXTS)
    small = Image.open(io.BytesIO(samples.stealth_png(payload, compressed=True, size=(40, image.height))))
    merged = image.copy()
    merged.paste(small.crop((0, 0, 40, image.height)), (0, 0))
    buffer = io.BytesIO()
    merged.save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg_with_comment(jpeg: bytes) -> bytes:
    exif = b"Exif\0\0" + samples.tiff([], [samples.user_comment(samples.A1111, "unicode-be")])
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif + jpeg[2:]


def baseline(data: bytes) -> None:
    image = Image.open(io.BytesIO(data))
    getattr(image, "text", None)


def run() -> None:
    print_header(NAME)
    print("generating inputs ...", flush=True)
    files = inputs()
    for label, data, _ in files:
        within = "within" if len(data) <= MAX_IMAGE_BYTES else "OVER"
        print(f"  {label}: {len(data):,} bytes ({len(data) / 2**20:.2f} MiB, {within} the 3 MiB limit)")
    table = Table(
        f"Read time per file, ms (warm-up {WARMUP}, {REPEATS} runs each, interleaved)",
        ["input", "MiB", "baseline p50", "ours p50", "ours p95", "ours min", "found", "target"],
    )
    rewrite = Table(
        "Privacy rewrites per file, ms (p50)", ["input", "clear_stealth_bits", "remove_provenance", "changed"]
    )
    timings = {}
    with OtherLoad() as other_load:
        for label, data, targeted in files:
            results: list[dict] = []
            got = measure(
                {
                    "baseline": lambda data=data: baseline(data),
                    "ours": lambda data=data, results=results: results.append(generation.read(data)),
                },
                warmup=WARMUP,
                repeats=REPEATS,
            )
            timings[label] = {name: timing.as_dict() for name, timing in got.items()}
            found = results[-1]
            what = (found.get("source") or "") + (f", {found['generator']}" if found.get("generator") else "")
            if found.get("provenance"):
                what += ", C2PA"
            target = f"<{TARGET_MS:g} {verdict(got['ours'].p95 < TARGET_MS)}" if targeted else "—"
            table.add(
                label,
                f"{len(data) / 2**20:.2f}",
                got["baseline"].p50,
                got["ours"].p50,
                got["ours"].p95,
                got["ours"].min,
                what or "nothing",
                target,
            )
            fmt = "JPEG" if label.startswith("JPEG") else "PNG"
            outputs: dict[str, bytes] = {}

            def clear(data=data, fmt=fmt, outputs=outputs) -> None:
                outputs["clear"] = generation.clear_stealth_bits(data, fmt)

            def remove(data=data, fmt=fmt, outputs=outputs) -> None:
                outputs["remove"] = generation.remove_provenance(data, fmt)

            private = measure({"clear": clear, "remove": remove}, warmup=1, repeats=5)
            changed = [name for name in ("clear", "remove") if outputs[name] != data]
            rewrite.add(label, private["clear"].p50, private["remove"].p50, ", ".join(changed) or "neither")
    table.notes = [
        "baseline = Image.open(data).text, how the previous reader reached PNG text chunks (it decodes the pixels).",
        (
            "ours = prompts.media.generation.read: our own chunk/segment walk, EXIF via Pillow, stealth check on the "
            "first 120 rows of the first column only, c2pa-python only when a manifest box is present."
        ),
        "A file with stealth bits is decoded in full to read them (no target for it).",
    ]
    if other_load.share is not None:
        busy = other_load.share > 0.10
        table.notes.append(
            f"{'MACHINE BUSY: ' if busy else ''}other processes used {other_load.share:.0%} of the "
            f"{os.cpu_count()} CPUs while these were timed."
        )
    rewrite.notes = [
        (
            "clear_stealth_bits re-encodes a PNG only when it carries the stealth signature (noise "
            "compresses slowly: a real picture re-encodes faster); remove_provenance copies the container "
            "without C2PA boxes."
        )
    ]
    for item in (table, rewrite):
        print()
        print(item.render())
    path = write_results(
        NAME,
        [table, rewrite],
        inputs={label: len(data) for label, data, _ in files},
        timings=timings,
        other_processes_cpu_share=other_load.share,
    )
    print(f"\nwritten {path.relative_to(ROOT)}")

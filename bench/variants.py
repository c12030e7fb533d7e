"""Variant pipeline: prompts.media.images against the spec's naive loop, measured in one run.

Inputs are generated here from fixed seeds: a 12 MP photo-like JPEG carrying EXIF Orientation 6
and a GPS block, a 2048x2048 RGBA PNG with transparency, and a 1080p H.264 MP4. For each input
the table reports the time of the naive loop and of ours, the size of every variant from both,
SSIM of our variants against a reference made the slow, careful way, and the SSIM the codec
alone allows (the reference itself after one JPEG/WebP round trip), so a shortfall can be put
on the pipeline or on the content. Every timed run's output is kept and compared: the variants
must be byte-identical from run to run. A fresh child process per path gives the peak memory
of one upload.

The colour-managed path is measured on its own: the same 12 MP JPEG bytes with a Display P3 profile
(tests/icc/DisplayP3.icm) or an sRGB profile spliced in (no re-encode, so only the profile differs),
against the untagged file in the same interleaved run, plus the one-time cost of building a
transform for a new profile (Display P3, and the CMYK SWOP LUT profile in tests/icc/).

Targets (from the issue): >= 4x faster than the naive loop on the 12 MP JPEG, SSIM >= 0.98 for
every variant, peak RSS < 300 MB. They are reported as PASS/MISS; the run never fails on them.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageOps

from bench.common import OtherLoad, Table, measure, print_header, verdict, write_results

NAME = "variants"
ROOT = Path(__file__).resolve().parent.parent
WARMUP, REPEATS = 1, 7
SPEEDUP_TARGET = 4.0
SSIM_TARGET = 0.98
RSS_TARGET_MB = 300
# Mirror UPLOAD_MAX_IMAGE_BYTES / UPLOAD_MAX_VIDEO_BYTES in prompts_manager/settings.py
# (not imported: this benchmark needs no Django settings).
MAX_IMAGE_BYTES = 3 * 1024 * 1024
MAX_VIDEO_BYTES = 15 * 1024 * 1024

# The same six files ours makes (JPEG and WebP at 300/600/1200), each the spec's way.
NAIVE_BOXES = {"thumb": 300, "medium": 600, "large": 1200}
NAIVE_WEBP_BOXES = {"webp_thumb": 300, "webp": 600, "webp_large": 1200}
VARIANTS = ["thumb", "medium", "large", "webp_thumb", "webp", "webp_large"]
ORIENTATION = 0x0112
GPS_IFD = 0x8825
# What exif_transpose does for each orientation, so a naive (unrotated) output can be compared.
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


# --- Inputs -------------------------------------------------------------------------------


def photo_jpeg(seed: int = 20240601) -> bytes:
    """4000x3000 JPEG q90 of about 2.8 MB: smooth colour fields plus grain, like a phone photo.

    The grain is what makes it compress like a photo; its amplitude is tuned so the file lands
    just under the 3 MiB upload limit.
    """
    import numpy as np

    width, height = 4000, 3000
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    pixels = np.empty((height, width, 3), np.float32)
    for channel, (fx, fy, phase) in enumerate([(1.3, 0.7, 0.0), (0.8, 1.6, 1.0), (2.1, 1.1, 2.0)]):
        pixels[..., channel] = (
            128
            + 70 * np.sin(2 * np.pi * (fx * x + phase)) * np.cos(2 * np.pi * fy * y)
            + 30 * np.sin(2 * np.pi * (7 * x * y + channel))
        )
    # Coarse colour texture (noise at 1/4 scale, enlarged) plus fine luminance grain.
    coarse = rng.normal(128, 6, (height // 4, width // 4, 3)).clip(0, 255).astype(np.uint8)
    coarse = Image.fromarray(coarse).resize((width, height), Image.Resampling.BILINEAR)
    pixels += np.asarray(coarse, np.float32) - 128
    pixels += rng.normal(0, 4.0, (height, width, 1)).astype(np.float32)
    img = Image.fromarray(pixels.clip(0, 255).astype(np.uint8))

    exif = Image.Exif()
    exif[ORIENTATION] = 6  # stored landscape, shown portrait (a phone held upright)
    exif[0x010F] = "BenchCam"
    exif[0x0110] = "Model 12MP"
    exif[GPS_IFD] = {1: "N", 2: (51.0, 30.0, 26.0), 3: "W", 4: (0.0, 7.0, 39.0)}
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=90, exif=exif.tobytes())
    return buffer.getvalue()


ICC_DIR = ROOT / "tests" / "icc"


def with_icc_profile(jpeg: bytes, profile: bytes) -> bytes:
    """The same JPEG with an ICC profile segment (APP2) spliced in after SOI: identical pixel data."""
    payload = b"ICC_PROFILE\0\x01\x01" + profile
    return jpeg[:2] + b"\xff\xe2" + (len(payload) + 2).to_bytes(2, "big") + payload + jpeg[2:]


def transparent_png(seed: int = 7) -> bytes:
    """2048x2048 RGBA: an opaque disc with a soft edge, a half-transparent band, clear corners.

    Fully transparent pixels are stored black, as many editors write them: a pipeline that drops
    alpha instead of compositing shows black corners.
    """
    import numpy as np

    size = 2048
    rng = np.random.default_rng(seed)
    x = np.linspace(-1, 1, size, dtype=np.float32)[None, :]
    y = np.linspace(-1, 1, size, dtype=np.float32)[:, None]
    radius = np.sqrt(x * x + y * y)
    rgb = np.stack(
        np.broadcast_arrays(
            150 + 90 * np.cos(3 * x) * np.sin(2 * y + 0.5),
            120 + 80 * np.sin(4 * x * y + 1.0),
            140 + 100 * np.cos(2.5 * y - x),
        ),
        axis=-1,
    )
    rgb = rgb + rng.normal(0, 1.6, (size, size, 1))
    alpha = np.clip((0.85 - radius) / 0.05, 0, 1) * 255  # disc with a 5% soft edge
    band = (np.abs(y) < 0.1) & (radius >= 0.85)
    alpha = np.where(band, 128, alpha)
    rgb = np.where(alpha[..., None] == 0, 0, rgb)
    pixels = np.concatenate([rgb, np.broadcast_to(alpha[..., None], (size, size, 1))], axis=-1)
    buffer = io.BytesIO()
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8), "RGBA").save(buffer, format="PNG")
    return buffer.getvalue()


def video_mp4(seed: int = 11, target_bytes: int = 12_000_000) -> bytes:
    """1920x1080 H.264 at 30 fps: moving colour fields with grain, cut once it reaches ~12 MB."""
    import av
    import numpy as np

    width, height = 1920, 1080
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    buffer = io.BytesIO()
    container = av.open(buffer, mode="w", format="mp4")
    stream = container.add_stream("libx264", rate=30)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    # ultrafast keeps generation to a few seconds and has no lookahead, so the size check below
    # sees each frame as it is encoded.
    stream.options = {"preset": "ultrafast", "crf": "14"}
    frames = 0
    while buffer.tell() < target_bytes and frames < 600:
        t = frames / 30
        rgb = np.stack(
            np.broadcast_arrays(
                128 + 90 * np.sin(2 * np.pi * (x + 0.2 * t)) * np.cos(2 * np.pi * y),
                128 + 90 * np.sin(2 * np.pi * (1.5 * y + 0.3 * t)) + 0 * x,
                128 + 60 * np.cos(2 * np.pi * (3 * x * y + t)),
            ),
            axis=-1,
        ) + rng.normal(0, 4, (height, width, 1)).astype(np.float32)
        frame = av.VideoFrame.from_ndarray(rgb.clip(0, 255).astype(np.uint8), format="rgb24")
        for packet in stream.encode(frame):
            container.mux(packet)
        frames += 1
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return buffer.getvalue()


# --- The two pipelines ----------------------------------------------------------------------


def naive_variants(data: bytes) -> dict[str, bytes]:
    """The spec's loop, as written there: one open and thumbnail per variant, in sequence (extended to the
    six files we now store, so both sides make the same set)."""
    files = {}
    for name, box in NAIVE_BOXES.items():
        img = Image.open(io.BytesIO(data))
        img.thumbnail((box, box), Image.LANCZOS)
        if img.mode != "RGB":
            img = img.convert("RGB")
        out = io.BytesIO()
        img.save(out, format="JPEG", quality=85)
        files[name] = out.getvalue()
    for name, box in NAIVE_WEBP_BOXES.items():
        img = Image.open(io.BytesIO(data))
        img.thumbnail((box, box), Image.LANCZOS)
        out = io.BytesIO()
        img.save(out, format="WEBP", quality=80)
        files[name] = out.getvalue()
    return files


def our_image_variants(data: bytes) -> dict[str, bytes]:
    from prompts.media import images

    return images.make_variants(data).files


def our_video_variants(data: bytes) -> dict[str, bytes]:
    from prompts.media import images, video

    # examine() is the whole single decode of a video upload: checks, poster and moderation frames.
    return images.variants_from_image(video.examine(data).poster).files


# --- Quality --------------------------------------------------------------------------------


def reference_image(data: bytes, kind: str) -> Image.Image:
    """The careful way: full decode, orientation applied, alpha composited on white. RGB."""
    if kind == "video":
        import av

        with av.open(io.BytesIO(data)) as container:
            frame = next(container.decode(video=0))
            return frame.to_image().convert("RGB")
    img = Image.open(io.BytesIO(data))
    img.load()
    img = ImageOps.exif_transpose(img)
    return on_white(img)


def on_white(img: Image.Image) -> Image.Image:
    if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    return img.convert("RGB")


def ssim(a: Image.Image, b: Image.Image) -> float:
    """Mean SSIM (Wang et al. 2004) of the luma of two same-size images.

    Gaussian window 11x11, sigma 1.5, K1 0.01, K2 0.03, L 255, on Pillow's "L" conversion
    (ITU-R 601 luma); only windows that fit wholly inside the image are averaged ("valid").
    """
    import numpy as np

    if a.size != b.size:
        raise ValueError(f"SSIM needs equal sizes, got {a.size} and {b.size}")
    x = np.asarray(a.convert("L"), np.float64)
    y = np.asarray(b.convert("L"), np.float64)
    taps = np.exp(-((np.arange(11) - 5) ** 2) / (2 * 1.5**2))
    taps /= taps.sum()

    def blur(m):  # separable 'valid' convolution: 11 shifted, weighted sums per axis
        rows = sum(w * m[i : m.shape[0] - 10 + i, :] for i, w in enumerate(taps))
        return sum(w * rows[:, i : rows.shape[1] - 10 + i] for i, w in enumerate(taps))

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    index = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return float(index.mean())


def quality_against(reference: Image.Image, encoded: bytes, upright=None) -> tuple[tuple[int, int], float]:
    """(size as stored, SSIM against the reference resized with LANCZOS to the shown size)."""
    img = Image.open(io.BytesIO(encoded))
    stored = img.size
    img = on_white(img)
    if upright is not None:
        img = img.transpose(upright)
    expected = reference.resize(img.size, Image.Resampling.LANCZOS)
    return stored, ssim(expected, img)


def codec_ceiling(reference: Image.Image, size: tuple[int, int], variant: str) -> float:
    """SSIM of the reference itself after one trip through our encoder settings.

    No pipeline that stores JPEG q85 / WebP q80 can score above this on the same content, so
    (ceiling - ours) is what the pipeline loses, apart from what the codec loses.
    """
    from prompts.media import images

    expected = reference.resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    if variant.startswith("webp"):
        expected.save(buffer, format="WEBP", quality=images.WEBP_QUALITY, method=images.WEBP_METHOD)
    else:
        expected.save(buffer, format="JPEG", quality=images.JPEG_QUALITY)
    return ssim(expected, Image.open(buffer))


# --- Peak memory ----------------------------------------------------------------------------

CHILD_CODE = {
    "import only": "from prompts.media import images",
    "ours: JPEG 12 MP": "from prompts.media import images; images.make_variants(data)",
    "naive loop: JPEG 12 MP": "from bench.variants import naive_variants; naive_variants(data)",
    "ours: MP4 poster": "from prompts.media import images, video; "
    "images.variants_from_image(video.examine(data).poster)",
    "ours: JPEG 12 MP Display P3": "from prompts.media import images; images.make_variants(data)",
}
# Linux carries the old address space's high-water mark across exec, so a child forked straight
# from this (large, numpy-filled) process would report at least our own peak. A small launcher
# runs the worker instead and reports getrusage(RUSAGE_CHILDREN) for it alone.
LAUNCHER = (
    "import resource, subprocess, sys; "
    "subprocess.run([sys.executable, '-c', sys.argv[1], sys.argv[2]], check=True); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)
WORKER = (
    "import sys; data = open(sys.argv[1], 'rb').read(); {code}; "
    "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')]; "
    "print(hwm[0].split()[1] if hwm else 0, file=sys.stderr)"
)


def peak_rss_mb(code: str, path: Path) -> tuple[float, float]:
    """(ru_maxrss, VmHWM) in MB of a fresh Python that reads `path` into `data` and runs `code`."""
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, WORKER.format(code=code), str(path)], cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"child failed ({done.returncode}): {done.stderr[-2000:]}")
    maxrss_kib = int(done.stdout.split()[-1])  # Linux reports KiB
    hwm_kib = int(done.stderr.split()[-1])
    return maxrss_kib / 1024, hwm_kib / 1024


# --- The benchmark --------------------------------------------------------------------------


def run() -> None:
    print_header(NAME)
    print("generating inputs ...", flush=True)
    jpeg, png, mp4 = photo_jpeg(), transparent_png(), video_mp4()
    inputs = [
        # (label, kind, bytes, upload limit, orientation the naive loop ignores)
        ("JPEG 4000x3000 EXIF6+GPS", "image", jpeg, MAX_IMAGE_BYTES, 6),
        ("PNG 2048x2048 RGBA", "image", png, MAX_IMAGE_BYTES, 1),
        ("MP4 1920x1080 H.264", "video", mp4, MAX_VIDEO_BYTES, 1),
    ]
    for label, _, data, limit, _ in inputs:
        within = "within" if len(data) <= limit else "OVER"
        print(f"  {label}: {len(data):,} bytes ({len(data) / 2**20:.2f} MiB, {within} the {limit // 2**20} MiB limit)")

    speed = Table(
        f"Time per upload, ms (warm-up {WARMUP}, {REPEATS} runs each, interleaved)",
        [
            "input",
            "MiB",
            "naive p50",
            "naive p95",
            "ours p50",
            "ours p95",
            "ours min",
            "ours output",
            "speed-up",
            "target",
            "speed-up of min",
        ],
    )
    quality = Table(
        "Variants: stored w×h, KB, and SSIM against the reference",
        [
            "input",
            "variant",
            "naive w×h",
            "ours w×h",
            "dims",
            "naive KB",
            "ours KB",
            "SSIM naive",
            "SSIM ours",
            "codec ceiling",
            "ours-ceiling",
            "target",
        ],
    )
    all_timings = {}
    timed: list[tuple[str, str, bytes, int, list[dict[str, bytes]]]] = []
    with OtherLoad() as other_load:
        for label, kind, data, _, orientation in inputs:
            ours_fn = our_video_variants if kind == "video" else our_image_variants
            outputs: list[dict[str, bytes]] = []  # every run's files, to check the output is stable
            fns = {"ours": lambda: outputs.append(ours_fn(data))}
            if kind == "image":  # the spec has no naive loop for video: ours is reported alone
                fns = {"naive": lambda: naive_variants(data), **fns}
            timings = measure(fns, warmup=WARMUP, repeats=REPEATS)
            all_timings[label] = {name: timing.as_dict() for name, timing in timings.items()}
            ours, naive = timings["ours"], timings.get("naive")
            versions = len({_digest(files) for files in outputs})
            stable = f"same ×{len(outputs)}" if versions == 1 else f"{versions} VERSIONS in {len(outputs)}"
            ratio = naive.p50 / ours.p50 if naive else None
            target = "—"
            if label.startswith("JPEG"):
                target = f"≥{SPEEDUP_TARGET:g}× {verdict(ratio >= SPEEDUP_TARGET)}"
            speed.add(
                label,
                f"{len(data) / 2**20:.2f}",
                naive.p50 if naive else "—",
                naive.p95 if naive else "—",
                ours.p50,
                ours.p95,
                ours.min,
                stable,
                f"{ratio:.2f}×" if ratio else "—",
                target,
                f"{naive.min / ours.min:.2f}×" if naive else "—",
            )
            timed.append((label, kind, data, orientation, outputs))

    for label, kind, data, orientation, outputs in timed:
        reference = reference_image(data, kind)
        our_files = outputs[0]
        naive_files = naive_variants(data) if kind == "image" else {}
        upright = UPRIGHT.get(orientation)
        for variant in VARIANTS:
            our_size, our_ssim = quality_against(reference, our_files[variant])
            ceiling = codec_ceiling(reference, our_size, variant)
            naive_cells = ["—", "—", "—", "—"]
            if variant in naive_files:
                naive_size, naive_ssim = quality_against(reference, naive_files[variant], upright)
                shown = naive_size[::-1] if orientation in (5, 6, 7, 8) else naive_size
                match = "match" if shown == our_size else "DIFFER"
                naive_cells = [_dims(naive_size), match, round(len(naive_files[variant]) / 1000, 1), naive_ssim]
            quality.add(
                label,
                variant,
                naive_cells[0],
                _dims(our_size),
                naive_cells[1],
                naive_cells[2],
                round(len(our_files[variant]) / 1000, 1),
                naive_cells[3],
                our_ssim,
                ceiling,
                f"{our_ssim - ceiling:+.4f}",
                f"≥{SSIM_TARGET} {verdict(our_ssim >= SSIM_TARGET)}",
            )

    colour, colour_timings = icc_path_cost(jpeg, naive_p50=all_timings[inputs[0][0]]["naive"]["p50_ms"])
    avif, avif_timings = avif_cost(jpeg)

    speed.notes = [
        "naive = the spec's loop: open + thumbnail(LANCZOS) + save, once per variant, sequential.",
        "ours = prompts.media.images.make_variants (video: variants_from_image(examine(data).poster)).",
        f"speed-up = naive p50 / ours p50 (the target); speed-up of min = naive min / ours min, less "
        f"sensitive to other load. p95 interpolates between the two slowest of {REPEATS} runs.",
        "ours output: whether every run (warm-up included) gave byte-identical files.",
    ]
    if other_load.share is not None:
        busy = other_load.share > 0.10
        speed.notes.append(
            f"{'MACHINE BUSY: ' if busy else ''}other processes used {other_load.share:.0%} of the "
            f"{os.cpu_count()} CPUs while these were timed" + ("; times and ratios are noisy." if busy else ".")
        )
    quality.notes = [
        "The naive loop ignores EXIF orientation: for the Orientation-6 JPEG its w×h is compared after "
        "swapping, and its SSIM after rotating it upright.",
        "reference = full decode, ImageOps.exif_transpose, alpha composited on white, LANCZOS to the "
        "variant's size (video: the first frame, fully decoded).",
        "SSIM = mean over 11x11 Gaussian windows (sigma 1.5) of luma, K1 0.01, K2 0.03.",
        "codec ceiling = SSIM of the reference after one JPEG q85 / WebP q80 round trip: the best any "
        "pipeline storing these formats can score on this content; ours-ceiling is the pipeline's own loss.",
        "The naive loop's PNG JPEGs drop alpha (convert RGB) instead of compositing on white: transparent "
        "pixels stored black show black, hence their low SSIM. Its WebP keeps alpha.",
    ]

    rss = Table(
        "Peak RSS of a fresh process making one upload's variants",
        ["child process", "ru_maxrss MB", "VmHWM MB", "target"],
    )
    with tempfile.TemporaryDirectory() as tmp:
        paths = {"JPEG": Path(tmp) / "photo.jpg", "MP4": Path(tmp) / "clip.mp4", "P3": Path(tmp) / "p3.jpg"}
        paths["JPEG"].write_bytes(jpeg)
        paths["MP4"].write_bytes(mp4)
        paths["P3"].write_bytes(with_icc_profile(jpeg, (ICC_DIR / "DisplayP3.icm").read_bytes()))
        for label, code in CHILD_CODE.items():
            path = paths["MP4"] if "MP4" in label else paths["P3"] if "P3" in label else paths["JPEG"]
            maxrss, hwm = peak_rss_mb(code, path)
            target = f"<{RSS_TARGET_MB} {verdict(maxrss < RSS_TARGET_MB)}" if label.startswith("ours") else "—"
            rss.add(label, round(maxrss, 1), round(hwm, 1), target)
    rss.notes = [
        "Each child reads the input file into memory, imports, and runs the path once (no warm-up).",
        "ru_maxrss = getrusage(RUSAGE_CHILDREN) in a small launcher process; VmHWM = the child's own "
        "/proc/self/status, as a cross-check.",
    ]

    tables = [speed, colour, avif, quality, rss]
    for table in tables:
        print()
        print(table.render())
    path = write_results(
        NAME,
        tables,
        inputs={label: len(data) for label, _, data, _, _ in inputs},
        timings=all_timings,
        colour_profile_timings=colour_timings,
        avif_timings=avif_timings,
        other_processes_cpu_share=other_load.share,
    )
    print(f"\nwritten {path.relative_to(ROOT)}")


def icc_path_cost(jpeg: bytes, *, naive_p50: float) -> tuple[Table, dict]:
    """What a colour profile adds to one upload: the conversion (transform cached) and the first build."""
    from PIL import ImageCms

    from prompts.media import images

    p3_profile = (ICC_DIR / "DisplayP3.icm").read_bytes()
    srgb_profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    tagged = {
        "untagged (baseline)": jpeg,
        "sRGB profile (skipped)": with_icc_profile(jpeg, srgb_profile),
        "Display P3 profile": with_icc_profile(jpeg, p3_profile),
    }
    with OtherLoad() as other_load:
        timings = measure(
            {label: (lambda data=data: images.make_variants(data)) for label, data in tagged.items()},
            warmup=WARMUP,
            repeats=REPEATS,
        )
        builds = measure(
            {
                "Display P3 (matrix)": lambda: (
                    images.clear_colour_transforms(),
                    images.colour_transform(p3_profile, "RGB"),
                ),
                "CMYK SWOP (LUT)": lambda: (
                    images.clear_colour_transforms(),
                    images.colour_transform((ICC_DIR / "default_cmyk.icc").read_bytes(), "CMYK"),
                ),
            },
            warmup=WARMUP,
            repeats=REPEATS,
        )
    base = timings["untagged (baseline)"]
    table = Table(
        "Colour profiles: JPEG 4000x3000, same bytes with a profile spliced in, ms",
        ["path", "p50", "p95", "min", "extra p50 vs untagged", "speed-up vs naive p50"],
    )
    for label, timing in timings.items():
        extra = "—" if timing is base else f"{timing.p50 - base.p50:+.1f}"
        table.add(label, timing.p50, timing.p95, timing.min, extra, f"{naive_p50 / timing.p50:.2f}×")
    for label, timing in builds.items():
        table.add(f"first use of a profile: build {label}", timing.p50, timing.p95, timing.min, "once per profile", "—")
    table.notes = [
        "Conversion: LittleCMS, relative colorimetric + black point compensation, on the <=1200 px image "
        "after the first resize, with the profile's transform cached (built once per profile per process).",
        "An sRGB-equivalent profile is detected once (a probe of 18^3 colours) and then skipped.",
        "build = open the profile, build the transform, probe it; paid by the first upload with that profile.",
        f"naive p50 = the naive loop on the untagged file in the main table ({naive_p50:.0f} ms); the naive "
        "loop ignores profiles, so its time does not change with one.",
    ]
    if other_load.share is not None:
        busy = "MACHINE BUSY: " if other_load.share > 0.10 else ""
        table.notes.append(f"{busy}other processes used {other_load.share:.0%} of the {os.cpu_count()} CPUs meanwhile.")
    return table, {name: timing.as_dict() for name, timing in {**timings, **builds}.items()}


def _digest(files: dict[str, bytes]) -> str:
    return hashlib.sha256(b"".join(name.encode() + files[name] for name in sorted(files))).hexdigest()


def _dims(size: tuple[int, int]) -> str:
    return f"{size[0]}×{size[1]}"


def avif_cost(jpeg: bytes) -> tuple[Table, dict]:
    """What AVIF variants (settings.IMAGE_AVIF_VARIANTS) add to one upload, and what they save in bytes."""
    from prompts.media import images

    table = Table(
        "AVIF variants (IMAGE_AVIF_VARIANTS): JPEG 4000x3000, ms and KB", ["path", "p50", "p95", "min", "extra p50"]
    )
    if not images.avif_supported():
        table.notes = ["This Pillow cannot encode AVIF: not measured."]
        return table, {}
    with OtherLoad() as other_load:
        timings = measure(
            {
                "JPEG + WebP (default)": lambda: images.make_variants(jpeg),
                "JPEG + WebP + AVIF": lambda: images.make_variants(jpeg, avif=True),
            },
            warmup=WARMUP,
            repeats=REPEATS,
        )
    base = timings["JPEG + WebP (default)"]
    for label, timing in timings.items():
        table.add(label, timing.p50, timing.p95, timing.min, "—" if timing is base else f"{timing.p50 - base.p50:+.1f}")
    files = images.make_variants(jpeg, avif=True).files
    sizes = Table("", ["size", "JPEG KB", "WebP KB", "AVIF KB"])
    for size, (jpeg_name, webp_name, avif_name) in {
        "300": ("thumb", "webp_thumb", "avif_thumb"),
        "600": ("medium", "webp", "avif_medium"),
        "1200": ("large", "webp_large", "avif_large"),
    }.items():
        sizes.add(size, *(round(len(files[name]) / 1000, 1) for name in (jpeg_name, webp_name, avif_name)))
    table.notes = [
        f"AVIF q{images.AVIF_QUALITY} speed {images.AVIF_SPEED} (libavif through Pillow), encoded in the same "
        "thread pool as the others.",
        "File sizes of the variants (the long side is 1200/600/300 px):",
        *sizes.render().splitlines()[1:],
    ]
    if other_load.share is not None:
        busy = "MACHINE BUSY: " if other_load.share > 0.10 else ""
        table.notes.append(f"{busy}other processes used {other_load.share:.0%} of the {os.cpu_count()} CPUs meanwhile.")
    return table, {name: timing.as_dict() for name, timing in timings.items()}

"""Video uploads: what `complete` costs for a 15 MB 4K video, and what transcoding would cost instead.

Browsers do not play HEVC (every recent iPhone video), so such an upload is either refused with a
message saying how to export H.264, or transcoded in the worker. This measures both on the same
content, 15 MB of 4K at ~40 Mbit/s (about 3 s, as a phone records it):

- accept: `video.examine` + `video.strip_metadata` on 4K H.264 (what complete does: checks, poster,
  moderation frames, the metadata-free remux) — the baseline;
- refuse: `video.examine` on the HEVC file (the answer a person gets instead);
- transcode: HEVC -> H.264 at most 1920 px, x264 "veryfast" CRF 23 capped at 6 Mbit/s, the
  cheapest setting we would ship, with its peak memory in a fresh process.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import OtherLoad, Table, measure, print_header, verdict, write_results

NAME = "video"
ROOT = Path(__file__).resolve().parent.parent
SIZE = (3840, 2160)
TARGET_BYTES = 15 * 2**20 - 200_000  # under the 15 MB upload limit
REPEATS = 3
COMPLETE_TARGET_S = 2.0  # the complete request of a video, on this 2-core machine
TRANSCODE_TARGET_S = 10.0  # what a person would wait on "processing" for a 3 s clip
TRANSCODE_BOX, TRANSCODE_CRF, TRANSCODE_MAXRATE = 1920, "23", "6M"

TRANSCODE = f"""
import av, sys
source = av.open(sys.argv[1])
inp = source.streams.video[0]
inp.thread_type = "AUTO"
output = av.open(sys.argv[2], mode="w", format="mp4", options={{"movflags": "+faststart"}})
scale = min({TRANSCODE_BOX} / max(inp.width, inp.height), 1.0)
width, height = round(inp.width * scale / 2) * 2, round(inp.height * scale / 2) * 2
out = output.add_stream("libx264", rate=inp.average_rate)
out.time_base = 1 / inp.average_rate
out.width, out.height, out.pix_fmt = width, height, "yuv420p"
out.options = {{"preset": "veryfast", "crf": "{TRANSCODE_CRF}", "maxrate": "{TRANSCODE_MAXRATE}", "bufsize": "12M"}}
for index, frame in enumerate(source.decode(inp)):
    frame = frame.reformat(width=width, height=height, format="yuv420p")
    frame.pts = index
    for packet in out.encode(frame):
        output.mux(packet)
for packet in out.encode():
    output.mux(packet)
output.close()
"""
EXAMINE = """
import sys
from prompts.media import video
data = open(sys.argv[1], "rb").read()
video.examine(data)
video.strip_metadata(data)
"""
LAUNCHER = """
import sys
code = sys.argv.pop(1)
sys.path.insert(0, {root!r})
exec(compile(code, "<bench>", "exec"))
print(next(line for line in open("/proc/self/status") if line.startswith("VmHWM")).split()[1])
"""


def clips(specs: dict[str, tuple[str, str | None, dict]]) -> dict[str, bytes]:
    """~15 MB each of the same 4K picture at 30 fps and ~40 Mbit/s (moving colour fields with grain),
    one file per (encoder, codec tag, options)."""
    import av
    import numpy as np

    width, height = SIZE
    rng = np.random.default_rng(7)
    x = np.linspace(0, 2 * np.pi, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 2 * np.pi, height, dtype=np.float32)[:, None]
    grain = rng.normal(0, 6, (height + 64, width + 64)).astype(np.float32)
    outputs = {}
    for name, (codec, tag, options) in specs.items():
        buffer = io.BytesIO()
        container = av.open(buffer, mode="w", format="mp4")
        stream = container.add_stream(codec, rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.bit_rate = 40_000_000
        stream.options = {"preset": "ultrafast", **options}
        if tag:
            stream.codec_tag = tag
        outputs[name] = (buffer, container, stream)
    for index in range(300):
        if max(buffer.tell() for buffer, _, _ in outputs.values()) >= TARGET_BYTES - 1_500_000:
            break
        t = index / 30
        noise = grain[index % 64 : index % 64 + height, (3 * index) % 64 : (3 * index) % 64 + width]
        rgb = (
            np.stack(
                np.broadcast_arrays(
                    128 + 90 * np.sin(x + t) * np.cos(y),
                    128 + 90 * np.sin(1.5 * y + 2 * t) + 0 * x,
                    128 + 60 * np.cos(3 * x * y / 10 + t),
                ),
                axis=-1,
            )
            + noise[..., None]
        )
        frame = av.VideoFrame.from_ndarray(rgb.clip(0, 255).astype(np.uint8), format="rgb24")
        for _, container, stream in outputs.values():
            for packet in stream.encode(frame):
                container.mux(packet)
    for _, container, stream in outputs.values():
        for packet in stream.encode():
            container.mux(packet)
        container.close()
    return {name: buffer.getvalue() for name, (buffer, _, _) in outputs.items()}


def child(code: str, *args: str) -> tuple[float, float]:
    """(seconds, peak RSS MB) of a fresh Python running `code`."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER.format(root=str(ROOT)), code, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={"DJANGO_SETTINGS_MODULE": "prompts_manager.settings", "PATH": "/usr/bin:/bin"},
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return seconds, int(done.stdout.split()[-1]) / 1024


def run() -> None:
    from prompts.media import video

    print_header(NAME)
    print("generating 15 MB 4K inputs (H.264 with one key frame, H.264 with one a second, HEVC) ...", flush=True)
    inputs = clips(
        {
            "h264": ("libx264", None, {}),
            "h264-gop30": ("libx264", None, {"g": "30"}),
            "hevc": ("libx265", "hvc1", {"x265-params": "log-level=none"}),
        }
    )
    h264, phone, hevc = inputs["h264"], inputs["h264-gop30"], inputs["hevc"]
    for label, data in inputs.items():
        info = video._open(data)
        frames = info.streams.video[0].frames
        info.close()
        print(f"  {label}: {len(data):,} bytes, {frames} frames")

    def refuse() -> None:
        try:
            video.examine(hevc)
        except video.VideoError:
            return
        raise AssertionError("HEVC was accepted")

    with OtherLoad() as other_load:
        timings = measure(
            {
                "accept": lambda: (video.examine(h264), video.strip_metadata(h264)),
                "accept-gop30": lambda: (video.examine(phone), video.strip_metadata(phone)),
                "refuse": refuse,
            },
            warmup=1,
            repeats=REPEATS,
        )
        with tempfile.TemporaryDirectory() as tmp:
            source, target = Path(tmp) / "in.mp4", Path(tmp) / "out.mp4"
            source.write_bytes(hevc)
            Path(tmp, "h264.mp4").write_bytes(h264)
            transcodes = [child(TRANSCODE, str(source), str(target)) for _ in range(2)]
            transcoded = target.stat().st_size
            examine_child = child(EXAMINE, str(Path(tmp) / "h264.mp4"))
    accept_s, refuse_s = timings["accept"].p50 / 1000, timings["refuse"].p50 / 1000
    phone_s = timings["accept-gop30"].p50 / 1000
    transcode_s = min(seconds for seconds, _ in transcodes)
    transcode_rss = max(rss for _, rss in transcodes)
    duration = len(h264) * 8 / 40_000_000

    table = Table(
        f"15 MB 4K video ({duration:.1f} s at 40 Mbit/s): seconds per upload (p50 of {REPEATS}, transcode: best of 2)",
        ["path", "seconds", "peak RSS MB", "output", "target"],
    )
    table.add(
        "accept H.264, 1 key frame: examine + strip (baseline)",
        round(accept_s, 3),
        round(examine_child[1], 1),
        "remux, same packets",
        f"≤{COMPLETE_TARGET_S:g} s {verdict(accept_s <= COMPLETE_TARGET_S)}",
    )
    table.add(
        "accept H.264, key frame every 1 s",
        round(phone_s, 3),
        "—",
        "remux, same packets",
        f"≤{COMPLETE_TARGET_S:g} s {verdict(phone_s <= COMPLETE_TARGET_S)}",
    )
    table.add("refuse HEVC: examine", round(refuse_s, 3), "—", "a message", "—")
    table.add(
        f"transcode HEVC → H.264 ≤{TRANSCODE_BOX}px veryfast",
        round(transcode_s, 2),
        round(transcode_rss, 1),
        f"{transcoded / 1000:.0f} kB",
        f"≤{TRANSCODE_TARGET_S:g} s {verdict(transcode_s <= TRANSCODE_TARGET_S)}",
    )
    table.notes = [
        (
            f"transcode / accept = {transcode_s / accept_s:.0f}×; the transcode runs at "
            f"{duration / transcode_s:.2f}× real time on this machine, holding a worker for that long per upload."
        ),
        (
            "accept decodes from a key frame to each sampled frame: with one key frame in the clip that is "
            "nearly every frame; with one a second, only a few."
        ),
        (
            "Decision: refuse with the export hint (README); a transcode would hold a 2-core worker for the time "
            "above, per 3 s of 4K video, and re-encode a person's video at a lower quality."
        ),
    ]
    if other_load.share is not None:
        table.notes.append(f"other processes used {other_load.share:.0%} of the CPUs while these were timed.")
    print(table.render())
    write_results(
        NAME,
        [table],
        timings={name: timing.as_dict() for name, timing in timings.items()},
        transcode_seconds=[round(seconds, 3) for seconds, _ in transcodes],
    )

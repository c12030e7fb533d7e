"""Videos: what we accept, a copy without metadata, and the pictures made from a video (PyAV).

A video is read once per upload (`examine`): the container and codecs are checked against what
Chrome, Firefox and Safari play, and only the frames needed are decoded — the poster (the first
steady, lit frame of the first seconds, so a fade from black does not give a black poster) and
frames spread over the whole video for moderation. Every picture is turned the way the video is
shown (display matrix, non-square pixels), and the recorded size is the displayed one.

The stored original (`strip_metadata`) is the same video and audio packets, bit for bit, in a new
container written without the upload's metadata (location, device, dates) or other tracks.
"""

from __future__ import annotations

import io
import math
import tempfile
from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction

from PIL import Image, ImageStat

from prompts.media.images import JPEG_QUALITY, VARIANT_BOXES

# 4K (3840×2160 and DCI 4096×2160) in either orientation; a frame is ~13 MB decoded.
MAX_SIDE = 4096
MAX_PIXELS = 4096 * 2304
MAX_SECONDS = 180
MAX_FRAMES = MAX_SECONDS * 120
# What the decoder may produce per upload: ~1,400 1080p or ~360 4K frames (a few seconds of CPU).
# Decoding goes from a key frame to the wanted frame, so a long video with few key frames needs more.
DECODE_BUDGET_PIXELS = 3_000_000_000

POSTER_BOX = VARIANT_BOXES["large"]  # the largest picture the variants make from it
POSTER_SCAN_SECONDS = 3.0
LIT_MEAN, LIT_SPREAD = 40, 8  # mean and standard deviation of luma (0-255) of a 32×32 reduction
SETTLE_SECONDS, SETTLED_LEVELS = 0.2, 8  # still brightening (a fade) when 0.2 s later is >8 levels lighter

MAX_SAMPLES = 8  # frames for moderation besides the poster: one per second, at most 8
SAMPLE_EVERY_SECONDS = 1.0
SHEET_TILE, SHEET_COLUMNS = 512, 3
SHEET_QUALITY = 85

MP4_FORMAT = "mov,mp4,m4a,3gp,3g2,mj2"
WEBM_FORMAT = "matroska,webm"
CONTAINERS = {
    # container -> (stored extension, content type, video codecs, audio codecs) browsers play
    MP4_FORMAT: ("mp4", "video/mp4", {"h264", "vp9", "av1"}, {"aac", "mp3", "opus", "flac"}),
    WEBM_FORMAT: ("webm", "video/webm", {"vp8", "vp9", "av1"}, {"opus", "vorbis"}),
}
# Browsers decode 8-bit 4:2:0 H.264 only (not High 10, 4:2:2 or 4:4:4).
H264_PIXEL_FORMATS = {"yuv420p", "yuvj420p"}
# ISO files that are still images (HEIC, AVIF), which FFmpeg would open as a one-frame "video".
IMAGE_BRANDS = {"heic", "heix", "heim", "heis", "hevc", "mif1", "msf1", "avif", "avis"}
CODEC_NAMES = {
    "hevc": "HEVC (H.265)",
    "mpeg4": "MPEG-4 Part 2",
    "prores": "ProRes",
    "h263": "H.263",
    "vvc": "VVC (H.266)",
    "mjpeg": "Motion JPEG",
    "dvvideo": "DV",
}
EXPORT_HINT = "Please export it as MP4 with H.264 (the standard or “Most Compatible” setting) and upload that."
HEVC_HINT = (
    "Please export it as H.264: on an iPhone choose Settings → Camera → Formats → Most Compatible, "
    "or share the video with “Most Compatible” in its options; in an editor, choose MP4 with H.264."
)
UNREADABLE = "This file could not be read as a video. It may be damaged."


class VideoError(Exception):
    """The bytes are not a video we can accept; the message is for people."""


@dataclass
class VideoInfo:
    width: int  # as shown: after the display rotation and the pixel aspect ratio
    height: int
    duration_seconds: float
    codec: str
    extension: str  # of the stored original: a MOV is stored as MP4 (same packets)
    content_type: str


@dataclass
class Examined:
    info: VideoInfo
    poster: Image.Image  # upright, RGB, within POSTER_BOX
    frames: list[Image.Image] = field(default_factory=list)  # poster first, then the samples in time order


def examine(data: bytes) -> Examined:
    """Check the video and make its pictures, decoding only what they need (see the module docstring)."""
    container = _open(data)
    try:
        extension, content_type, stream = _check_playable(container)
        packets = _video_packets(container, stream)
        reader = _FrameReader(stream, packets)
        if reader.duration > MAX_SECONDS:
            minutes, seconds = divmod(round(reader.duration), 60)
            raise VideoError(
                f"This video is {minutes}:{seconds:02d} long; the maximum is {MAX_SECONDS // 60} minutes. "
                "Please trim it and upload it again."
            )
        poster_frame = _choose_poster(reader)
        view = _View.of(stream, poster_frame)
        frames = [view.picture(poster_frame, SHEET_TILE)]
        poster = view.picture(poster_frame, POSTER_BOX)
        for seconds in _sample_times(reader):
            frame = reader.frame_at(seconds)
            if frame is not None and frame.pts != poster_frame.pts:
                frames.append(view.picture(frame, SHEET_TILE))
        info = VideoInfo(
            width=view.width,
            height=view.height,
            duration_seconds=round(reader.duration, 3),
            codec=stream.codec_context.name,
            extension=extension,
            content_type=content_type,
        )
        return Examined(info=info, poster=poster, frames=frames)
    finally:
        container.close()


def strip_metadata(data: bytes) -> bytes:
    """The first video track and the first audio track, packets unchanged, in a fresh container.

    Nothing of the upload's container is copied: not its metadata (Apple's mdta keys with
    com.apple.quicktime.location.ISO6709, `©xyz`, 3GPP `loci`, XMP, maker and date tags), nor its
    other tracks (timed metadata, subtitles, chapters). The display matrix and pixel aspect ratio
    travel with the stream parameters. MP4 is written with its index first ("faststart") so a
    browser can start playing before the whole file has arrived; that rewrite needs a real file.
    """
    import av

    container = _open(data)
    try:
        extension = CONTAINERS[container.format.name][0]
        sources = [container.streams.video[0], *container.streams.audio[:1]]
        with tempfile.NamedTemporaryFile(suffix=f".{extension}") as target:
            options = {"movflags": "+faststart"} if extension == "mp4" else {}
            with av.open(target.name, mode="w", format=extension, options=options) as output:
                copies = {source.index: output.add_stream_from_template(source) for source in sources}
                for copy in copies.values():
                    copy.metadata.clear()
                for packet in container.demux(*sources):
                    if packet.dts is None:  # the demuxer's end-of-stream marker
                        continue
                    packet.stream = copies[packet.stream.index]
                    output.mux(packet)
            target.seek(0)
            return target.read()
    except av.error.FFmpegError as exc:
        raise VideoError(UNREADABLE) from exc
    finally:
        container.close()


def contact_sheet(frames: list[Image.Image]) -> bytes:
    """The frames in a grid (left to right, top to bottom), as one JPEG for one moderation request."""
    tile_width = max(img.width for img in frames)
    tile_height = max(img.height for img in frames)
    columns = min(SHEET_COLUMNS, len(frames))
    rows = math.ceil(len(frames) / columns)
    sheet = Image.new("RGB", (columns * tile_width, rows * tile_height), (0, 0, 0))
    for index, img in enumerate(frames):
        row, column = divmod(index, columns)
        sheet.paste(
            img,
            (column * tile_width + (tile_width - img.width) // 2, row * tile_height + (tile_height - img.height) // 2),
        )
    return encode_jpeg(sheet, quality=SHEET_QUALITY)


def encode_jpeg(img: Image.Image, *, quality: int = JPEG_QUALITY) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=quality, optimize=True, progressive=False)
    return buffer.getvalue()


# --- Checks ----------------------------------------------------------------------------


def _looks_like_a_video_container(data: bytes) -> bool:
    """ISO base media (MP4/MOV: a box type at byte 4) or EBML (Matroska/WebM) — checked before FFmpeg
    opens anything, because opening probes the content: a huge JPEG renamed .mov was decoded in full."""
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return True
    return data[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot")


def _open(data: bytes):
    import av  # imported here: only video uploads need FFmpeg's libraries

    if not _looks_like_a_video_container(data):
        raise VideoError(_not_a_video_message(data))
    try:
        # max_pixels makes FFmpeg's own decoders refuse frames above our cap, even mid-stream.
        container = av.open(io.BytesIO(data), mode="r", options={"max_pixels": str(MAX_PIXELS)})
    except av.error.FFmpegError as exc:
        raise VideoError(UNREADABLE) from exc
    return container


def _not_a_video_message(data: bytes) -> str:
    try:
        with Image.open(io.BytesIO(data)) as img:
            kind = img.format or "an image"
    except (OSError, ValueError, Image.DecompressionBombError):  # not an image either: the generic answer
        return f"This file is not an MP4, MOV or WebM video. {EXPORT_HINT}"
    return (
        f"This file is a {kind} image with a video's name. Please upload it as an image "
        f"(with its own .{'jpg' if kind == 'JPEG' else kind.lower()} extension), or upload a real video."
    )


def _check_playable(container) -> tuple[str, str, object]:
    """(stored extension, content type, video stream), or a VideoError that says what to export."""
    if container.format.name not in CONTAINERS:
        raise VideoError(f"This file is not an MP4, MOV or WebM video. {EXPORT_HINT}")
    brand = str(container.metadata.get("major_brand", "")).strip().lower()
    if brand in IMAGE_BRANDS:
        raise VideoError(
            "This file is a still image (HEIC or AVIF), not a video. Please upload a JPG, PNG or WebP, or a real video."
        )
    if not container.streams.video:
        raise VideoError("This file has no video track.")
    extension, content_type, video_codecs, audio_codecs = CONTAINERS[container.format.name]
    stream = container.streams.video[0]
    codec = stream.codec_context.name
    if codec not in video_codecs:
        label = CODEC_NAMES.get(codec, codec.upper())
        if codec == "hevc":
            raise VideoError(f"This video is {label}, which Chrome and Firefox can't play. {HEVC_HINT}")
        if codec in CONTAINERS[MP4_FORMAT][2] | CONTAINERS[WEBM_FORMAT][2]:
            raise VideoError(f"A WebM video must be VP8, VP9 or AV1; this one is {label}. {EXPORT_HINT}")
        raise VideoError(f"This video is {label}, which web browsers can't play. {EXPORT_HINT}")
    pixel_format = stream.codec_context.format.name if stream.codec_context.format else ""
    if codec == "h264" and pixel_format not in H264_PIXEL_FORMATS:
        raise VideoError(
            "This video is 10-bit or 4:2:2/4:4:4 H.264, which web browsers can't play. "
            "Please export it as standard 8-bit H.264."
        )
    if container.streams.audio:
        sound = container.streams.audio[0].codec_context.name
        if sound not in audio_codecs:
            wanted = "AAC sound (MP4)" if extension == "mp4" else "Opus sound"
            raise VideoError(
                f"This video's sound is {sound.upper()}, which web browsers can't play. Please export it with {wanted}."
            )
    width, height = stream.codec_context.width, stream.codec_context.height
    if not width or not height:
        raise VideoError(UNREADABLE)
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        raise VideoError(
            f"This video is too large to process ({width}×{height} pixels). "
            "Please upload a video of at most 4K (4096 pixels on its longer side)."
        )
    return extension, content_type, stream


def _video_packets(container, stream) -> list:
    """The video stream's packets in decode order (demuxing reads, it does not decode)."""
    import av

    packets = []
    try:
        for packet in container.demux(stream):
            if packet.size and packet.pts is not None:
                packets.append(packet)
                if len(packets) > MAX_FRAMES:
                    raise VideoError(f"This video has too many frames. The maximum is {MAX_SECONDS // 60} minutes.")
    except av.error.FFmpegError as exc:
        raise VideoError(UNREADABLE) from exc
    if not packets:
        raise VideoError("This video has no frames.")
    return packets


# --- Decoding only what is needed -----------------------------------------------------


class _FrameReader:
    """Frames by time: decoding starts at the last key frame before the wanted time and goes on
    forward from where it is when that is cheaper, within DECODE_BUDGET_PIXELS."""

    def __init__(self, stream, packets: list) -> None:
        self.codec = stream.codec_context
        self.codec.options = {"max_pixels": str(MAX_PIXELS)}
        self.codec.thread_type = "AUTO"
        self.time_base = stream.time_base or Fraction(1, 90000)
        self.packets = packets
        self.start = min(packet.pts for packet in packets)
        end = max(packet.pts + (packet.duration or 0) for packet in packets)
        self.duration = float((end - self.start) * self.time_base)
        self.keyframes = [index for index, packet in enumerate(packets) if packet.is_keyframe] or [0]
        self.next_packet: int | None = None  # None: not decoding (not started, or drained)
        self.group: int | None = None  # the key frame decoding started from
        self.last_pts: int | None = None
        self.pending: deque = deque()
        self.decoded_pixels = 0

    def seconds(self, frame) -> float:
        return float((frame.pts - self.start) * self.time_base)

    def frame_at(self, seconds: float):
        """The first frame shown at or after `seconds` (the last frame when past the end)."""
        target = self.start + int(seconds / self.time_base)
        keyframe = max([index for index in self.keyframes if self.packets[index].pts <= target] or [self.keyframes[0]])
        going_on = self.group == keyframe and self.last_pts is not None and self.last_pts < target
        if not going_on:
            self.codec.flush_buffers()
            self.pending.clear()
            self.next_packet, self.group, self.last_pts = keyframe, keyframe, None
        last = None
        while (frame := self.next_frame()) is not None:
            last = frame
            if frame.pts >= target:
                return frame
        return last

    def next_frame(self):
        import av

        while not self.pending:
            if self.next_packet is None:
                return None
            packet = self.packets[self.next_packet] if self.next_packet < len(self.packets) else None
            self.next_packet = None if packet is None else self.next_packet + 1
            try:
                frames = self.codec.decode(packet)  # None drains the decoder's delayed frames
            except av.error.FFmpegError as exc:
                raise VideoError("This video could not be decoded. It may be damaged.") from exc
            for frame in frames:
                if frame.pts is None:
                    frame.pts = (self.last_pts or self.start) + 1
                self.decoded_pixels += frame.width * frame.height
                self.pending.append(frame)
            if self.decoded_pixels > DECODE_BUDGET_PIXELS:
                raise VideoError(
                    "We couldn't check this video in a reasonable time: it has very few key frames "
                    f"for its length. {EXPORT_HINT}"
                )
        frame = self.pending.popleft()
        self.last_pts = frame.pts
        return frame


def _light(frame) -> tuple[float, float]:
    """Mean and spread of the frame's brightness, from a 32×32 reduction."""
    stat = ImageStat.Stat(frame.to_image(width=32, height=32).convert("L"))
    return stat.mean[0], stat.stddev[0]


def _choose_poster(reader: _FrameReader):
    """The first lit, varied frame that has stopped brightening, within the first seconds.

    Most videos: frame 0 (checked against one frame 0.2 s later). A fade from black: the first
    frame after the fade. All dark: the brightest, most varied frame seen.
    """
    frame = reader.frame_at(0)
    if frame is None:
        raise VideoError("This video has no frames.")
    candidate = best = None
    while frame is not None and reader.seconds(frame) <= POSTER_SCAN_SECONDS:
        mean, spread = _light(frame)
        if best is None or mean + spread > best[0]:
            best = (mean + spread, frame)
        lit = mean >= LIT_MEAN and spread >= LIT_SPREAD
        if candidate is None:
            candidate = (frame, mean) if lit else None
        elif reader.seconds(frame) - reader.seconds(candidate[0]) >= SETTLE_SECONDS:
            if mean - candidate[1] <= SETTLED_LEVELS:
                return candidate[0]
            candidate = (frame, mean) if lit else None
        frame = reader.next_frame()
    return candidate[0] if candidate is not None else best[1]


def _sample_times(reader: _FrameReader) -> list[float]:
    """One time per slot of the video (one slot per second, at most MAX_SAMPLES): a key frame in the
    slot when there is one (it decodes alone), else the slot's middle."""
    count = min(MAX_SAMPLES, max(1, math.ceil(reader.duration / SAMPLE_EVERY_SECONDS)))
    slot = reader.duration / count
    key_times = [float((reader.packets[index].pts - reader.start) * reader.time_base) for index in reader.keyframes]
    times = []
    for index in range(count):
        begin, end = index * slot, (index + 1) * slot
        inside = [time for time in key_times if begin <= time < end]
        times.append(inside[0] if inside else begin + slot / 2)
    return times


# --- Frames as pictures ----------------------------------------------------------------

_QUARTER_TURNS = {1: Image.Transpose.ROTATE_90, 2: Image.Transpose.ROTATE_180, 3: Image.Transpose.ROTATE_270}


@dataclass
class _View:
    """How the video is shown: stored pixels stretched by the pixel aspect ratio, then turned by the
    display matrix (counter-clockwise quarter turns, as FFmpeg reports `rotation`)."""

    stretched: tuple[int, int]  # coded size with the pixel aspect ratio applied, before turning
    quarter_turns: int

    @classmethod
    def of(cls, stream, frame) -> _View:
        width, height = frame.width, frame.height
        ratio = stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio
        if ratio and ratio > 0 and ratio != 1:
            width = max(1, round(width * ratio))
        return cls(stretched=(width, height), quarter_turns=round((frame.rotation or 0) / 90) % 4)

    @property
    def width(self) -> int:
        return self.stretched[self.quarter_turns % 2]

    @property
    def height(self) -> int:
        return self.stretched[1 - self.quarter_turns % 2]

    def picture(self, frame, box: int) -> Image.Image:
        """The frame as shown, within a box×box square, scaled and converted in one FFmpeg pass."""
        width, height = self.stretched
        scale = min(box / width, box / height, 1.0)
        size = max(1, round(width * scale)), max(1, round(height * scale))
        img = frame.to_image(width=size[0], height=size[1], interpolation="AREA")
        turn = _QUARTER_TURNS.get(self.quarter_turns)
        return img.transpose(turn) if turn else img

"""Video files made on the fly with PyAV: rotated, non-square pixels, fade-ins, location tags, HEVC.

Every frame is a solid colour with a blue block in its top-left corner (as media_samples.jpeg_bytes),
so a picture made from a frame shows which way up it came out.
"""

import io
import struct
from fractions import Fraction

from PIL import Image, ImageDraw

# Where the sample files say they were filmed: the Brandenburg Gate.
LATITUDE, LONGITUDE = "+52.5163", "+013.3777"
ISO6709 = f"{LATITUDE}{LONGITUDE}+034.000/"
BLUE = (0, 0, 255)


def picture(size=(320, 240), colour=(220, 120, 40)) -> Image.Image:
    img = Image.new("RGB", size, colour)
    ImageDraw.Draw(img).rectangle((0, 0, size[0] // 4, size[1] // 4), fill=BLUE)
    return img


def encode(
    pictures: list[Image.Image],
    *,
    codec="libx264",
    container="mp4",
    rate=12,
    rotation: int | None = None,
    sar: Fraction | None = None,
    audio: str | None = None,
    metadata: dict | None = None,
    options: dict | None = None,
    codec_tag: str | None = None,
    pix_fmt="yuv420p",
) -> bytes:
    """Encode the pictures (all one size) as a video; audio is an encoder name ("aac", "libopus") or None."""
    import av
    import numpy

    width, height = pictures[0].size
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container, options=options or {}) as output:
        output.metadata.update(metadata or {})
        stream = output.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if codec == "libx265":
            stream.codec_context.options = {"x265-params": "log-level=none"}
        if codec_tag:
            stream.codec_tag = codec_tag
        if sar is not None:
            stream.codec_context.sample_aspect_ratio = sar
        if rotation is not None:
            stream.set_display_rotation(rotation)
        sound = output.add_stream(audio, rate=48000) if audio else None
        for index, img in enumerate(pictures):
            frame = av.VideoFrame.from_image(img)
            frame.pts = index
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
        if sound is not None:
            samples = int(48000 * len(pictures) / rate)
            tone = (numpy.sin(numpy.arange(samples) * 2 * numpy.pi * 440 / 48000) * 0.2).astype("float32")
            for start in range(0, samples, 960):
                chunk = tone[start : start + 960]
                frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="flt", layout="mono")
                frame.sample_rate, frame.pts = 48000, start
                for packet in sound.encode(frame):
                    output.mux(packet)
            for packet in sound.encode():
                output.mux(packet)
    return buffer.getvalue()


def h264(frames=12, size=(320, 240), colour=(220, 120, 40), **kwargs) -> bytes:
    return encode([picture(size, colour)] * frames, **kwargs)


def fade_in(*, frames=36, fade=12, size=(320, 240), colour=(220, 120, 40)) -> bytes:
    """Black, brightening over `fade` frames (1 s at 12 fps) to the picture, as many clips begin."""
    full = picture(size, colour)
    black = Image.new("RGB", size)
    pictures = [Image.blend(black, full, min(1.0, index / fade)) for index in range(frames)]
    return encode(pictures)


def harmless_start(*, frames=30, size=(320, 240), harmless=(40, 90, 200), flagged=(230, 20, 20)) -> bytes:
    """Frame 0 harmless (blue-grey), every later frame the colour the fake AI is told to flag."""
    return encode([picture(size, harmless)] + [picture(size, flagged)] * (frames - 1))


# --- Location tags, as phones write them ---------------------------------------------------


def apple_location_mov() -> bytes:
    """An iPhone-style MOV: the location as an mdta key (com.apple.quicktime.location.ISO6709)."""
    return h264(
        container="mov",
        audio="aac",
        options={"movflags": "use_metadata_tags"},
        metadata={
            "com.apple.quicktime.location.ISO6709": ISO6709,
            "com.apple.quicktime.make": "Apple",
            "com.apple.quicktime.model": "iPhone 15",
            "com.apple.quicktime.creationdate": "2024-05-01T10:00:00+0200",
        },
    )


def xyz_location_mp4() -> bytes:
    """An Android-style MP4: the location in a `©xyz` box of moov/udta (length, language, ISO 6709 text)."""
    text = ISO6709.encode()
    return _append_to_moov(
        h264(audio="aac"), _box(b"udta", _box(b"\xa9xyz", struct.pack(">HH", len(text), 0x15C7) + text))
    )


def loci_location(container="mp4") -> bytes:
    """A 3GPP `loci` box (name, longitude/latitude/altitude as 16.16 fixed point) added to moov/udta."""
    data = h264(container=container, audio="aac")
    body = (
        b"\x00\x00\x00\x00"
        + b"\x15\xc7"
        + b"Pariser Platz\x00"
        + b"\x00"
        + struct.pack(">iii", int(13.3777 * 65536), int(52.5163 * 65536), 34 * 65536)
        + b"Earth\x00"
        + b"\x00"
    )
    return _append_to_moov(data, _box(b"udta", _box(b"loci", body)))


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _append_to_moov(data: bytes, extra: bytes) -> bytes:
    """Grow the moov box by `extra`. FFmpeg writes moov after mdat, so no sample offset moves."""
    offset = 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if kind == b"moov":
            assert offset + size == len(data), "moov must be the last box"
            return data[:offset] + struct.pack(">I", size + len(extra)) + data[offset + 4 :] + extra
        offset += size
    raise AssertionError("no moov box")


# --- What browsers do not play -------------------------------------------------------------


def hevc(container="mp4") -> bytes:
    """H.265 as recent iPhones record it (hvc1, which Safari needs and Chrome/Firefox mostly lack)."""
    return h264(codec="libx265", container=container, codec_tag="hvc1")


def mpeg4_part2() -> bytes:
    return h264(codec="mpeg4")


def vp9_webm(frames=12, size=(320, 240), **kwargs) -> bytes:
    return encode([picture(size)] * frames, codec="libvpx-vp9", container="webm", **kwargs)

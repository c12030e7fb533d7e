"""Video processing: inspection and the poster frame (PyAV, FFmpeg's libraries in-process)."""
from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from prompts.media.images import JPEG_QUALITY, ImageProcessingError

VIDEO_FORMATS = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm"}


@dataclass
class VideoInfo:
    width: int
    height: int
    duration_seconds: float | None


def _open_video(data: bytes):
    import av  # imported here: only video uploads need FFmpeg's libraries

    try:
        container = av.open(io.BytesIO(data), mode="r")
    except Exception as exc:  # PyAV raises many FFmpeg error types
        raise ImageProcessingError("This file could not be read as a video. It may be damaged.") from exc
    if not container.streams.video:
        container.close()
        raise ImageProcessingError("This file has no video track.")
    return container


def inspect_video(data: bytes) -> VideoInfo:
    container = _open_video(data)
    try:
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        if not width or not height:
            raise ImageProcessingError("This file could not be read as a video. It may be damaged.")
        duration = float(container.duration / 1_000_000) if container.duration else None
        # Decoding one frame proves the bytes are really a video, not just a plausible header.
        poster_image_from(container)
        return VideoInfo(width=width, height=height, duration_seconds=duration)
    finally:
        container.close()


def poster_image_from(container) -> Image.Image:
    try:
        for frame in container.decode(video=0):
            return frame.to_image()
    except Exception as exc:
        raise ImageProcessingError("This video could not be decoded.") from exc
    raise ImageProcessingError("This video has no frames.")


def video_poster(data: bytes) -> Image.Image:
    """The first frame of the video, as an RGB image: the source of the video's variants."""
    container = _open_video(data)
    try:
        return poster_image_from(container).convert("RGB")
    finally:
        container.close()


def encode_jpeg(img: Image.Image) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True, progressive=False)
    return buffer.getvalue()

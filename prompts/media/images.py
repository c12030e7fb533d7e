"""Image processing: inspection, variants, metadata stripping (videos: prompts.media.video).

The variant path decodes once: JPEG's DCT scaling (`draft`) gives a reduced image no smaller
than the largest variant needs, orientation is applied to the large variant (not the bigger
decoded image), and the variants cascade large -> medium -> thumb. Resizes run as bands and
encodes run in threads (Pillow releases the GIL while resampling and encoding).
Every output is re-encoded from pixels, so no EXIF/GPS/XMP from the upload reaches a public file.
"""
from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import blurhash
from PIL import Image, UnidentifiedImageError

# Larger than any honest 3 MB image; smaller than what would exhaust a worker's memory.
MAX_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow's own bomb guard (raises above twice this)

VARIANT_BOXES = {"large": 1200, "medium": 600, "thumb": 300}
WEBP_BOX = 600
JPEG_QUALITY = 85
WEBP_QUALITY = 80
# method dominates WebP encode time: 2 takes 6 ms for 600 px, 3 and 4 take 16 ms for ~8% smaller
# files (bench/variants.py).
WEBP_METHOD = 2
ALLOWED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}

_ENCODERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="variant-encode")
_TRANSPOSE = {
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_270],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_90],
}


class ImageProcessingError(Exception):
    """The bytes are not an image or video we can accept; the message is for people."""


@dataclass
class ImageInfo:
    format: str
    content_type: str
    width: int
    height: int


@dataclass
class VariantSet:
    files: dict[str, bytes] = field(default_factory=dict)  # name -> encoded bytes
    width: int = 0  # of the source after orientation
    height: int = 0
    blurhash: str = ""

    CONTENT_TYPES = {"thumb": "image/jpeg", "medium": "image/jpeg", "large": "image/jpeg", "webp": "image/webp"}
    EXTENSIONS = {"thumb": "jpg", "medium": "jpg", "large": "jpg", "webp": "webp"}


def inspect_image(data: bytes) -> ImageInfo:
    """Check the bytes really are an image of an allowed kind, without decoding all pixels."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format or ""
            width, height = img.size
            if fmt not in ALLOWED_FORMATS:
                raise ImageProcessingError("This file is not a JPG, PNG, GIF or WebP image.")
            if width * height > MAX_PIXELS or width > 20000 or height > 20000:
                raise ImageProcessingError(
                    f"This image is too large to process ({width}×{height} pixels). "
                    "Please upload an image under 40 megapixels."
                )
            img.verify()
    except ImageProcessingError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageProcessingError("This image is too large to process. Please upload a smaller image.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageProcessingError("This file could not be read as an image. It may be damaged.") from exc
    orientation = _orientation_of(data)
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return ImageInfo(format=fmt, content_type=ALLOWED_FORMATS[fmt], width=width, height=height)


def orientation_of(data: bytes) -> int:
    return _orientation_of(data)


def perceptual_hash(data: bytes) -> int | None:
    """64-bit dHash of the image (for near-duplicates), from a reduced decode."""
    from prompts.media.metadata import dhash

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.seek(0)
            img.draft("L", (64, 64))
            return dhash(img)
    except Exception:  # the hash is a hint for moderators, never a reason to fail an upload
        return None


def _orientation_of(data: bytes) -> int:
    try:
        with Image.open(io.BytesIO(data)) as img:
            return int(img.getexif().get(0x0112, 1) or 1)
    except Exception:  # a broken EXIF block must not stop the upload: treat as upright
        return 1


def _fit(size: tuple[int, int], box: int) -> tuple[int, int]:
    width, height = size
    scale = min(box / width, box / height, 1.0)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _flatten(img: Image.Image) -> Image.Image:
    """RGB with transparency composited onto white (JPEG has no alpha)."""
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if img.mode == "I;16" or img.mode == "I":
        return img.point(lambda v: v / 256).convert("L").convert("RGB")
    return img.convert("RGB") if img.mode != "RGB" else img


def decode_for_variants(data: bytes) -> Image.Image:
    """One decode at the smallest scale that still serves the largest variant, upright, RGB."""
    img, orientation = _decode_reduced(data)
    return _upright(img, orientation)


def _decode_reduced(data: bytes) -> tuple[Image.Image, int]:
    """RGB pixels as stored (not yet turned upright) and the EXIF orientation to apply."""
    try:
        img = Image.open(io.BytesIO(data))
        img.seek(0)  # animated GIF/WebP: the first frame
        orientation = int(img.getexif().get(0x0112, 1) or 1)
        if img.format == "JPEG":
            target = _fit(img.size, VARIANT_BOXES["large"])
            img.draft("RGB", target)
        img.load()
        img = _flatten(img)
    except Image.DecompressionBombError as exc:
        raise ImageProcessingError("This image is too large to process. Please upload a smaller image.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageProcessingError("This file could not be read as an image. It may be damaged.") from exc
    return img, orientation


def _upright(img: Image.Image, orientation: int) -> Image.Image:
    for step in _TRANSPOSE.get(orientation, []):
        img = img.transpose(step)
    return img


def _encode(img: Image.Image, kind: str) -> bytes:
    buffer = io.BytesIO()
    if kind == "webp":
        img.save(buffer, format="WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
    else:
        # Baseline with optimised Huffman tables: 4 ms for the large variant against 10 ms for
        # progressive, for files ~3% larger.
        img.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True, progressive=False)
    return buffer.getvalue()


# Resizes smaller than this (output pixels) take under ~3 ms: not worth splitting.
BAND_MIN_PIXELS = 200_000
BANDS = 2


def _resize(img: Image.Image, box: int, resample: Image.Resampling = Image.Resampling.LANCZOS) -> Image.Image:
    size = _fit(img.size, box)
    if size == img.size:
        return img
    if size[0] * size[1] < BAND_MIN_PIXELS:
        return img.resize(size, resample, reducing_gap=3.0)
    # Horizontal bands resampled in parallel. Each band passes its share of the source as a
    # fractional box; Pillow's filter still reads the source rows just outside the box, so the
    # bands meet without a seam (identical to one resize, or within 1-2 levels for tall images).
    width, height = size
    scale = img.height / height
    edges = [round(height * i / BANDS) for i in range(BANDS + 1)]
    jobs = [
        _ENCODERS.submit(img.resize, (width, bottom - top), resample,
                         (0, top * scale, img.width, bottom * scale), 3.0)
        for top, bottom in zip(edges, edges[1:])
    ]
    out = Image.new(img.mode, size)
    for top, job in zip(edges, jobs):
        out.paste(job.result(), (0, top))
    return out


def make_variants(data: bytes) -> VariantSet:
    """thumb 300, medium 600, large 1200 (JPEG q85) and webp 600 (q80) from image bytes."""
    source, orientation = _decode_reduced(data)
    return variants_from_image(source, orientation=orientation)


def variants_from_image(source: Image.Image, *, orientation: int = 1) -> VariantSet:
    # The boxes are square, so resizing before turning upright gives the same sizes, and the
    # transpose works on the 1200 px image instead of the up to 2x larger decoded one.
    # BICUBIC for the first step: the decode was already reduced to under twice the target, where it
    # matches LANCZOS within 0.001 SSIM for ~8 ms less (bench/variants.py); LANCZOS for the rest.
    large = _upright(_resize(source, VARIANT_BOXES["large"], Image.Resampling.BICUBIC), orientation)
    large_job = _ENCODERS.submit(_encode, large, "large")
    medium = _resize(large, VARIANT_BOXES["medium"])
    medium_job = _ENCODERS.submit(_encode, medium, "medium")
    # A copy: Image.save keeps its options on the Image object (encoderinfo) and restores them
    # afterwards, so two threads saving one Image can encode with each other's options.
    webp_job = _ENCODERS.submit(_encode, medium.copy(), "webp")  # same 600 box as medium
    thumb = _resize(medium, VARIANT_BOXES["thumb"])
    thumb_job = _ENCODERS.submit(_encode, thumb, "thumb")
    hash_job = _ENCODERS.submit(_blurhash, thumb)
    width, height = source.size[::-1] if orientation in (5, 6, 7, 8) else source.size
    return VariantSet(
        files={
            "thumb": thumb_job.result(),
            "medium": medium_job.result(),
            "large": large_job.result(),
            "webp": webp_job.result(),
        },
        width=width,
        height=height,
        blurhash=hash_job.result(),
    )


def _blurhash(img: Image.Image) -> str:
    small = img.copy()
    small.thumbnail((32, 32))
    return blurhash.encode(small, x_components=4, y_components=3)

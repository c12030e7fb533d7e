"""Image processing: inspection, variants (videos: prompts.media.video; stripping: prompts.media.sanitize).

The variant path decodes once: JPEG's DCT scaling (`draft`) gives a reduced image no smaller
than the largest variant needs, orientation is applied to the large variant (not the bigger
decoded image), and the variants cascade large -> medium -> thumb. Resizes run as bands and
encodes run in threads (Pillow releases the GIL while resampling and encoding).
Every output is re-encoded from pixels, converted to sRGB from the source's colour profile and
tagged sRGB, so no EXIF/GPS/XMP from the upload reaches a public file.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import logging
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import blurhash
from PIL import Image, ImageChops, ImageCms, ImageMath, UnidentifiedImageError

logger = logging.getLogger(__name__)

# Larger than any honest 3 MB image; smaller than what would exhaust a worker's memory.
MAX_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow's own bomb guard (raises above twice this)

VARIANT_BOXES = {"large": 1200, "medium": 600, "thumb": 300}
# Every public picture in every format a browser may choose, at every width (the page's srcset lists
# them with their real widths). The first four names are those of the first variants, kept so older
# prompts' keys still mean the same files.
VARIANTS = {
    "thumb": ("jpeg", "thumb"),
    "medium": ("jpeg", "medium"),
    "large": ("jpeg", "large"),
    "webp_thumb": ("webp", "thumb"),
    "webp": ("webp", "medium"),
    "webp_large": ("webp", "large"),
}
# AVIF (settings.IMAGE_AVIF_VARIANTS): ~40% smaller than WebP at the same look, but its encoder costs
# several times WebP's (bench/variants.py), so it is off unless an operator turns it on.
AVIF_VARIANTS = {
    "avif_thumb": ("avif", "thumb"),
    "avif_medium": ("avif", "medium"),
    "avif_large": ("avif", "large"),
}
FORMATS = {"jpeg": ("image/jpeg", "jpg"), "webp": ("image/webp", "webp"), "avif": ("image/avif", "avif")}
JPEG_QUALITY = 85
WEBP_QUALITY = 80
AVIF_QUALITY = 60
# libavif/aom speed 0 (slowest, smallest) .. 10; 8 keeps the encode near WebP's cost.
AVIF_SPEED = 8
# method dominates WebP encode time: 2 takes 6 ms for 600 px, 3 and 4 take 16 ms for ~8% smaller
# files (bench/variants.py).
WEBP_METHOD = 2
# MPO (iPhone and Pixel photos with a gain map or depth map) is a JPEG followed by secondary images:
# it is accepted as the JPEG it starts with, and the stripper keeps that primary image alone.
ALLOWED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
FORMAT_ALIASES = {"MPO": "JPEG"}
DAMAGED = "This file could not be read as an image. It may be damaged."

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
    width: int = 0  # of the source (full size, not the reduced decode) after orientation
    height: int = 0
    blurhash: str = ""

    @staticmethod
    def content_type(name: str) -> str:
        return FORMATS[variant_format(name)][0]

    @staticmethod
    def extension(name: str) -> str:
        return FORMATS[variant_format(name)][1]


def variant_format(name: str) -> str:
    return {**VARIANTS, **AVIF_VARIANTS}[name][0]


def avif_supported() -> bool:
    from PIL import features

    return bool(features.check("avif"))


def inspect_image(data: bytes) -> ImageInfo:
    """Check the bytes really are an image of an allowed kind; a JPEG's image data is decoded too."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = FORMAT_ALIASES.get(img.format or "", img.format or "")
            width, height = img.size
            if fmt not in ALLOWED_FORMATS:
                raise ImageProcessingError("This file is not a JPG, PNG, GIF or WebP image.")
            if width * height > MAX_PIXELS or width > 20000 or height > 20000:
                raise ImageProcessingError(
                    f"This image is too large to process ({width}×{height} pixels). "
                    "Please upload an image under 40 megapixels."
                )
            img.verify()
        if fmt == "JPEG":
            _decode_scan_data(data)
    except ImageProcessingError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageProcessingError("This image is too large to process. Please upload a smaller image.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageProcessingError(DAMAGED) from exc
    orientation = _orientation_of(data)
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return ImageInfo(format=fmt, content_type=ALLOWED_FORMATS[fmt], width=width, height=height)


def _decode_scan_data(data: bytes) -> None:
    """Decode a JPEG at 1/8 scale: verify() reads only the headers, so a truncated or corrupt file would
    otherwise be stored and sent to moderation, failing only when its variants are made. At 1/8 scale
    libjpeg still reads every byte of the entropy-coded data (12 MP in ~20 ms)."""
    with Image.open(io.BytesIO(data)) as img:
        img.draft(None, (max(1, img.width // 8), max(1, img.height // 8)))
        img.load()


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


# --- Transparency ----------------------------------------------------------------------------

_GREY_16 = ("I;16", "I;16B", "I;16L", "I")


def _opaque(img: Image.Image, rawmode: str = "") -> Image.Image:
    """The pixels as opaque RGB, L or CMYK, with every kind of transparency composited onto white.

    JPEG has no alpha, and a viewer shows transparent areas on a light page. Grey stays grey and CMYK
    stays CMYK, so that their colour profile can still be applied. PNG's tRNS gives one key colour
    (or grey level) in the file's own bit depth, while Pillow hands over 8-bit pixels: the key is
    brought to the pixels' scale first (for 16-bit RGB that makes the ~256 16-bit colours sharing
    the key's high bytes transparent too, a difference no one can see).
    """
    key = img.info.get("transparency")
    mode = img.mode
    if mode in _GREY_16:
        grey = img.point(lambda v: v / 256).convert("L")  # 16-bit grey -> 8-bit
        if key is None:
            return grey
        opaque = ImageMath.lambda_eval(lambda a: (a["im"] != key) * 255, im=img.convert("I")).convert("L")
        return _on_white(grey, opaque)
    if mode == "P":
        return _opaque(img.convert("RGBA") if key is not None else img.convert("RGB"))
    if mode == "PA":
        return _opaque(img.convert("RGBA"))
    if mode == "1":
        img, mode = img.convert("L"), "L"  # Pillow reports a 1-bit key as 0 or 255 already
        if key is not None:
            img.info["transparency"] = key
    if key is not None and mode in ("L", "RGB"):
        img = img.copy()
        img.info["transparency"] = _key_at_8_bits(key, rawmode)
        img = img.convert("LA" if mode == "L" else "RGBA")
        mode = img.mode
    if mode in ("LA", "La"):
        return _on_white(img.getchannel("L"), img.getchannel("A"))
    if mode in ("RGBA", "RGBa"):
        return _on_white(img.convert("RGB"), img.getchannel("A"))
    if mode in ("RGB", "L", "CMYK"):
        return img
    return img.convert("RGB")


def _key_at_8_bits(key, rawmode: str):
    if rawmode.endswith(";16B") or rawmode.endswith(";16"):  # 16-bit samples, decoded to their high byte
        return tuple(v >> 8 for v in key) if isinstance(key, tuple) else key >> 8
    bits = {"L;1": 1, "L;2": 2, "L;4": 4}.get(rawmode)
    if bits and isinstance(key, int):  # low-bit grey: the key is a raw sample, the pixels are scaled up
        return key * 255 // ((1 << bits) - 1)
    return key


def _on_white(img: Image.Image, alpha: Image.Image) -> Image.Image:
    background = Image.new(img.mode, img.size, 255 if img.mode == "L" else (255, 255, 255))
    background.paste(img, mask=alpha)
    return background


# --- Colour ----------------------------------------------------------------------------------

# Relative colorimetric: every colour inside sRGB - nearly all of a photo's pixels - comes out exactly as
# measured, and only the ones outside it (the saturated reds and greens of a Display P3 or Adobe RGB
# photo) are clipped to the nearest sRGB colour. Perceptual would compress every colour towards the
# centre to make room for those few, dulling the whole picture, and the matrix profiles phones and
# cameras write (Display P3, Adobe RGB, ProPhoto) have no perceptual table anyway: LittleCMS would use
# colorimetric for them and perceptual only for the occasional LUT profile (CMYK), so one intent gives the
# same behaviour for every file. Black point compensation maps a print profile's ink black to sRGB
# black instead of a dark grey (what Photoshop's default conversion does); RGB matrix profiles already
# have a zero black, so for them it changes nothing.
RENDERING_INTENT = ImageCms.Intent.RELATIVE_COLORIMETRIC
_TRANSFORM_FLAGS = ImageCms.Flags.BLACKPOINTCOMPENSATION
_SRGB = ImageCms.createProfile("sRGB")
# LittleCMS's own sRGB, 588 bytes: the tag on every variant, as image CDNs do. Browsers treat an untagged
# image as sRGB too, but a tag keeps colour-managed viewers and re-processing tools from guessing.
SRGB_ICC = ImageCms.ImageCmsProfile(_SRGB).tobytes()
_PROFILE_MODES = {"RGB ": "RGB", "CMYK": "CMYK", "GRAY": "L"}
# Profiles come from uploads, so the cache is bounded; real traffic has a handful (sRGB, Display P3,
# Adobe RGB and a few print profiles).
TRANSFORM_CACHE_SIZE = 32
_transforms: OrderedDict[tuple[bytes, str], ImageCms.ImageCmsTransform | None] = OrderedDict()
_transforms_lock = threading.Lock()
# Every 15th level of each channel (18^3 colours): enough to tell an sRGB-equivalent profile, which is
# then skipped, from one that moves colours.
_PROBE_LEVELS = range(0, 256, 15)
_PROBE = {
    "RGB": Image.frombytes(
        "RGB",
        (len(_PROBE_LEVELS) ** 3, 1),
        bytes(itertools.chain.from_iterable(itertools.product(_PROBE_LEVELS, repeat=3))),
    ),
    "L": Image.frombytes("L", (256, 1), bytes(range(256))),
}


def colour_transform(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """The transform from this embedded profile to sRGB for pixels in `mode`, built once per profile.

    None when there is nothing to do (the profile is sRGB in all but name) or nothing sensible to do
    (a broken profile, or one for another colour space than the pixels): browsers then show the
    numbers as sRGB, and so do we. Building takes 5-50 ms and happens under the lock, so concurrent
    uploads of a new profile build it once. Applying one transform from several threads at once is safe:
    LittleCMS works on a copy of a transform's one-pixel cache in each call.
    """
    key = (hashlib.sha256(icc).digest(), mode)
    with _transforms_lock:
        if key in _transforms:
            _transforms.move_to_end(key)
            return _transforms[key]
        transform = _build_transform(icc, mode)
        _transforms[key] = transform
        if len(_transforms) > TRANSFORM_CACHE_SIZE:
            _transforms.popitem(last=False)
        return transform


def clear_colour_transforms() -> None:
    with _transforms_lock:
        _transforms.clear()


def _build_transform(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if _PROFILE_MODES.get(profile.profile.xcolor_space) != mode:
            return None
        transform = ImageCms.buildTransform(profile, _SRGB, mode, "RGB", RENDERING_INTENT, flags=_TRANSFORM_FLAGS)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as exc:
        logger.info("colour profile ignored (%s): %s", mode, exc)
        return None
    if mode in _PROBE:
        probe = _PROBE[mode]
        difference = ImageChops.difference(ImageCms.applyTransform(probe, transform), probe.convert("RGB"))
        if max(high for _, high in difference.getextrema()) <= 1:
            return None
    return transform


def _to_srgb(img: Image.Image, icc: bytes | None) -> Image.Image:
    transform = colour_transform(icc, img.mode) if icc else None
    if transform is None:
        return img if img.mode == "RGB" else img.convert("RGB")
    return ImageCms.applyTransform(img, transform)


# --- Decoding --------------------------------------------------------------------------------


@dataclass
class Decoded:
    """Pixels ready for the variants: opaque, not yet upright, in the file's colour space."""

    image: Image.Image  # RGB, L or CMYK; reduced for a large JPEG
    orientation: int = 1
    icc_profile: bytes | None = None
    size: tuple[int, int] = (0, 0)  # the file's own size, before any reduction, not yet upright


def _decode_reduced(data: bytes) -> Decoded:
    try:
        img = Image.open(io.BytesIO(data))
        img.seek(0)  # animated GIF/WebP: the first frame
        # The sample layout (bit depth) before anything loads the pixels: PNG's getexif() may load them.
        rawmode = img.tile[0].args if img.tile and isinstance(img.tile[0].args, str) else ""
        orientation = int(img.getexif().get(0x0112, 1) or 1)
        size = img.size
        if img.format in ("JPEG", "MPO"):
            img.draft("RGB", _fit(img.size, VARIANT_BOXES["large"]))
        img.load()
        icc = img.info.get("icc_profile") or None
        img = _opaque(img, rawmode)
    except Image.DecompressionBombError as exc:
        raise ImageProcessingError("This image is too large to process. Please upload a smaller image.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageProcessingError(DAMAGED) from exc
    return Decoded(image=img, orientation=orientation, icc_profile=icc, size=size)


def _upright(img: Image.Image, orientation: int) -> Image.Image:
    for step in _TRANSPOSE.get(orientation, []):
        img = img.transpose(step)
    return img


# --- Encoding and resizing -------------------------------------------------------------------


def _encode(img: Image.Image, kind: str, *, full_scale: bool = False) -> bytes:
    """`kind` jpeg q85, webp q80 or avif q60, tagged sRGB.

    `full_scale` means the variant is the source pixel for pixel (a small image or pixel art): no resize
    blurred it, so 4:2:0 chroma subsampling would smear its colour edges visibly. Then JPEG keeps full
    colour resolution (4:4:4), and a WebP of few colours is stored lossless (lossy WebP is always
    4:2:0); for downscaled variants the resampling has already softened edges and 4:2:0 is invisible.
    """
    buffer = io.BytesIO()
    if kind == "webp":
        if full_scale and img.getcolors(256) is not None:
            img.save(buffer, format="WEBP", lossless=True, method=WEBP_METHOD, icc_profile=SRGB_ICC)
        else:
            img.save(buffer, format="WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD, icc_profile=SRGB_ICC)
    elif kind == "avif":
        img.save(buffer, format="AVIF", quality=AVIF_QUALITY, speed=AVIF_SPEED, icc_profile=SRGB_ICC)
    else:
        # Baseline with optimised Huffman tables: 4 ms for the large variant against 10 ms for
        # progressive, for files ~3% larger.
        img.save(
            buffer,
            format="JPEG",
            quality=JPEG_QUALITY,
            optimize=True,
            progressive=False,
            subsampling="4:4:4" if full_scale else "4:2:0",
            icc_profile=SRGB_ICC,
        )
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
        _ENCODERS.submit(img.resize, (width, bottom - top), resample, (0, top * scale, img.width, bottom * scale), 3.0)
        for top, bottom in itertools.pairwise(edges)
    ]
    out = Image.new(img.mode, size)
    for top, job in zip(edges, jobs, strict=False):  # edges has one more entry: the bottom
        out.paste(job.result(), (0, top))
    return out


def make_variants(data: bytes, *, avif: bool = False) -> VariantSet:
    """JPEG (q85) and WebP (q80), and with `avif` AVIF, each at 300, 600 and 1200 px, from image bytes."""
    decoded = _decode_reduced(data)
    return variants_from_image(
        decoded.image,
        orientation=decoded.orientation,
        icc_profile=decoded.icc_profile,
        full_size=decoded.size,
        avif=avif,
    )


def variants_from_image(
    source: Image.Image,
    *,
    orientation: int = 1,
    icc_profile: bytes | None = None,
    full_size: tuple[int, int] | None = None,
    avif: bool = False,
) -> VariantSet:
    """The variants of `source` (RGB, L or CMYK pixels in the colour space of `icc_profile`, turned by
    `orientation`); `full_size` is the file's size when `source` is a reduced decode of it."""
    # The boxes are square, so resizing before turning upright gives the same sizes, and the
    # transpose works on the 1200 px image instead of the up to 2x larger decoded one. The colour
    # conversion also runs on that 1200 px image: a fraction of the decode's pixels.
    # BICUBIC for the first step: the decode was already reduced to under twice the target, where it
    # matches LANCZOS within 0.001 SSIM for ~8 ms less (bench/variants.py); LANCZOS for the rest.
    large = _resize(source, VARIANT_BOXES["large"], Image.Resampling.BICUBIC)
    large = _upright(_to_srgb(large, icc_profile), orientation)
    width, height = full_size or source.size
    if orientation in (5, 6, 7, 8):
        width, height = height, width

    def full_scale(img: Image.Image) -> bool:
        return img.size == (width, height)

    names = {**VARIANTS, **(AVIF_VARIANTS if avif else {})}
    jobs = {}

    def encode_all(img: Image.Image, size: str) -> None:
        # A copy per encode: Image.save keeps its options on the Image object (encoderinfo) and restores
        # them afterwards, so two threads saving one Image can encode with each other's options.
        for name, (kind, box) in names.items():
            if box == size:
                jobs[name] = _ENCODERS.submit(_encode, img.copy(), kind, full_scale=full_scale(img))

    encode_all(large, "large")
    medium = _resize(large, VARIANT_BOXES["medium"])
    encode_all(medium, "medium")
    thumb = _resize(medium, VARIANT_BOXES["thumb"])
    encode_all(thumb, "thumb")
    hash_job = _ENCODERS.submit(_blurhash, thumb)
    return VariantSet(
        files={name: job.result() for name, job in jobs.items()},
        width=width,
        height=height,
        blurhash=hash_job.result(),
    )


def _blurhash(img: Image.Image) -> str:
    small = img.copy()
    small.thumbnail((32, 32))
    return blurhash.encode(small, x_components=4, y_components=3)

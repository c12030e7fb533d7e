"""Real image files of the awkward kinds phones, editors and AI tools write, made at test time.

Colour-managed files use the real ICC profiles in tests/icc/ (see tests/icc/README.md for where they come
from and their licences). PNGs with transparency keys are written chunk by chunk, because Pillow cannot
write every kind (16-bit RGB, 1- and 2-bit grey with tRNS). JPEG segment layouts that trip naive parsers
(fill bytes, segments between progressive scans, restart markers) are built by splicing real segments.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageDraw

ICC_DIR = Path(__file__).resolve().parent / "icc"
DISPLAY_P3 = ICC_DIR / "DisplayP3.icm"  # ArgyllCMS reference profile, public domain
CMYK_SWOP = ICC_DIR / "default_cmyk.icc"  # Ghostscript's "Artifex CMYK SWOP Profile", AGPL-3+
SWAPPED_RED_GREEN = ICC_DIR / "SwappedRedAndGreen.icc"  # colord's test profile, CC0

ORIENTATION = 0x0112
GPS_IFD = 0x8825
GPS = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}
XMP = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="52,31.2N" '
    b'xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/" hdrgm:Version="1.0"/>'
    b'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)


def encode(img: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def exif_bytes(*, orientation: int | None = None, gps: bool = False) -> bytes:
    exif = Image.Exif()
    if orientation:
        exif[ORIENTATION] = orientation
    if gps:
        exif[0x010F] = "TestPhone"
        exif.get_ifd(GPS_IFD).update(GPS)
    return exif.tobytes()


# --- Colour -----------------------------------------------------------------------------------


def colour_chart(size=(960, 720)) -> np.ndarray:
    """Smooth hue and saturation ramps reaching the fully saturated corners of the RGB cube, plus a grey ramp.

    Stored as Display P3 values its reds and greens lie outside sRGB; smooth, because JPEG q85 on sharp
    colour edges alone would cost more than a ΔE of 1, whatever the colour pipeline does.
    """
    width, height = size
    hue = np.linspace(0, 6, width)[None, :]  # red, yellow, green, cyan, blue, magenta, red
    pure = np.stack(
        [np.clip(np.abs(hue - 3) - 1, 0, 1), np.clip(2 - np.abs(hue - 2), 0, 1), np.clip(2 - np.abs(hue - 4), 0, 1)],
        axis=-1,
    )
    y = np.linspace(0, 1, height)[:, None, None]
    saturation = np.clip(1.4 - y * 1.4, 0, 1)  # fully saturated in the top 30%, grey at the bottom
    value = 0.35 + 0.65 * (1 - np.abs(y - 0.5) * 0.6)  # darker towards top and bottom
    rgb = value * (1 - saturation + saturation * pure)
    grey_rows = height // 8
    rgb[-grey_rows:] = np.linspace(0, 1, width)[None, :, None]  # a neutral ramp along the bottom
    return (rgb * 255).round().clip(0, 255).astype(np.uint8)


def profile_bytes(path: Path) -> bytes:
    return ImageCms.getOpenProfile(str(path)).tobytes()


def p3_image(size=(960, 720)) -> Image.Image:
    """Chart values taken as Display P3 RGB (so its saturated corners are outside sRGB), profile attached."""
    img = Image.fromarray(colour_chart(size), "RGB")
    img.info["icc_profile"] = profile_bytes(DISPLAY_P3)
    return img


def p3_jpeg(size=(1600, 1200), **options) -> bytes:
    img = p3_image(size)
    return encode(img, "JPEG", quality=95, icc_profile=img.info["icc_profile"], **options)


def p3_png(size=(960, 720)) -> bytes:
    img = p3_image(size)
    return encode(img, "PNG", icc_profile=img.info["icc_profile"])


def cmyk_jpeg(size=(1200, 900)) -> bytes:
    """The chart (as sRGB) separated to CMYK for SWOP press with ImageCms, saved with that profile."""
    chart = Image.fromarray(colour_chart(size), "RGB")
    to_cmyk = ImageCms.buildTransform(
        ImageCms.createProfile("sRGB"), str(CMYK_SWOP), "RGB", "CMYK", ImageCms.Intent.PERCEPTUAL
    )
    cmyk = ImageCms.applyTransform(chart, to_cmyk)
    return encode(cmyk, "JPEG", quality=95, icc_profile=profile_bytes(CMYK_SWOP))


def swapped_channels_png(size=(480, 360)) -> bytes:
    img = Image.fromarray(colour_chart(size), "RGB")
    return encode(img, "PNG", icc_profile=profile_bytes(SWAPPED_RED_GREEN))


def reference_srgb(data: bytes) -> Image.Image:
    """What the file's colours are in sRGB: a full decode converted from its embedded profile by LittleCMS,
    relative colorimetric with black point compensation, upright."""
    img = Image.open(io.BytesIO(data))
    img.load()
    from PIL import ImageOps

    img = ImageOps.exif_transpose(img)
    source = ImageCms.ImageCmsProfile(io.BytesIO(img.info["icc_profile"]))
    return ImageCms.profileToProfile(
        img,
        source,
        ImageCms.createProfile("sRGB"),
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
        outputMode="RGB",
        flags=ImageCms.Flags.BLACKPOINTCOMPENSATION,
    )


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (uint8) -> CIELAB (D65), by the sRGB and CIE formulas."""
    c = rgb.astype(np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    matrix = np.array(
        [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
    )
    xyz = linear @ matrix.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def delta_e2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference (Sharma, Wu and Dalal 2005), element-wise over [..., 3] arrays."""
    l1, a1, b1 = np.moveaxis(lab1, -1, 0)
    l2, a2, b2 = np.moveaxis(lab2, -1, 0)
    c_bar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_bar**7 / (c_bar**7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dl, dc = l2 - l1, c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1p * c2p == 0, 0, dh)
    dhp = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh) / 2)
    l_bar, c_bar_p = (l1 + l2) / 2, (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_bar = np.where(
        c1p * c2p == 0,
        h_sum,
        np.where(np.abs(h1p - h2p) <= 180, h_sum / 2, np.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2)),
    )
    t = (
        1
        - 0.17 * np.cos(np.radians(h_bar - 30))
        + 0.24 * np.cos(np.radians(2 * h_bar))
        + 0.32 * np.cos(np.radians(3 * h_bar + 6))
        - 0.20 * np.cos(np.radians(4 * h_bar - 63))
    )
    sl = 1 + 0.015 * (l_bar - 50) ** 2 / np.sqrt(20 + (l_bar - 50) ** 2)
    sc = 1 + 0.045 * c_bar_p
    sh = 1 + 0.015 * c_bar_p * t
    rt = (
        -2
        * np.sqrt(c_bar_p**7 / (c_bar_p**7 + 25.0**7))
        * np.sin(np.radians(60 * np.exp(-(((h_bar - 275) / 25) ** 2))))
    )
    return np.sqrt((dl / sl) ** 2 + (dc / sc) ** 2 + (dhp / sh) ** 2 + rt * (dc / sc) * (dhp / sh))


def mean_delta_e(reference: Image.Image, variant: Image.Image) -> float:
    """Mean ΔE2000 of a variant against the reference resized (LANCZOS) to the variant's size."""
    expected = reference.convert("RGB").resize(variant.size, Image.Resampling.LANCZOS)
    return float(delta_e2000(srgb_to_lab(np.asarray(expected)), srgb_to_lab(np.asarray(variant.convert("RGB")))).mean())


# --- Orientation ------------------------------------------------------------------------------

# How to store an upright picture so that a viewer applying EXIF orientation N shows it upright again.
STORE_FOR = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}
CORNERS = {"top-left": (255, 0, 0), "top-right": (0, 0, 255), "bottom-left": (0, 160, 0)}


def upright_picture(size=(600, 900)) -> Image.Image:
    """Portrait, grey, with a red block top-left, blue top-right, green bottom-left: any turn or flip shows."""
    width, height = size
    img = Image.new("RGB", size, (128, 128, 128))
    draw = ImageDraw.Draw(img)
    bw, bh = width // 4, height // 4
    draw.rectangle((0, 0, bw, bh), fill=CORNERS["top-left"])
    draw.rectangle((width - bw, 0, width - 1, bh), fill=CORNERS["top-right"])
    draw.rectangle((0, height - bh, bw, height - 1), fill=CORNERS["bottom-left"])
    return img


def oriented(fmt: str, orientation: int, size=(600, 900), *, gps: bool = False) -> bytes:
    """An upright `size` picture stored turned/flipped, with the EXIF orientation that undoes it."""
    picture = upright_picture(size)
    stored = picture.transpose(STORE_FOR[orientation]) if orientation in STORE_FOR else picture
    options = {"exif": exif_bytes(orientation=orientation, gps=gps)}
    if fmt == "WEBP":
        options.update(quality=90)
    return encode(stored, fmt, **options)


def corner_colours(img: Image.Image) -> dict[str, tuple[int, int, int]]:
    rgb = img.convert("RGB")
    w, h = rgb.size
    dx, dy = max(1, w // 10), max(1, h // 10)
    return {
        "top-left": rgb.getpixel((dx, dy)),
        "top-right": rgb.getpixel((w - 1 - dx, dy)),
        "bottom-left": rgb.getpixel((dx, h - 1 - dy)),
    }


# --- MPO (Pixel Ultra HDR, iPhone) ------------------------------------------------------------


def mpo_jpeg(size=(1200, 900), *, ultra_hdr: bool = False) -> bytes:
    """A primary photo (EXIF with GPS, XMP) followed by a quarter-size gain map with its own EXIF and GPS,
    tied together by an MPF index (APP2), as iPhone cameras write them. With `ultra_hdr` the primary's XMP
    declares an Ultra HDR gain map (hdrgm), as Pixel cameras write it (Pillow then opens it as plain JPEG)."""
    primary = upright_picture(size)
    gain_map = Image.new("RGB", (size[0] // 4, size[1] // 4), (90, 90, 90))
    data = encode(primary, "MPO", save_all=True, append_images=[gain_map], exif=exif_bytes(gps=True), quality=90)
    xmp = XMP if ultra_hdr else XMP.replace(b' hdrgm:Version="1.0"', b"")
    # The XMP goes in front of the MPF segment: MPF offsets count from MPF's own header, so they stay right.
    mpf = data.index(b"\xff\xe2")
    return data[:mpf] + app1_xmp(xmp) + data[mpf:]


# --- GIF ---------------------------------------------------------------------------------------


def _sub_blocks(payload: bytes) -> bytes:
    return (
        b"".join(bytes([len(payload[i : i + 255])]) + payload[i : i + 255] for i in range(0, len(payload), 255)) + b"\0"
    )


def gif_comment(text: bytes) -> bytes:
    return b"\x21\xfe" + _sub_blocks(text)


def gif_xmp_extension(xmp: bytes = XMP) -> bytes:
    """XMP as Adobe writes it into GIF: raw packet bytes followed by the 258-byte 'magic trailer' that makes
    any parser reading sub-blocks land on the terminator."""
    trailer = bytes([1]) + bytes(range(255, -1, -1)) + b"\0"
    return b"\x21\xff\x0bXMP DataXMP" + xmp + trailer


def gif_application(identifier: bytes, payload: bytes) -> bytes:
    return b"\x21\xff\x0b" + identifier + _sub_blocks(payload)


def gif_with_metadata(*, animated: bool = True) -> bytes:
    """An animated GIF carrying a comment before the first frame, an XMP packet, a Photoshop IPTC block and
    another comment between frames; the NETSCAPE loop extension is there too and must survive."""
    frames = [Image.new("P", (64, 48), i * 60) for i in range(3 if animated else 1)]
    for frame in frames:
        frame.putpalette([v for i in range(256) for v in (i, 255 - i, (i * 3) % 256)])
    data = encode(frames[0], "GIF", save_all=animated, append_images=frames[1:], duration=100, loop=0)
    first_frame = data.index(b"\x21\xf9")  # the graphic control extension of frame 1
    extra = (
        gif_comment(b"Created with GIMP")
        + gif_xmp_extension()
        + gif_application(b"MGK8BIM0000", b"8BIM\x04\x04 Photoshop caption, taken at 52N 13E")
    )
    data = data[:first_frame] + extra + data[first_frame:]
    if animated:
        second = data.index(b"\x21\xf9", first_frame + len(extra) + 2)
        data = data[:second] + gif_comment(b"Photoshop: layer 2, author Jane Doe") + data[second:]
    return data + b"trailing bytes after the GIF trailer"


# --- PNG, chunk by chunk ------------------------------------------------------------------------


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def raw_png(
    rows: list[bytes], width: int, height: int, *, bit_depth: int, colour_type: int, extra: list[bytes] = ()
) -> bytes:
    """A PNG from already packed scanlines (filter type 0 is prepended here)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    idat = zlib.compress(b"".join(b"\0" + row for row in rows))
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + b"".join(extra)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def _pack_bits(values: list[int], bits: int) -> bytes:
    out, acc, count = bytearray(), 0, 0
    for value in values:
        acc = (acc << bits) | value
        count += bits
        if count == 8:
            out.append(acc)
            acc, count = 0, 0
    if count:
        out.append(acc << (8 - count))
    return bytes(out)


KEY_SIZE = (40, 20)  # the left half is the key colour (transparent), the right half opaque


def trns_png(kind: str) -> tuple[bytes, tuple[int, int, int]]:
    """A PNG whose left half is transparent by a tRNS key (or palette alpha / alpha channel), and the
    colour its right half must show. The transparent pixels hold a loud colour (green, or black for grey)."""
    width, height = KEY_SIZE
    left, right = range(width // 2), range(width // 2, width)
    if kind == "rgb8":
        row = b"".join(bytes((0, 255, 0)) for _ in left) + b"".join(bytes((200, 30, 30)) for _ in right)
        trns = png_chunk(b"tRNS", struct.pack(">HHH", 0, 255, 0))
        return raw_png([row] * height, width, height, bit_depth=8, colour_type=2, extra=[trns]), (200, 30, 30)
    if kind == "rgb16":
        row = b"".join(struct.pack(">HHH", 0, 65535, 0) for _ in left) + b"".join(
            struct.pack(">HHH", 51400, 7710, 7710) for _ in right
        )
        trns = png_chunk(b"tRNS", struct.pack(">HHH", 0, 65535, 0))
        return raw_png([row] * height, width, height, bit_depth=16, colour_type=2, extra=[trns]), (200, 30, 30)
    if kind == "grey8":
        row = bytes([0] * len(left) + [100] * len(right))
        trns = png_chunk(b"tRNS", struct.pack(">H", 0))
        return raw_png([row] * height, width, height, bit_depth=8, colour_type=0, extra=[trns]), (100, 100, 100)
    if kind == "grey16":
        row = b"".join(struct.pack(">H", 0) for _ in left) + b"".join(struct.pack(">H", 25700) for _ in right)
        trns = png_chunk(b"tRNS", struct.pack(">H", 0))
        return raw_png([row] * height, width, height, bit_depth=16, colour_type=0, extra=[trns]), (100, 100, 100)
    if kind == "grey1":
        # Black is the key (left), white stays (right): line art whose background must not turn black.
        row = _pack_bits([0] * len(left) + [1] * len(right), 1)
        trns = png_chunk(b"tRNS", struct.pack(">H", 0))
        return raw_png([row] * height, width, height, bit_depth=1, colour_type=0, extra=[trns]), (255, 255, 255)
    if kind == "grey2":
        # The key is a 2-bit sample value (1, shown as 85), not the 8-bit value it is displayed as.
        row = _pack_bits([1] * len(left) + [2] * len(right), 2)
        trns = png_chunk(b"tRNS", struct.pack(">H", 1))
        return raw_png([row] * height, width, height, bit_depth=2, colour_type=0, extra=[trns]), (170, 170, 170)
    if kind == "palette":
        plte = png_chunk(b"PLTE", bytes((0, 255, 0, 200, 30, 30)))
        trns = png_chunk(b"tRNS", bytes((0,)))  # entry 0 transparent, entry 1 opaque by omission
        row = bytes([0] * len(left) + [1] * len(right))
        return raw_png([row] * height, width, height, bit_depth=8, colour_type=3, extra=[plte, trns]), (200, 30, 30)
    if kind == "la":
        row = bytes([0, 0] * len(left) + [100, 255] * len(right))
        return raw_png([row] * height, width, height, bit_depth=8, colour_type=4), (100, 100, 100)
    if kind == "la16":
        row = struct.pack(">HH", 0, 0) * len(left) + struct.pack(">HH", 25700, 65535) * len(right)
        return raw_png([row] * height, width, height, bit_depth=16, colour_type=4), (100, 100, 100)
    if kind == "rgba16":
        row = struct.pack(">HHHH", 0, 65535, 0, 0) * len(left) + struct.pack(">HHHH", 51400, 7710, 7710, 65535) * len(
            right
        )
        return raw_png([row] * height, width, height, bit_depth=16, colour_type=6), (200, 30, 30)
    raise ValueError(kind)


TRNS_KINDS = ["rgb8", "rgb16", "grey8", "grey16", "grey1", "grey2", "palette", "la", "la16", "rgba16"]


# --- JPEG segments ------------------------------------------------------------------------------


def jpeg_segments(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, whole segment) up to and including the first SOS header; the rest as (0, bytes)."""
    out, pos = [(0xD8, data[:2])], 2
    while True:
        marker = data[pos + 1]
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        out.append((marker, data[pos : pos + 2 + length]))
        pos += 2 + length
        if marker == 0xDA:
            out.append((0, data[pos:]))
            return out


def app1_exif_with_thumbnail(gps: bool = True) -> bytes:
    """An EXIF APP1 segment holding GPS, with a JPEG thumbnail appended to the TIFF block (its own SOI..EOI,
    FF D9 included, sits inside the segment: where a parser that lost its place would cut)."""
    thumbnail = encode(Image.new("RGB", (160, 120), (10, 200, 10)), "JPEG", quality=80)
    exif = Image.Exif()
    exif[0x010F] = "TestPhone"
    if gps:
        exif.get_ifd(GPS_IFD).update(GPS)
    payload = b"Exif\0\0" + exif.tobytes() + thumbnail
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def app1_xmp(xmp: bytes = XMP) -> bytes:
    payload = b"http://ns.adobe.com/xap/1.0/\0" + xmp
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def com_segment(text: bytes) -> bytes:
    return b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text


def photo_jpeg(size=(800, 600), **options) -> bytes:
    """A smooth photo-like JPEG (gradients and blocks) to check stripping keeps every pixel."""
    img = Image.fromarray(colour_chart(size), "RGB")
    ImageDraw.Draw(img).rectangle((20, 20, size[0] // 3, size[1] // 3), fill=(0, 0, 255))
    return encode(img, "JPEG", quality=90, **options)


def jpeg_with_fill_bytes_and_thumbnail() -> bytes:
    """Valid: fill bytes (FF FF ...) before markers, an EXIF thumbnail, XMP after it and a comment."""
    segments = jpeg_segments(photo_jpeg())
    head = segments[0][1] + b"\xff\xff" + app1_exif_with_thumbnail()
    tables = b"".join(b"\xff\xff\xff" + seg if marker in (0xDB, 0xC4) else seg for marker, seg in segments[1:-1])
    return head + app1_xmp() + com_segment(b"made by someone at 52N 13E") + tables + segments[-1][1]


def progressive_jpeg_with_segments_between_scans() -> bytes:
    """Valid: a progressive JPEG with XMP and a comment placed between its scans (allowed before any scan)."""
    data = photo_jpeg(progressive=True)
    second_scan = data.index(b"\xff\xda", data.index(b"\xff\xda") + 2)
    # Between scans there may be DHT tables first: insert just before the second SOS.
    return data[:second_scan] + app1_xmp() + com_segment(b"GPS 52N 13E") + data[second_scan:]


def jpeg_with_restart_markers() -> bytes:
    """Valid: restart intervals, so the entropy-coded data holds FF D0..D7 markers; plus EXIF with GPS."""
    return photo_jpeg(restart_marker_blocks=4, exif=exif_bytes(gps=True))


def truncated_jpeg() -> bytes:
    """A camera JPEG cut off in the middle of its image data (an interrupted transfer)."""
    data = photo_jpeg((1600, 1200), exif=exif_bytes(gps=True))
    return data[: len(data) * 6 // 10]


def broken_segment_jpeg() -> bytes:
    """A JPEG whose Huffman table segment claims more bytes than it has, swallowing the frame header."""
    data = bytearray(photo_jpeg((1600, 1200)))
    dht = data.index(b"\xff\xc4")
    data[dht + 2 : dht + 4] = struct.pack(">H", 0x0400)
    return bytes(data)


def corrupt_scan_jpeg() -> bytes:
    """A JPEG whose entropy-coded data was overwritten in the middle by a block of marker-like bytes."""
    data = bytearray(photo_jpeg((1600, 1200)))
    sos = data.index(b"\xff\xda")
    middle = sos + (len(data) - sos) // 2
    data[middle : middle + 64] = b"\xff\xc0\x00\x11" * 16
    return bytes(data)

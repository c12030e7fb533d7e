"""Every real image comes out upright, in its true colours and clean, or is refused at once.

Most tests run the media adapters the way the upload flow does (inspect at complete, strip the stored
copy, make the variants from the stripped copy); a few go through the HTTP API end to end.
"""

import io
import threading

import numpy as np
import pytest
from PIL import Image, ImageCms, JpegImagePlugin

from prompts.media import images, sanitize, storage
from prompts.models import Upload
from tests import image_files as files
from tests.upload_flow import post_json, presign, put_bytes, ready_upload

VARIANTS = ("large", "medium", "thumb", "webp")


def through_the_flow(data: bytes):
    """What complete + variants do with an image: inspect, strip the stored copy, variants from that copy."""
    info = images.inspect_image(data)
    stored = sanitize.strip_metadata(data, info.format, orientation=images.orientation_of(data))
    return info, stored, images.make_variants(stored)


def decoded(blob: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(blob))
    img.load()
    return img


def pixels(blob: bytes, frame: int = 0) -> np.ndarray:
    img = Image.open(io.BytesIO(blob))
    img.seek(frame)
    return np.asarray(img.convert("RGB"))


# --- 1. colour profiles ------------------------------------------------------------------------

COLOUR_SOURCES = {
    "display-p3-jpeg": files.p3_jpeg,
    "display-p3-png": files.p3_png,
    "cmyk-swop-jpeg": files.cmyk_jpeg,
    "swapped-red-green-png": files.swapped_channels_png,
}


@pytest.mark.parametrize("kind", COLOUR_SOURCES)
def test_colour_managed_images_keep_their_colours_in_every_variant(kind):
    data = COLOUR_SOURCES[kind]()
    reference = files.reference_srgb(data)
    _, _, variants = through_the_flow(data)
    for name in VARIANTS:
        variant = decoded(variants.files[name])
        assert files.mean_delta_e(reference, variant) < 1.0, f"{kind} {name}"


def test_the_delta_e_check_sees_a_dropped_profile():
    # The check above is meaningful: reading the P3 numbers as if they were sRGB is far off.
    data = files.p3_jpeg((640, 480))
    as_if_srgb = decoded(data).convert("RGB")
    assert files.mean_delta_e(files.reference_srgb(data), as_if_srgb) > 2.0


def test_every_variant_is_tagged_srgb():
    for data in (files.p3_jpeg((800, 600)), files.photo_jpeg()):
        _, _, variants = through_the_flow(data)
        for name in VARIANTS:
            icc = decoded(variants.files[name]).info.get("icc_profile")
            assert icc, f"{name} has no profile"
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            assert "sRGB" in ImageCms.getProfileDescription(profile), name
            assert len(icc) < 1024  # a compact tag, not a 3 kB profile on every thumbnail


def test_a_transform_is_built_once_per_profile_and_shared_by_threads(monkeypatch):
    images.clear_colour_transforms()
    built = []
    real_build = ImageCms.buildTransform

    def counting_build(*args, **kwargs):
        built.append(args[2:4])
        return real_build(*args, **kwargs)

    monkeypatch.setattr(ImageCms, "buildTransform", counting_build)
    data = files.p3_jpeg((1400, 1000))
    expected = images.make_variants(data).files
    results, errors = [], []

    def worker():
        try:
            for _ in range(3):
                results.append(images.make_variants(data).files)
        except Exception as exc:  # collected: an exception in a thread would otherwise pass unseen
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(results) == 12 and all(files_ == expected for files_ in results)
    assert len(built) == 1


def test_a_broken_or_mismatched_profile_is_ignored_like_browsers_do():
    img = Image.fromarray(files.colour_chart((320, 240)), "RGB")
    broken = files.encode(img, "PNG", icc_profile=b"\0" * 200)
    cmyk_profile_on_rgb = files.encode(img, "PNG", icc_profile=files.profile_bytes(files.CMYK_SWOP))
    plain = images.make_variants(files.encode(img, "PNG")).files
    for data in (broken, cmyk_profile_on_rgb):
        assert np.array_equal(pixels(images.make_variants(data).files["large"]), pixels(plain["large"]))


# --- 2. orientation for every format ---------------------------------------------------------


@pytest.mark.parametrize("fmt", ["WEBP", "PNG", "JPEG"])
@pytest.mark.parametrize("orientation", range(2, 9))
def test_every_orientation_comes_out_upright(fmt, orientation):
    data = files.oriented(fmt, orientation, gps=True)
    info, stored, variants = through_the_flow(data)
    assert (info.width, info.height) == (600, 900)
    kept = Image.open(io.BytesIO(stored)).getexif()
    assert kept.get(files.ORIENTATION) == orientation  # the original still shows upright in a viewer
    assert not kept.get_ifd(files.GPS_IFD) and 0x010F not in kept
    assert (variants.width, variants.height) == (600, 900)
    for name in VARIANTS:
        variant = decoded(variants.files[name])
        assert variant.height > variant.width, f"{name} sideways"
        for corner, colour in files.corner_colours(variant).items():
            assert np.abs(np.subtract(colour, files.CORNERS[corner])).max() < 40, f"{name} {corner}"


# --- 3. MPO: Pixel Ultra HDR and iPhone photos ----------------------------------------------


@pytest.mark.parametrize("ultra_hdr", [False, True], ids=["iphone-mpo", "pixel-ultra-hdr"])
def test_mpo_photos_are_accepted_as_jpeg_and_lose_their_gain_map_and_gps(ultra_hdr):
    data = files.mpo_jpeg(ultra_hdr=ultra_hdr)
    info, stored, variants = through_the_flow(data)
    assert (info.format, info.content_type, info.width, info.height) == ("JPEG", "image/jpeg", 1200, 900)
    kept = Image.open(io.BytesIO(stored))
    assert kept.format == "JPEG" and getattr(kept, "n_frames", 1) == 1
    assert stored.count(b"\xff\xd8") == 1 and stored.endswith(b"\xff\xd9")  # one image: no gain map after it
    assert b"MPF\0" not in stored and b"hdrgm" not in stored and b"xap/1.0" not in stored
    assert not kept.getexif().get_ifd(files.GPS_IFD)
    assert np.array_equal(pixels(stored), pixels(data))  # the primary image, untouched
    assert decoded(variants.files["large"]).size == (1200, 900)


@pytest.mark.django_db(transaction=True)
def test_an_mpo_photo_goes_through_the_api(alice_client, live_server):
    data = files.mpo_jpeg()
    upload_id = ready_upload(alice_client, data, base_url=live_server.url, filename="PXL_2024.jpg")
    upload = Upload.objects.get(id=upload_id)
    assert upload.state == Upload.State.READY and (upload.width, upload.height) == (1200, 900)
    stored = storage.read_bytes(upload.file_key)
    assert b"MPF\0" not in stored and stored.count(b"\xff\xd8") == 1


# --- 4. GIF metadata ---------------------------------------------------------------------------


def test_gif_comments_and_xmp_are_removed_and_the_animation_kept():
    data = files.gif_with_metadata()
    _, stored, variants = through_the_flow(data)
    for secret in (b"Created with GIMP", b"XMP DataXMP", b"GPSLatitude", b"MGK8BIM", b"Jane Doe", b"trailing"):
        assert secret not in stored, secret
    assert b"NETSCAPE2.0" in stored
    before, after = Image.open(io.BytesIO(data)), Image.open(io.BytesIO(stored))
    assert after.n_frames == before.n_frames == 3 and after.info.get("loop") == 0
    assert "comment" not in after.info
    for frame in range(3):
        assert np.array_equal(pixels(stored, frame), pixels(data, frame))
    assert stored.endswith(b"\x3b")
    assert decoded(variants.files["thumb"]).size == (64, 48)


def test_a_damaged_gif_is_refused_by_the_stripper():
    data = files.gif_with_metadata()
    with pytest.raises(sanitize.DamagedImage):
        sanitize.strip_metadata(data[:200], "GIF")


# --- 5. transparency of every kind -----------------------------------------------------------


@pytest.mark.parametrize("kind", files.TRNS_KINDS)
def test_every_kind_of_transparency_is_flattened_on_white(kind):
    data, opaque = files.trns_png(kind)
    _, _, variants = through_the_flow(data)
    for name in VARIANTS:
        rgb = pixels(variants.files[name])
        height, width, _ = rgb.shape
        transparent, kept = rgb[height // 2, width // 4], rgb[height // 2, width * 3 // 4]
        assert transparent.min() >= 245, f"{kind} {name}: transparent half shows {transparent}"
        assert np.abs(kept.astype(int) - opaque).max() <= 12, f"{kind} {name}: opaque half {kept} != {opaque}"


# --- 6. damaged JPEGs are refused at complete ----------------------------------------------------

DAMAGED = {
    "truncated": files.truncated_jpeg,
    "broken-segment": files.broken_segment_jpeg,
    "corrupt-scan": files.corrupt_scan_jpeg,
}


@pytest.mark.parametrize("kind", DAMAGED)
def test_damaged_jpegs_are_refused_by_inspection(kind):
    with pytest.raises(images.ImageProcessingError, match="It may be damaged"):
        images.inspect_image(DAMAGED[kind]())


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", DAMAGED)
def test_damaged_jpegs_are_refused_at_complete_before_moderation(alice_client, live_server, fake_openai, kind):
    data = DAMAGED[kind]()
    _, answer = presign(alice_client, filename="photo.jpg", content_type="image/jpeg", file_size=len(data))
    assert put_bytes(answer, data, base_url=live_server.url).status_code == 200
    code, error = post_json(alice_client, "/api/upload/b2/complete/", {"upload_id": answer["upload_id"]})
    assert code == 415 and error["error"] == "This file could not be read as an image. It may be damaged."
    assert not storage.exists(answer["file_key"])
    code, _ = post_json(alice_client, "/api/upload/b2/moderate/", {"upload_id": answer["upload_id"]})
    assert code == 409
    assert fake_openai.requests == []  # the paid moderation call never happened


@pytest.mark.django_db(transaction=True)
def test_a_gif_cut_off_inside_a_frame_is_refused_at_complete(alice_client, live_server):
    data = files.gif_with_metadata()
    data = data[: data.rindex(b"\x21\xf9") + 30]  # the last frame's image data is cut short
    _, answer = presign(alice_client, filename="anim.gif", content_type="image/gif", file_size=len(data))
    assert put_bytes(answer, data, base_url=live_server.url).status_code == 200
    code, error = post_json(alice_client, "/api/upload/b2/complete/", {"upload_id": answer["upload_id"]})
    assert code == 415 and error["error"] == "This file could not be read as an image. It may be damaged."
    assert not storage.exists(answer["file_key"])


# --- 7. stripping JPEG segment by segment --------------------------------------------------------

TRICKY_JPEGS = {
    "fill-bytes-and-exif-thumbnail": files.jpeg_with_fill_bytes_and_thumbnail,
    "segments-between-progressive-scans": files.progressive_jpeg_with_segments_between_scans,
    "restart-markers": files.jpeg_with_restart_markers,
    "mpo": files.mpo_jpeg,
}


@pytest.mark.parametrize("kind", TRICKY_JPEGS)
def test_stripping_a_valid_jpeg_keeps_every_pixel_and_no_metadata(kind):
    data = TRICKY_JPEGS[kind]()
    stored = sanitize.strip_metadata(data, "JPEG")
    assert np.array_equal(pixels(stored), pixels(data))
    for secret in (b"Exif\0\0", b"xap/1.0", b"52N 13E", b"GPS", b"TestPhone"):
        assert secret not in stored, secret
    assert stored.count(b"\xff\xd9") >= 1 and stored.endswith(b"\xff\xd9")


def test_stripping_keeps_the_colour_profile_and_rewrites_only_orientation():
    data = files.oriented("JPEG", 6, gps=True)
    tagged = files.p3_jpeg((320, 240), exif=files.exif_bytes(orientation=6, gps=True))
    for source in (data, tagged):
        stored = sanitize.strip_metadata(source, "JPEG", orientation=6)
        kept = Image.open(io.BytesIO(stored))
        assert dict(kept.getexif()) == {files.ORIENTATION: 6}
        assert kept.info.get("icc_profile") == Image.open(io.BytesIO(source)).info.get("icc_profile")
        assert np.array_equal(pixels(stored), pixels(source))


def test_a_jfif_thumbnail_is_dropped_and_its_header_kept():
    data = files.photo_jpeg()
    thumbnail = bytes([255, 0, 0]) * 4  # a 2x2 RGB thumbnail
    app0 = b"\xff\xe0" + (16 + len(thumbnail)).to_bytes(2, "big") + b"JFIF\0\x01\x02\x01\x00\x48\x00\x48\x02\x02"
    assert data[2:4] == b"\xff\xe0"
    with_thumbnail = data[:2] + app0 + thumbnail + data[4 + int.from_bytes(data[4:6], "big") :]
    stored = sanitize.strip_metadata(with_thumbnail, "JPEG")
    assert stored[2:20] == b"\xff\xe0\x00\x10JFIF\0\x01\x02\x01\x00\x48\x00\x48\x00\x00"
    assert np.array_equal(pixels(stored), pixels(with_thumbnail))


def test_a_jpeg_cut_inside_a_segment_is_refused_by_the_stripper():
    data = files.jpeg_with_fill_bytes_and_thumbnail()
    with pytest.raises(sanitize.DamagedImage):
        sanitize.strip_metadata(data[:300], "JPEG")


# --- 8. recorded size ---------------------------------------------------------------------------


def test_variant_set_reports_the_full_upright_size_not_the_reduced_decode():
    data = files.encode(files.upright_picture((3000, 2000)), "JPEG", quality=80, exif=files.exif_bytes(orientation=6))
    variants = images.make_variants(data)
    assert (variants.width, variants.height) == (2000, 3000)


# --- 9. small sources and pixel art --------------------------------------------------------------


def pixel_art(size=(48, 32)) -> Image.Image:
    rng = np.random.default_rng(3)
    palette = np.array([[230, 20, 20], [20, 20, 230], [250, 250, 250], [20, 160, 20]], np.uint8)
    return Image.fromarray(palette[rng.integers(0, 4, (size[1], size[0]))], "RGB")


def test_pixel_art_smaller_than_the_boxes_keeps_its_sharp_colour_edges():
    art = pixel_art()
    variants = images.make_variants(files.encode(art, "PNG"))
    source = np.asarray(art).astype(int)
    for name in ("large", "medium", "thumb"):
        img = decoded(variants.files[name])
        assert JpegImagePlugin.get_sampling(img) == 0, f"{name} is not 4:4:4"
        # JPEG q85 on random one-pixel colours: ~9 levels off with 4:4:4, ~55 with 4:2:0.
        assert np.abs(np.asarray(img).astype(int) - source).mean() < 15, name
    assert np.array_equal(pixels(variants.files["webp"]), source)  # lossless: few colours, no resize


def test_downscaled_photos_keep_4_2_0_and_lossy_webp():
    _, _, variants = through_the_flow(files.photo_jpeg((2400, 1800)))
    for name in ("large", "medium", "thumb"):
        assert JpegImagePlugin.get_sampling(decoded(variants.files[name])) == 2, name
    assert b"VP8 " in variants.files["webp"] and b"VP8L" not in variants.files["webp"]  # lossy


# --- through the API -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_p3_webp_turned_by_exif_goes_through_the_api_upright_and_in_colour(alice_client, live_server):
    img = files.p3_image((900, 600)).transpose(files.STORE_FOR[6])
    data = files.encode(
        img, "WEBP", quality=95, icc_profile=img.info["icc_profile"], exif=files.exif_bytes(orientation=6)
    )
    upload = Upload.objects.get(
        id=ready_upload(alice_client, data, base_url=live_server.url, filename="p3.webp", content_type="image/webp")
    )
    assert (upload.width, upload.height) == (900, 600)
    large = decoded(storage.read_bytes(upload.variant_keys["large"]))
    assert large.size == (900, 600) and "sRGB" in ImageCms.getProfileDescription(
        ImageCms.ImageCmsProfile(io.BytesIO(large.info["icc_profile"]))
    )
    assert files.mean_delta_e(files.reference_srgb(data), large) < 1.0

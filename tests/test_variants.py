"""Variants: sizes, formats, orientation, no metadata left, GIF/PNG/alpha, video poster, idempotence."""

import io

import pytest
from PIL import Image

from prompts.media import storage
from prompts.models import Upload
from tests import media_samples
from tests.upload_flow import post_json, ready_upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["local", "s3"])
def base_url(request, live_server):
    if request.param == "s3":
        request.getfixturevalue("s3_media")
    return live_server.url


def open_variant(upload: Upload, name: str) -> Image.Image:
    return Image.open(io.BytesIO(storage.read_bytes(upload.variant_keys[name])))


def test_jpeg_variants_fit_their_boxes_upright_and_without_metadata(alice_client, base_url):
    data = media_samples.jpeg_bytes((2400, 1600), orientation=6, gps=True)
    upload = Upload.objects.get(id=ready_upload(alice_client, data, base_url=base_url))
    assert upload.state == Upload.State.READY
    expected = {
        "large": (800, 1200),
        "medium": (400, 600),
        "thumb": (200, 300),
        "webp_large": (800, 1200),
        "webp": (400, 600),
        "webp_thumb": (200, 300),
    }
    assert set(upload.variant_keys) == set(expected)
    for name, size in expected.items():
        img = open_variant(upload, name)
        assert img.size == size, name  # portrait: orientation 6 applied
        assert img.format == ("WEBP" if name.startswith("webp") else "JPEG")
        exif = img.getexif()
        assert not exif.get_ifd(0x8825) and 0x010F not in exif and 0x0112 not in exif, f"metadata left in {name}"
        assert "exif" not in img.info and "xmp" not in img.info
    assert upload.variant_keys["thumb"] == upload.file_key.replace("original.jpg", "thumb.jpg")
    assert upload.variant_keys["webp"].endswith("/webp.webp")
    assert len(upload.blurhash) >= 20
    # The blue block drawn in the top-left corner is now in the top-right (rotated 90° clockwise).
    large = open_variant(upload, "large").convert("RGB")
    r, g, b = large.getpixel((large.width - 30, 30))
    assert b > 200 and r < 60
    r, g, b = large.getpixel((30, 30))
    assert r > 150 and b < 100


def test_small_images_are_not_enlarged(alice_client, base_url):
    upload = Upload.objects.get(id=ready_upload(alice_client, media_samples.jpeg_bytes((250, 100)), base_url=base_url))
    for name in ("large", "medium", "thumb", "webp"):
        assert open_variant(upload, name).size == (250, 100)


def test_png_alpha_is_flattened_onto_white(alice_client, base_url):
    upload = Upload.objects.get(
        id=ready_upload(
            alice_client,
            media_samples.png_rgba_bytes(),
            base_url=base_url,
            filename="alpha.png",
            content_type="image/png",
        )
    )
    thumb = open_variant(upload, "thumb").convert("RGB")
    assert thumb.mode == "RGB"
    right = thumb.getpixel((thumb.width - 5, thumb.height // 2))
    left = thumb.getpixel((5, thumb.height // 2))
    assert min(right) > 245  # transparent half became white, not black
    assert left[0] > 200 and left[1] < 60


def test_animated_gif_uses_its_first_frame(alice_client, base_url):
    upload = Upload.objects.get(
        id=ready_upload(
            alice_client,
            media_samples.gif_animated_bytes(),
            base_url=base_url,
            filename="anim.gif",
            content_type="image/gif",
        )
    )
    assert open_variant(upload, "medium").size == (320, 240)
    assert upload.width == 320


def test_webp_upload(alice_client, base_url):
    upload = Upload.objects.get(
        id=ready_upload(
            alice_client, media_samples.webp_bytes(), base_url=base_url, filename="pic.webp", content_type="image/webp"
        )
    )
    assert open_variant(upload, "thumb").size == (300, 225)


def test_video_variants_come_from_a_poster_frame(alice_client, base_url):
    upload = Upload.objects.get(
        id=ready_upload(
            alice_client, media_samples.mp4_bytes(), base_url=base_url, filename="clip.mp4", content_type="video/mp4"
        )
    )
    assert upload.media_type == "video"
    assert open_variant(upload, "large").size == (320, 240)
    assert open_variant(upload, "thumb").size == (300, 225)


def test_variants_twice_does_no_harm(alice_client, base_url):
    upload_id = ready_upload(alice_client, media_samples.jpeg_bytes(), base_url=base_url)
    before = Upload.objects.get(id=upload_id).variant_keys
    code, again = post_json(alice_client, "/api/upload/b2/variants/", {"upload_id": upload_id})
    assert code == 200 and again["state"] == "ready"
    assert set(again["variants"]) == {"thumb", "medium", "large", "webp_thumb", "webp", "webp_large"}
    assert Upload.objects.get(id=upload_id).variant_keys == before
    for url in again["variants"].values():
        assert url  # public URLs for the page to show


def test_variants_are_the_same_bytes_every_time():
    # Two threads once encoded from one Image and picked up each other's options (bench finding).
    from prompts.media import images

    data = media_samples.jpeg_bytes((2400, 1800), orientation=6)
    first = images.make_variants(data).files
    for _ in range(12):
        assert images.make_variants(data).files == first

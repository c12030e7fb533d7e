"""Videos through the real upload API: no location kept, upright pictures at the displayed size, a
representative poster, only what browsers play, no images in disguise, frames over the whole video
moderated, and one decode per upload. Every file is made here with PyAV (tests/video_samples.py)."""

import io
from fractions import Fraction

import av
import blurhash
import pytest
from PIL import Image, ImageStat

from prompts.media import storage, video
from prompts.models import Upload
from tests import media_samples, video_samples
from tests.upload_flow import post_json, presign, put_bytes, ready_upload, upload_file

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["local", "s3"])
def base_url(request, live_server):
    if request.param == "s3":
        request.getfixturevalue("s3_media")
    return live_server.url


def packets_by_kind(data: bytes) -> dict[str, list[bytes]]:
    with av.open(io.BytesIO(data)) as container:
        streams = [container.streams.video[0], *container.streams.audio[:1]]
        found: dict[str, list[bytes]] = {stream.type: [] for stream in streams}
        for packet in container.demux(*streams):
            if packet.size:
                found[packet.stream.type].append(bytes(packet))
    return found


def picture(key: str) -> Image.Image:
    return Image.open(io.BytesIO(storage.read_bytes(key))).convert("RGB")


def near(pixel, colour, tolerance=30) -> bool:
    return max(abs(a - b) for a, b in zip(pixel, colour, strict=False)) <= tolerance


def refused(client, data: bytes, *, base_url: str, filename: str, content_type: str) -> tuple[int, dict, str]:
    status, answer = presign(client, filename=filename, content_type=content_type, file_size=len(data))
    assert status == 200, answer
    assert put_bytes(answer, data, base_url=base_url).status_code == 200
    code, error = post_json(client, "/api/upload/b2/complete/", {"upload_id": answer["upload_id"]})
    return code, error, answer["upload_id"]


# --- 1. Location and personal metadata ---------------------------------------------------


@pytest.mark.parametrize(
    "make,filename,content_type,tag",
    [
        (video_samples.apple_location_mov, "IMG_0001.MOV", "video/quicktime", b"com.apple.quicktime.location.ISO6709"),
        (video_samples.xyz_location_mp4, "VID_2024.mp4", "video/mp4", b"\xa9xyz"),
        (video_samples.loci_location, "clip.mp4", "video/mp4", b"loci"),
        (lambda: video_samples.loci_location("mov"), "clip.mov", "video/quicktime", b"loci"),
    ],
)
def test_the_stored_original_has_no_location_and_the_same_video_and_sound(
    alice_client, base_url, make, filename, content_type, tag
):
    data = make()
    assert tag in data and "location" in str(av.open(io.BytesIO(data)).metadata).lower() or tag == b"\xa9xyz"
    done = upload_file(alice_client, data, base_url=base_url, filename=filename, content_type=content_type)
    upload = Upload.objects.get(id=done["upload_id"])
    stored = storage.read_bytes(upload.file_key)
    for leak in (tag, b"+52.5163", b"+013.3777", b"Pariser Platz", b"iPhone 15", b"com.apple.quicktime"):
        assert leak not in stored, leak
    with av.open(io.BytesIO(stored)) as container:
        assert not any("location" in key.lower() for key in container.metadata)
        assert [stream.type for stream in container.streams] == ["video", "audio"]
    # the same packets, bit for bit: nothing re-encoded
    assert packets_by_kind(stored) == packets_by_kind(data)
    # MOV is re-wrapped as MP4, which every browser plays
    assert upload.file_key.endswith("/original.mp4") and upload.content_type == "video/mp4"
    assert upload.size == len(stored) and done["media_type"] == "video"


# --- 2. Rotation and non-square pixels ---------------------------------------------------


# Where the blue block of the top-left corner ends up as Chromium shows the video (checked there).
@pytest.mark.parametrize(
    "rotation,size,corner",
    [
        (90, (240, 320), "bottom_left"),
        (-90, (240, 320), "top_right"),
        (180, (320, 240), "bottom_right"),
    ],
)
def test_rotated_videos_give_upright_pictures_and_the_displayed_size(alice_client, base_url, rotation, size, corner):
    data = video_samples.h264(frames=24, rotation=rotation)
    upload = Upload.objects.get(
        id=ready_upload(alice_client, data, base_url=base_url, filename="phone.mp4", content_type="video/mp4")
    )
    assert (upload.width, upload.height) == size
    for name in ("large", "thumb", "poster"):
        img = picture(upload.variant_keys[name])
        assert img.size[0] < img.size[1] if size[0] < size[1] else img.size[0] > img.size[1], name
        w, h = img.size
        corners = {
            "top_left": (3, 3),
            "top_right": (w - 4, 3),
            "bottom_left": (3, h - 4),
            "bottom_right": (w - 4, h - 4),
        }
        for place, xy in corners.items():
            assert near(img.getpixel(xy), video_samples.BLUE, 60) == (place == corner), (name, place)
    # what moderation saw is upright too: tiles of the displayed size (poster + one frame for 2 s)
    sheet = picture(upload.variant_keys["frames"])
    assert sheet.size == (2 * size[0], size[1])


def test_non_square_pixels_are_stretched_as_players_show_them(alice_client, base_url):
    data = video_samples.h264(frames=24, sar=Fraction(2, 1))  # 320×240 stored, shown 640×240
    upload = Upload.objects.get(
        id=ready_upload(alice_client, data, base_url=base_url, filename="anamorphic.mp4", content_type="video/mp4")
    )
    assert (upload.width, upload.height) == (640, 240)
    assert picture(upload.variant_keys["large"]).size == (640, 240)
    assert picture(upload.variant_keys["thumb"]).size == (300, 112)


# --- 3. Representative poster ----------------------------------------------------------


def test_a_video_that_fades_in_gets_a_lit_poster_and_blurhash(alice_client, base_url):
    upload = Upload.objects.get(
        id=ready_upload(
            alice_client, video_samples.fade_in(), base_url=base_url, filename="fade.mp4", content_type="video/mp4"
        )
    )
    large = picture(upload.variant_keys["large"])
    assert near(large.getpixel((large.width - 10, large.height - 10)), (220, 120, 40))
    # the placeholder is the picture's colour, not black
    placeholder = blurhash.decode(upload.blurhash, 8, 8)
    assert ImageStat.Stat(placeholder.convert("L")).mean[0] > 60


def test_the_poster_is_found_within_a_few_frames_for_an_ordinary_video():
    clip = video.examine(video_samples.h264(frames=120, colour=(10, 160, 90)))
    assert near(clip.poster.getpixel((clip.poster.width - 5, 5)), (10, 160, 90))


# --- 4. Only what browsers play ------------------------------------------------------------


@pytest.mark.parametrize(
    "make,filename,content_type,words",
    [
        (video_samples.hevc, "IMG_0002.mp4", "video/mp4", ["HEVC (H.265)", "Most Compatible"]),
        (lambda: video_samples.hevc("mov"), "IMG_0003.MOV", "video/quicktime", ["HEVC (H.265)", "Most Compatible"]),
        (video_samples.mpeg4_part2, "old.mp4", "video/mp4", ["MPEG-4 Part 2", "H.264"]),
        (
            lambda: video_samples.h264(codec="libx264", container="matroska"),
            "clip.webm",
            "video/webm",
            ["WebM video must be VP8, VP9 or AV1", "H264"],
        ),
    ],
)
def test_videos_browsers_cannot_play_are_refused_with_what_to_export(
    alice_client, live_server, make, filename, content_type, words
):
    code, error, upload_id = refused(
        alice_client, make(), base_url=live_server.url, filename=filename, content_type=content_type
    )
    assert code == 415
    for word in words:
        assert word in error["error"]
    upload = Upload.objects.get(id=upload_id)
    assert upload.state == Upload.State.PRESIGNED and not storage.exists(upload.file_key)


@pytest.mark.parametrize(
    "make,content_type,extension",
    [
        (video_samples.vp9_webm, "video/webm", "webm"),
        (
            lambda: video_samples.encode([video_samples.picture()] * 12, codec="libvpx", container="webm"),
            "video/webm",
            "webm",
        ),
        (lambda: video_samples.h264(audio="aac"), "video/mp4", "mp4"),
        (
            lambda: video_samples.encode(
                [video_samples.picture()] * 12, codec="libvpx-vp9", container="webm", audio="libopus"
            ),
            "video/webm",
            "webm",
        ),
    ],
)
def test_videos_browsers_play_are_accepted(alice_client, live_server, make, content_type, extension):
    done = upload_file(
        alice_client, make(), base_url=live_server.url, filename=f"clip.{extension}", content_type=content_type
    )
    assert (done["width"], done["height"]) == (320, 240) and done["content_type"] == content_type


# --- 5. Images in disguise, and the limits ------------------------------------------------------


@pytest.mark.parametrize(
    "data,filename,content_type,word",
    [
        (media_samples.jpeg_bytes(gps=True), "holiday.mov", "video/quicktime", "JPEG image"),
        (media_samples.gif_animated_bytes(), "loop.mp4", "video/mp4", "GIF image"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>" * 10, "drawing.webm", "video/webm", "not an MP4, MOV or WebM"),
    ],
    ids=["jpeg-as-mov", "gif-as-mp4", "svg-as-webm"],
)
def test_an_image_named_like_a_video_is_refused_and_not_kept(
    alice_client, live_server, data, filename, content_type, word
):
    code, error, upload_id = refused(
        alice_client, data, base_url=live_server.url, filename=filename, content_type=content_type
    )
    assert code == 415 and word in error["error"]
    upload = Upload.objects.get(id=upload_id)
    assert not storage.exists(upload.file_key) and upload.width is None


def test_a_video_above_4k_is_refused_before_any_frame_is_decoded():
    data = video_samples.h264(frames=2, size=(4160, 2400))
    with pytest.raises(video.VideoError, match="too large to process \\(4160×2400 pixels\\)"):
        video.examine(data)


def test_a_video_longer_than_three_minutes_is_refused():
    data = video_samples.encode([video_samples.picture((64, 48))] * 182, rate=1)
    with pytest.raises(video.VideoError, match="3:0[12] long; the maximum is 3 minutes"):
        video.examine(data)


def test_decoding_stops_at_the_budget(monkeypatch):
    # One key frame for 20 s: reaching the last seconds means decoding everything before them.
    data = video_samples.encode(
        [video_samples.picture((320, 240), (20 * i % 255, 90, 90)) for i in range(240)], options={}, rate=12
    )
    assert video.examine(data).info.duration_seconds == 20.0
    monkeypatch.setattr(video, "DECODE_BUDGET_PIXELS", 320 * 240 * 60)
    with pytest.raises(video.VideoError, match="very few key frames"):
        video.examine(data)


# --- 6/7. Recorded size, .m4v ---------------------------------------------------------------


def test_m4v_is_accepted_and_stored_as_mp4(alice_client, base_url):
    done = upload_file(
        alice_client, video_samples.h264(), base_url=base_url, filename="export.m4v", content_type="video/x-m4v"
    )
    upload = Upload.objects.get(id=done["upload_id"])
    assert upload.file_key.endswith("/original.mp4") and upload.content_type == "video/mp4"


# --- issue 15.2: every part of the video is moderated -------------------------------------------


def test_a_video_whose_first_frame_is_harmless_is_judged_by_its_other_frames(alice_client, live_server, fake_openai):
    fake_openai.flag_colour((230, 20, 20), "critical")
    done = upload_file(
        alice_client,
        video_samples.harmless_start(),
        base_url=live_server.url,
        filename="trick.mp4",
        content_type="video/mp4",
    )
    code, answer = post_json(alice_client, "/api/upload/b2/moderate/", {"upload_id": done["upload_id"]})
    assert code == 200 and answer["action"] == "reject" and answer["severity"] == "critical"
    assert answer["message"] == "This video contains content that violates our community guidelines."
    (request,) = fake_openai.requests_of("moderation")  # one request for the whole video
    assert request.images[0]["detail"] == "high" and "contact sheet" in request.text
    upload = Upload.objects.get(id=done["upload_id"])
    assert upload.state == Upload.State.REJECTED and not storage.exists(upload.file_key)
    assert not any(storage.exists(key) for key in upload.variant_keys.values())


def test_a_harmless_video_passes_with_video_wording(alice_client, live_server, fake_openai):
    fake_openai.flag_colour((230, 20, 20), "critical")
    done = upload_file(
        alice_client,
        video_samples.h264(frames=30),
        base_url=live_server.url,
        filename="ok.mp4",
        content_type="video/mp4",
    )
    code, answer = post_json(alice_client, "/api/upload/b2/moderate/", {"upload_id": done["upload_id"]})
    assert code == 200 and answer["action"] == "allow"
    assert answer["message"] == "Your video passed our content guidelines."


def test_the_frames_are_spread_over_the_whole_video():
    # 12 s, a different colour each second: the contact sheet holds the poster and one frame a second
    # for 8 slots of 1.5 s, the last slot reaching into the last seconds.
    colours = [(20 * second, 255 - 20 * second, 128) for second in range(12)]
    data = video_samples.encode([video_samples.picture((160, 120), colours[i // 12]) for i in range(144)])
    clip = video.examine(data)
    assert len(clip.frames) >= video.MAX_SAMPLES  # the first sample is the poster itself
    seen = [frame.getpixel((frame.width - 5, frame.height - 5)) for frame in clip.frames]
    assert near(seen[-1], colours[11], 40) or near(seen[-1], colours[10], 40)
    assert (
        len(
            {
                colours.index(min(colours, key=lambda c: sum(abs(a - b) for a, b in zip(c, pixel, strict=False))))
                for pixel in seen
            }
        )
        >= 8
    )


# --- 8. One decode per upload, video wording ---------------------------------------------------


def test_moderation_and_variants_do_not_read_the_video_again(alice_client, live_server, fake_openai):
    done = upload_file(
        alice_client,
        video_samples.h264(frames=24),
        base_url=live_server.url,
        filename="once.mp4",
        content_type="video/mp4",
    )
    upload = Upload.objects.get(id=done["upload_id"])
    storage.save_bytes(upload.file_key, b"not a video any more", content_type="video/mp4")
    assert post_json(alice_client, "/api/upload/b2/moderate/", {"upload_id": str(upload.id)})[0] == 200
    code, answer = post_json(alice_client, "/api/upload/b2/variants/", {"upload_id": str(upload.id)})
    assert code == 200 and {"thumb", "medium", "large", "webp"} <= set(answer["variants"])


def test_the_same_person_sharing_a_video_again_hears_video(alice, alice_client, live_server, fake_openai):
    from prompts import tasks
    from prompts.services import submission

    data = video_samples.h264(frames=24, colour=(90, 30, 160))
    first = ready_upload(alice_client, data, base_url=live_server.url, filename="a.mp4", content_type="video/mp4")
    prompt = submission.submit_prompt(
        user=alice, upload_id=first, content="a purple room", ai_generator="flux", save_as_draft=False
    )
    tasks.generate_ai_content(prompt.id)
    code, error, _ = refused(alice_client, data, base_url=live_server.url, filename="b.mp4", content_type="video/mp4")
    assert code == 409 and error["error"] == "You already shared this video."

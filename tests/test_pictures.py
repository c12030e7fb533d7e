"""The <picture> of a prompt (prompts/templatetags/pictures.py): every variant, real widths, the preload."""

import io
import re

import pytest
from django.template import Context, Template
from PIL import Image

from prompts import tasks
from prompts.media import images, storage
from prompts.models import Prompt
from prompts.services import submission
from prompts.templatetags.pictures import DETAIL_SIZES
from tests import media_samples
from tests.factories import ready_upload_for

pytestmark = pytest.mark.django_db


def render(source: str, prompt) -> str:
    return Template("{% load pictures %}" + source).render(Context({"prompt": prompt}))


def published(user, data: bytes) -> Prompt:
    upload = ready_upload_for(user, data)
    prompt = submission.submit_prompt(
        user=user, upload_id=upload.id, content="a lighthouse at dusk", ai_generator="flux", save_as_draft=False
    )
    tasks.generate_ai_content(prompt.id)
    tasks.rename_files_for_seo(prompt.id)
    return Prompt.objects.get(id=prompt.id)


def srcset_of(html: str, kind: str) -> list[tuple[str, int]]:
    if kind == "jpeg":
        match = re.search(r'<img [^>]*srcset="([^"]+)"', html)
    else:
        match = re.search(rf'<source type="image/{kind}" srcset="([^"]+)"', html)
    assert match, f"no {kind} srcset in {html}"
    return [(url, int(w[:-1])) for url, w in (entry.split() for entry in match.group(1).split(", "))]


def test_every_width_in_every_format_with_the_files_real_widths(alice, fake_openai):
    prompt = published(alice, media_samples.jpeg_bytes((2400, 1600)))
    html = render('{% picture prompt "detail" alt="A lighthouse" %}', prompt)
    for kind in ("webp", "jpeg"):
        entries = srcset_of(html, kind)
        assert [w for _, w in entries] == [300, 600, 1200], kind
        for url, width in entries:
            key = url.split("/media/", 1)[-1]
            assert key.startswith("public/")  # published: the public copies, no private key on the page
            img = Image.open(io.BytesIO(storage.read_bytes(key)))
            assert img.width == width and img.format == ("WEBP" if kind == "webp" else "JPEG")
    assert f'sizes="{DETAIL_SIZES}"' in html and 'width="2400" height="1600"' in html
    assert 'fetchpriority="high"' in html and 'alt="A lighthouse"' in html


def test_a_portrait_says_its_real_widths_so_a_2x_screen_is_not_given_a_smaller_file(alice, fake_openai):
    prompt = published(alice, media_samples.jpeg_bytes((1600, 2400)))
    html = render('{% picture prompt "card" %}', prompt)
    assert [w for _, w in srcset_of(html, "webp")] == [200, 400, 800]
    assert 'loading="lazy"' in html and "fetchpriority" not in html


def test_a_small_image_lists_each_width_once(alice, fake_openai):
    prompt = published(alice, media_samples.jpeg_bytes((500, 400)))
    html = render('{% picture prompt "card" %}', prompt)
    assert [w for _, w in srcset_of(html, "jpeg")] == [300, 500]  # 600 and 1200 are the 500 px source


def test_older_prompts_with_four_variants_still_render(alice):
    prompt = Prompt.objects.create(
        author=alice,
        content="x",
        ai_generator="flux",
        title="Old",
        width=1200,
        height=900,
        b2_thumb_url="/media/t.jpg",
        b2_medium_url="/media/m.jpg",
        b2_large_url="/media/l.jpg",
        b2_webp_url="/media/w.webp",
    )
    html = render('{% picture prompt "detail" %}', prompt)
    assert srcset_of(html, "webp") == [("/media/w.webp", 600)]
    assert srcset_of(html, "jpeg") == [("/media/t.jpg", 300), ("/media/m.jpg", 600), ("/media/l.jpg", 1200)]


def test_the_preload_names_the_same_files_and_sizes_as_the_picture(alice, fake_openai, client):
    prompt = published(alice, media_samples.jpeg_bytes((2400, 1600)))
    html = client.get(f"/prompt/{prompt.slug}/").content.decode()
    head = html.split("</head>", 1)[0]
    preload = re.search(
        r'<link rel="preload" as="image" type="image/webp" imagesrcset="([^"]+)" imagesizes="([^"]+)"', head
    )
    assert preload, head
    webp = re.search(r'<source type="image/webp" srcset="([^"]+)" sizes="([^"]+)"', html)
    assert preload.groups() == webp.groups()


def test_avif_variants_when_the_operator_turns_them_on(alice, fake_openai, settings):
    if not images.avif_supported():
        pytest.skip("this Pillow cannot encode AVIF")
    settings.IMAGE_AVIF_VARIANTS = True
    prompt = published(alice, media_samples.jpeg_bytes((2400, 1600)))
    assert {"avif_thumb", "avif_medium", "avif_large"} <= set(prompt.media_keys)
    html = render('{% picture prompt "detail" %}', prompt)
    # AVIF first: the browser takes the first <source> it can decode.
    assert html.index('type="image/avif"') < html.index('type="image/webp"')
    for url, width in srcset_of(html, "avif"):
        img = Image.open(io.BytesIO(storage.read_bytes(url.split("/media/", 1)[-1])))
        assert img.format == "AVIF" and img.width == width

"""Prompts, negatives, settings and generators read from every common generator's files.

The files are our own (tests/generation_samples.py builds them at test time, one per format and
variant); each states what the reader must yield. Files from editors and cameras must yield no prompt.
"""

import io
import json
import struct
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from prompts.media import generation, metadata
from prompts.media.generation import stealth
from prompts.media.generation import text as t
from tests import generation_samples as samples
from tests.c2pa_signing import manifest_in, signed_image


@pytest.mark.parametrize("name", sorted(samples.SAMPLES))
def test_each_format_yields_the_prompt_negative_settings_and_generator(name):
    build, want = samples.SAMPLES[name]
    found = metadata.read_generation_metadata(build())
    assert found["prompt"] == want["prompt"]
    assert found["negative_prompt"] == want["negative_prompt"]
    assert found["source"] == want["source"]
    assert found["generator"] == want["generator"]
    assert {key: found["settings"].get(key) for key in want["settings"]} == want["settings"]


@pytest.mark.parametrize("name", sorted(samples.NOT_PROMPTS))
def test_editor_and_camera_texts_are_not_prompts(name):
    found = metadata.read_generation_metadata(samples.NOT_PROMPTS[name]())
    assert not found.get("prompt"), found


def test_japanese_and_wide_spaces_survive_and_controls_do_not():
    assert t.clean("#テスト\u3000a\u00a0b\x00\x07\u202e c") == "#テスト\u3000a\u00a0b c"
    assert t.decode_user_comment(b"UNICODE\0" + "#テスト".encode("utf-16-le")) == "#テスト"
    assert t.decode_user_comment(b"UNICODE\0" + "Steps: 1".encode("utf-16-be"), big_endian_hint=False) == "Steps: 1"
    assert t.decode_user_comment(b"ASCII\0\0\0" + "#テスト".encode()) == "#テスト"


def test_a_credit_line_alone_names_the_generator():
    xmp = b'<x:xmpmeta><rdf:RDF><rdf:Description photoshop:Credit="Made with Google AI"/></rdf:RDF></x:xmpmeta>'
    found = metadata.read_generation_metadata(samples.webp(xmp=xmp))
    assert found == {"prompt": "", "negative_prompt": "", "settings": {}, "source": "", "generator": "gemini"}
    novelai = metadata.read_generation_metadata(samples.png([samples.text_chunk("Software", "NovelAI")]))
    assert novelai["generator"] == "novelai" and novelai["prompt"] == ""


def test_a_placeholder_parameters_text_alone_is_not_a_prompt():
    assert metadata.read_generation_metadata(samples.png([samples.text_chunk("parameters", "unknown")])) == {}


# --- C2PA Content Credentials ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "claim", "agent", "generator", "made_with"),
    [
        ("PNG", "ChatGPT", "GPT-4o", "gpt-image", "ChatGPT (GPT-4o)"),
        (
            "JPEG",
            "Google C2PA Core Generator Library",
            "Imagen 4",
            "gemini",
            "Google C2PA Core Generator Library (Imagen 4)",
        ),
        ("WEBP", "Adobe Firefly", "", "firefly", "Adobe Firefly"),
        (
            "JPEG",
            "Microsoft Responsible AI Image Provenance",
            "",
            "dall-e",
            "Microsoft Responsible AI Image Provenance",
        ),
    ],
)
def test_content_credentials_name_the_generator(fmt, claim, agent, generator, made_with):
    found = metadata.read_generation_metadata(signed_image(fmt, claim_generator=claim, software_agent=agent))
    assert found["generator"] == generator
    assert found["provenance"]["made_with"] == made_with
    assert found["provenance"]["digital_source_type"] == "trainedAlgorithmicMedia"
    assert found["provenance"]["ai_generated"] is True


def test_content_credentials_of_a_camera_are_not_called_ai():
    digital_capture = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
    found = metadata.read_generation_metadata(
        signed_image("JPEG", claim_generator="Leica M11-P", source_type=digital_capture)
    )
    assert found["provenance"]["ai_generated"] is False and found["generator"] == ""


def test_provenance_is_removed_and_the_pixels_stay():
    for fmt in ("PNG", "JPEG", "WEBP"):
        data = signed_image(fmt, claim_generator="ChatGPT")
        assert manifest_in(data, fmt) is not None
        cleaned = generation.remove_provenance(data, fmt)
        assert manifest_in(cleaned, fmt) is None
        assert b"caBX" not in cleaned and b"C2PA" not in cleaned and b"jumb" not in cleaned
        before, after = Image.open(io.BytesIO(data)), Image.open(io.BytesIO(cleaned))
        assert before.size == after.size and before.convert("RGB").tobytes() == after.convert("RGB").tobytes()


# --- stealth bits ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "a1111_stealth_pnginfo",
        "a1111_stealth_rgbinfo",
        "a1111_stealth_rgbcomp",
        "novelai_stealth_pngcomp",
        "a1111_stealth_small_image",
    ],
)
def test_clearing_stealth_bits_leaves_nothing_to_read_and_the_picture_as_it_was(name):
    data = samples.SAMPLES[name][0]()
    assert stealth.detect(data) is not None
    cleared = generation.clear_stealth_bits(data, "PNG")
    assert stealth.detect(cleared) is None and stealth.read(cleared) == ""
    assert not metadata.read_generation_metadata(cleared).get("prompt")
    before, after = Image.open(io.BytesIO(data)), Image.open(io.BytesIO(cleared))
    assert before.mode == after.mode and before.size == after.size
    assert max(abs(a - b) for a, b in zip(before.tobytes(), after.tobytes(), strict=True)) <= 1


def test_files_without_stealth_bits_are_left_byte_for_byte():
    plain = samples.png(image=Image.new("RGBA", (300, 200), (1, 2, 3, 254)))
    assert generation.clear_stealth_bits(plain, "PNG") == plain
    jpeg = samples.jpeg()
    assert generation.clear_stealth_bits(jpeg, "JPEG") == jpeg


def test_a_stealth_length_beyond_the_image_or_a_gzip_bomb_is_capped():
    lying = samples.stealth_png("x" * 10, size=(200, 160))
    image = Image.open(io.BytesIO(lying))
    pixels = image.load()
    for y in range(120, 152):  # rewrite the 32-bit length: all ones
        r, g, b, a = pixels[0, y]
        pixels[0, y] = (r, g, b, a | 1)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    assert isinstance(stealth.read(buffer.getvalue()), str)
    bomb = zlib.compress(b"\0" * 50_000_000)
    assert (
        generation.read(samples.png([struct.pack(">I", len(bomb) + 12) + b"zTXtparameters\0\0" + bomb + b"crc!"])) == {}
    )


# --- hostile input --------------------------------------------------------------------------


def test_hostile_texts_are_capped_and_cycles_end():
    huge = samples.png(
        [samples.text_chunk("parameters", "<script>" + "x" * 100_000 + "\nSteps: 1, Seed: " + "9" * 999)]
    )
    found = metadata.read_generation_metadata(huge)
    assert len(found["prompt"]) <= metadata.MAX_PROMPT
    assert all(len(value) <= metadata.MAX_VALUE for value in found["settings"].values())
    cycle = {
        "1": {
            "class_type": "KSampler",
            "inputs": {
                "seed": 1,
                "steps": 2,
                "positive": ["2", 0],
                "negative": ["2", 0],
                "latent_image": ["1", 0],
                "model": ["3", 0],
            },
        },
        "2": {"class_type": "ConditioningCombine", "inputs": {"conditioning_1": ["2", 0], "conditioning_2": ["1", 0]}},
        "3": {"class_type": "LoraLoader", "inputs": {"model": ["3", 0]}},
    }
    found = metadata.read_generation_metadata(samples.png([samples.text_chunk("prompt", json.dumps(cycle))]))
    assert not found.get("prompt")
    deep = "[" * 100_000 + "]" * 100_000
    assert metadata.read_generation_metadata(samples.png([samples.text_chunk("prompt", deep)])) == {}


_FILES = [build for build, _ in samples.SAMPLES.values()] + list(samples.NOT_PROMPTS.values())
_SEEDS = [build() for build in _FILES[::3]]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, len(_SEEDS) - 1),
    st.lists(st.tuples(st.integers(0, 10**7), st.integers(0, 255)), max_size=12),
    st.integers(0, 10**7),
)
def test_the_reader_never_raises_on_damaged_files(index, flips, cut):
    """Real sample files with bytes changed and tails cut: the inner reader (no blanket except) never raises."""
    data = bytearray(_SEEDS[index])
    for position, value in flips:
        data[position % len(data)] = value
    data = bytes(data[: max(8, cut % (len(data) + 1))])
    found = generation._read(data)
    assert isinstance(found, dict)
    for key in ("prompt", "negative_prompt", "source", "generator"):
        assert isinstance(found.get(key, ""), str)
    assert all(isinstance(v, str) and len(v) <= metadata.MAX_VALUE for v in found.get("settings", {}).values())
    generation.clear_stealth_bits(data, "PNG")
    generation.remove_provenance(data, "PNG")
    generation.remove_provenance(data, "JPEG")
    generation.remove_provenance(data, "WEBP")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_the_reader_never_raises_on_random_bytes(data):
    for prefix in (b"", samples.png()[:33], b"\xff\xd8", b"RIFF\x00\x10\x00\x00WEBP"):
        assert isinstance(generation._read(prefix + data), dict)


@settings(max_examples=150, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
        max_leaves=30,
    )
)
def test_json_readers_never_raise_on_any_shape(value):
    text = json.dumps(value)
    for key in ("parameters", "prompt", "workflow", "Comment", "invokeai_metadata", "sd-metadata"):
        assert isinstance(generation._read(samples.png([samples.text_chunk(key, text)])), dict)
    assert isinstance(
        generation._read(samples.jpeg(samples.tiff([], [samples.user_comment(text, "unicode-le")]))), dict
    )

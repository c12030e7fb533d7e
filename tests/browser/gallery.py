"""A small site as a person finds it: published images of several shapes, a video, a draft, one still
processing, a collection and a trashed prompt, all made through the services the site uses."""

import colorsys
import io
import random
from dataclasses import dataclass, field

from PIL import Image, ImageDraw, ImageFilter

from prompts import tasks
from prompts.models import Collection, Prompt
from prompts.services import submission, trash
from tests import media_samples
from tests.factories import ready_upload_for

# (title, generator, (width, height), tags)
PICTURES = [
    ("Lighthouse At Golden Hour On A Rocky Coast", "midjourney", (1600, 900), ("Landscape", "Photography")),
    ("Portrait Of A Fox In A Misty Forest", "stable-diffusion", (900, 1350), ("Animals", "Fantasy")),
    ("Neon City Street After The Rain", "flux", (1200, 1200), ("Cyberpunk", "Architecture")),
    ("Castle On A Cliff Under The Stars", "dall-e", (1350, 900), ("Fantasy", "Landscape")),
    ("Ceramic Teapot Still Life With Lemons", "midjourney", (1000, 1250), ("Still Life", "Photography")),
    ("Robot Gardener Tending Glowing Flowers", "leonardo", (1600, 1000), ("Sci-Fi", "Digital Art")),
    ("Harbor Boats In Morning Fog", "flux", (800, 1200), ("Landscape", "Minimalist")),
    ("Dragon Over A Frozen Lake", "stable-diffusion", (1500, 1000), ("Fantasy", "Digital Art")),
]


def art(size: tuple[int, int], seed: int) -> bytes:
    """A picture that reads as a picture: a soft two-colour sky, a horizon and a few glowing discs."""
    rng = random.Random(seed)
    width, height = size
    hue = rng.random()
    top = colorsys.hsv_to_rgb(hue, 0.55, 0.95)
    bottom = colorsys.hsv_to_rgb((hue + 0.12) % 1, 0.7, 0.35)
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / height
        colour = tuple(int(255 * (a * (1 - t) + b * t)) for a, b in zip(top, bottom, strict=True))
        draw.line([(0, y), (width, y)], fill=colour)
    horizon = int(height * rng.uniform(0.55, 0.75))
    ground = colorsys.hsv_to_rgb((hue + 0.5) % 1, 0.5, 0.25)
    points = [(0, height)]
    for x in range(0, width + 80, 80):
        points.append((x, horizon + rng.randint(-height // 12, height // 12)))
    points.append((width, height))
    draw.polygon(points, fill=tuple(int(255 * c) for c in ground))
    glow = Image.new("RGB", size, (0, 0, 0))
    glow_draw = ImageDraw.Draw(glow)
    for _ in range(4):
        r = rng.randint(min(size) // 14, min(size) // 5)
        x, y = rng.randint(r, width - r), rng.randint(r, horizon)
        glow_draw.ellipse([x - r, y - r, x + r, y + r], fill=(255, 240, 210))
    image = Image.blend(image, Image.composite(glow, image, glow.convert("L")), 0.7).filter(ImageFilter.SMOOTH)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=88)
    return buffer.getvalue()


def _publish(user, data: bytes, *, title: str, generator: str, tags, filename="art.jpg", content_type="image/jpeg"):
    upload = ready_upload_for(user, data, filename=filename, content_type=content_type)
    prompt = submission.submit_prompt(
        user=user,
        upload_id=upload.id,
        content=f"{title.lower()}, cinematic light, highly detailed, 35mm, soft focus background",
        ai_generator=generator,
        save_as_draft=False,
    )
    tasks.generate_ai_content(prompt.id)
    Prompt.objects.filter(id=prompt.id).update(title=title, alt_text=title)
    prompt = Prompt.objects.get(id=prompt.id)
    prompt.tags.set(list(tags))
    tasks.rename_files_for_seo(prompt.id)
    return Prompt.objects.get(id=prompt.id)


@dataclass
class Gallery:
    pictures: list[Prompt] = field(default_factory=list)
    video: Prompt | None = None
    draft: Prompt | None = None
    processing: Prompt | None = None
    trashed: Prompt | None = None
    collection: Collection | None = None


def build(alice, bob) -> Gallery:
    gallery = Gallery()
    for index, (title, generator, size, tags) in enumerate(PICTURES):
        author = alice if index % 3 else bob
        gallery.pictures.append(_publish(author, art(size, index), title=title, generator=generator, tags=tags))
    gallery.video = _publish(
        alice,
        media_samples.mp4_bytes(size=(640, 360)),
        title="Waves Rolling Onto A Black Sand Beach",
        generator="other",
        tags=("Landscape",),
        filename="waves.mp4",
        content_type="video/mp4",
    )
    draft_upload = ready_upload_for(alice, art((1200, 800), 91))
    draft = submission.submit_prompt(
        user=alice,
        upload_id=draft_upload.id,
        content="a quiet desert road at dawn",
        ai_generator="flux",
        save_as_draft=True,
    )
    tasks.generate_ai_content(draft.id)
    gallery.draft = Prompt.objects.get(id=draft.id)
    processing_upload = ready_upload_for(alice, art((1000, 1000), 92))
    gallery.processing = submission.submit_prompt(
        user=alice,
        upload_id=processing_upload.id,
        content="an owl reading by candlelight",
        ai_generator="midjourney",
        save_as_draft=False,
    )
    trashed = _publish(
        alice, art((900, 900), 93), title="Old Violin On A Velvet Chair", generator="flux", tags=("Still Life",)
    )
    gallery.trashed = trash.trash_prompt(prompt=trashed)
    gallery.collection = Collection.objects.create(owner=alice, name="Moody landscapes")
    gallery.collection.prompts.set([gallery.pictures[0], gallery.pictures[3], gallery.pictures[6]])
    return gallery

"""Create a demo user and a few published prompts with images drawn locally, so a first visit is not empty."""

import io
import math
import uuid

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from PIL import Image, ImageDraw

from prompts.media import images, storage
from prompts.models import AIGenerator, Prompt
from prompts.services import seo

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "promptfinder-demo"
DEMO_EMAIL = "demo@example.com"

DEMOS = [
    (
        "Sunset Over Layered Violet Mountains",
        "layered mountains at sunset, violet and orange gradient sky, flat vector art",
        AIGenerator.MIDJOURNEY,
        ["Landscape", "Mountains", "Digital Art", "Vibrant"],
        ((255, 120, 60), (90, 40, 160)),
    ),
    (
        "Calm Ocean Horizon in Pastel Blue",
        "minimal pastel ocean horizon, soft morning light, calm water",
        AIGenerator.DALLE,
        ["Ocean", "Minimalist", "Pastel", "Peaceful"],
        ((170, 210, 255), (240, 220, 240)),
    ),
    (
        "Neon Grid City at Night",
        "retro synthwave city grid, neon pink and cyan, night sky with big sun",
        AIGenerator.STABLE_DIFFUSION,
        ["Cityscape", "Vaporwave", "Neon Lighting", "Retro"],
        ((20, 10, 60), (255, 40, 160)),
    ),
    (
        "Golden Forest Path in Autumn",
        "a forest path in autumn, golden light through the trees, cozy mood",
        AIGenerator.FLUX,
        ["Forest", "Nature", "Golden Hour", "Cozy"],
        ((250, 190, 70), (120, 60, 20)),
    ),
]


def draw_scene(top, bottom, seed: int) -> bytes:
    width, height = 1200, 900
    img = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(img)
    for y in range(height):
        t = y / height
        draw.line([(0, y), (width, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=False)))
    for layer in range(4):
        points = [(0, height)]
        for x in range(0, width + 40, 40):
            y = height * (0.45 + 0.12 * layer) + 60 * math.sin(x / (90 + 30 * layer) + seed + layer)
            points.append((x, y))
        points.append((width, height))
        shade = tuple(max(0, c - 40 * (layer + 1)) for c in bottom)
        draw.polygon(points, fill=shade)
    draw.ellipse((width * 0.62, height * 0.14, width * 0.62 + 160, height * 0.14 + 160), fill=(255, 240, 200))
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=88)
    return buffer.getvalue()


class Command(BaseCommand):
    help = "Create the demo user and a few published prompts (safe to run again)."

    def handle(self, *args, **options):
        User = get_user_model()
        user, created = User.objects.get_or_create(username=DEMO_USERNAME, defaults={"email": DEMO_EMAIL})
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        # Verified, so the demo account can upload at once (no mail to click on a local run).
        EmailAddress.objects.get_or_create(user=user, email=DEMO_EMAIL, defaults={"primary": True, "verified": True})
        made = 0
        for index, (title, content, generator, tags, colours) in enumerate(DEMOS):
            slug = seo.slugify_title(title)
            if Prompt.objects.filter(slug=slug).exists():
                continue
            data = draw_scene(*colours, seed=index)
            folder = f"{storage.PUBLIC_PREFIX}demo-{uuid.uuid4().hex}"  # published: public keys
            variants = images.make_variants(data)
            keys = {"original": f"{folder}/original.jpg"}
            storage.save_bytes(keys["original"], data, content_type="image/jpeg")
            for name, blob in variants.files.items():
                keys[name] = f"{folder}/{name}.{variants.extension(name)}"
                storage.save_bytes(keys[name], blob, content_type=variants.content_type(name))
            with transaction.atomic():
                prompt = Prompt.objects.create(
                    author=user,
                    content=content,
                    ai_generator=generator,
                    title=title,
                    slug=slug,
                    slug_public=True,
                    excerpt=f"{title}: an example prompt shared on PromptFinder. Copy the prompt and try it in "
                    f"{AIGenerator(generator).label} to get a similar image.",
                    alt_text=seo.alt_text(title=title, generator_label=AIGenerator(generator).label),
                    status=Prompt.Status.PUBLISHED,
                    processing_complete=True,
                    media_keys=keys,
                    width=variants.width,
                    height=variants.height,
                    blurhash=variants.blurhash,
                    b2_image_url=storage.public_url(keys["original"]),
                    b2_thumb_url=storage.public_url(keys["thumb"]),
                    b2_medium_url=storage.public_url(keys["medium"]),
                    b2_large_url=storage.public_url(keys["large"]),
                    b2_webp_url=storage.public_url(keys["webp"]),
                )
                prompt.tags.set(tags)
            made += 1
        self.stdout.write(f"Demo user '{DEMO_USERNAME}' (password '{DEMO_PASSWORD}'); {made} demo prompts created.")

"""The tag vocabulary the AI chooses from. Tags are never created from AI output."""

SUBJECTS = [
    "Portrait",
    "Women",
    "Men",
    "Children",
    "Animals",
    "Cats",
    "Dogs",
    "Birds",
    "Wildlife",
    "Nature",
    "Landscape",
    "Mountains",
    "Ocean",
    "Forest",
    "Flowers",
    "Architecture",
    "Cityscape",
    "Urban",
    "Interior",
    "Food",
    "Vehicles",
    "Cars",
    "Fashion Models",
    "Fashion",
    "Space",
    "Robots",
    "Fantasy",
    "Dragons",
    "Castles",
    "Science Fiction",
    "Technology",
    "Abstract",
    "Mythology",
    "Sports",
    "Music",
    "Underwater",
    "Night Sky",
    "Desert",
    "Winter",
    "Still Life",
]
STYLES = [
    "Photography",
    "Photorealistic",
    "Cinematic",
    "Anime",
    "Manga",
    "Cartoon",
    "Comic Book",
    "Watercolor",
    "Oil Painting",
    "Digital Art",
    "Concept Art",
    "3D Render",
    "Pixel Art",
    "Line Art",
    "Sketch",
    "Minimalist",
    "Surreal",
    "Cyberpunk",
    "Steampunk",
    "Vintage",
    "Retro",
    "Art Deco",
    "Art Nouveau",
    "Impressionism",
    "Pop Art",
    "Low Poly",
    "Isometric",
    "Vaporwave",
    "Gothic",
    "Studio Ghibli Style",
    "Illustration",
    "Graphic Design",
    "Logo",
    "Black and White",
]
MOODS = [
    "Dreamy",
    "Dark",
    "Moody",
    "Whimsical",
    "Peaceful",
    "Dramatic",
    "Mysterious",
    "Romantic",
    "Nostalgic",
    "Epic",
    "Cozy",
    "Eerie",
    "Joyful",
    "Melancholic",
    "Vibrant",
    "Pastel",
    "Warm Tones",
]
COMPOSITIONS = [
    "Close-up",
    "Wide Shot",
    "Aerial View",
    "Symmetry",
    "Golden Hour",
    "Bokeh",
    "Macro",
    "Silhouette",
    "Long Exposure",
    "Neon Lighting",
    "Studio Lighting",
    "Vertical Frame",
    "Panorama",
]

TAG_VOCABULARY = SUBJECTS + STYLES + MOODS + COMPOSITIONS
# How many tags a prompt carries at most, whoever chooses them (the AI, the author, staff).
MAX_TAGS = 5


def pick_tags(candidates: list[str], available_tags: list[str]) -> list[str]:
    """Candidates that are in the vocabulary, in its spelling, without duplicates, at most MAX_TAGS."""
    by_lower = {tag.lower(): tag for tag in available_tags}
    picked: list[str] = []
    for candidate in candidates:
        if not isinstance(candidate, str):
            continue
        tag = by_lower.get(candidate.strip().lower())
        if tag is not None and tag not in picked:
            picked.append(tag)
    return picked[:MAX_TAGS]


def ensure_tag_vocabulary(tag_model=None) -> int:
    """Create the vocabulary's tags that are missing; returns how many were created."""
    from django.utils.text import slugify

    if tag_model is None:
        from taggit.models import Tag as tag_model
    existing = set(tag_model.objects.values_list("name", flat=True))
    missing = [tag_model(name=name, slug=slugify(name)) for name in TAG_VOCABULARY if name not in existing]
    tag_model.objects.bulk_create(missing)
    return len(missing)

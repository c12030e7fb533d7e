"""The tag vocabulary the AI chooses from. Tags are never created from AI output."""

SUBJECTS = [
    "Portrait", "Women", "Men", "Children", "Animals", "Cats", "Dogs", "Birds", "Wildlife", "Nature",
    "Landscape", "Mountains", "Ocean", "Forest", "Flowers", "Architecture", "Cityscape", "Urban",
    "Interior", "Food", "Vehicles", "Cars", "Fashion Models", "Fashion", "Space", "Robots", "Fantasy",
    "Dragons", "Castles", "Science Fiction", "Technology", "Abstract", "Mythology", "Sports", "Music",
    "Underwater", "Night Sky", "Desert", "Winter", "Still Life",
]
STYLES = [
    "Photography", "Photorealistic", "Cinematic", "Anime", "Manga", "Cartoon", "Comic Book",
    "Watercolor", "Oil Painting", "Digital Art", "Concept Art", "3D Render", "Pixel Art",
    "Line Art", "Sketch", "Minimalist", "Surreal", "Cyberpunk", "Steampunk", "Vintage", "Retro",
    "Art Deco", "Art Nouveau", "Impressionism", "Pop Art", "Low Poly", "Isometric", "Vaporwave",
    "Gothic", "Studio Ghibli Style", "Illustration", "Graphic Design", "Logo", "Black and White",
]
MOODS = [
    "Dreamy", "Dark", "Moody", "Whimsical", "Peaceful", "Dramatic", "Mysterious", "Romantic",
    "Nostalgic", "Epic", "Cozy", "Eerie", "Joyful", "Melancholic", "Vibrant", "Pastel", "Warm Tones",
]
COMPOSITIONS = [
    "Close-up", "Wide Shot", "Aerial View", "Symmetry", "Golden Hour", "Bokeh", "Macro",
    "Silhouette", "Long Exposure", "Neon Lighting", "Studio Lighting", "Vertical Frame", "Panorama",
]

TAG_VOCABULARY = SUBJECTS + STYLES + MOODS + COMPOSITIONS


def ensure_tag_vocabulary(tag_model=None) -> int:
    """Create the vocabulary's tags that are missing; returns how many were created."""
    from django.utils.text import slugify

    if tag_model is None:
        from taggit.models import Tag as tag_model
    existing = set(tag_model.objects.values_list("name", flat=True))
    missing = [tag_model(name=name, slug=slugify(name)) for name in TAG_VOCABULARY if name not in existing]
    tag_model.objects.bulk_create(missing)
    return len(missing)

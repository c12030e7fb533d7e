"""The AI adapter: image moderation and title/description/tags, from the provider named in settings.

settings.AI_PROVIDER is read on every call (never cached), so override_settings works.
"""

import importlib

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from prompts.ai.base import (
    SEVERITIES,
    AIError,
    AIMalformedResponse,
    AIRefusal,
    AIServiceError,
    AITimeout,
    ContentResult,
    ModerationResult,
)

__all__ = [
    "SEVERITIES",
    "AIError",
    "AIMalformedResponse",
    "AIRefusal",
    "AIServiceError",
    "AITimeout",
    "ContentResult",
    "ModerationResult",
    "generate_content",
    "moderate_image",
    "moderate_video_frames",
    "provider_name",
]

_PROVIDERS = {"openai": "prompts.ai.openai_provider", "local": "prompts.ai.local_provider"}


def provider_name() -> str:
    name = str(settings.AI_PROVIDER).strip().lower()
    if name not in _PROVIDERS:
        raise ImproperlyConfigured(f"AI_PROVIDER must be one of {sorted(_PROVIDERS)}, not {name!r}")
    return name


def _provider():
    return importlib.import_module(_PROVIDERS[provider_name()])


def moderate_image(*, image_bytes: bytes, content_type: str, timeout: float | None = None) -> ModerationResult:
    """`timeout`: one attempt of at most that many seconds (inside a web request), instead of the
    settings' timeout and retries."""
    return _provider().moderate_image(image_bytes=image_bytes, content_type=content_type, timeout=timeout)


def moderate_video_frames(*, sheet_bytes: bytes, content_type: str, timeout: float | None = None) -> ModerationResult:
    """One check of a contact sheet: frames sampled across a video, in one picture; the worst frame counts."""
    return _provider().moderate_video_frames(sheet_bytes=sheet_bytes, content_type=content_type, timeout=timeout)


def generate_content(
    *, image_bytes: bytes, content_type: str, prompt_text: str, generator_label: str, available_tags: list[str]
) -> ContentResult:
    return _provider().generate_content(
        image_bytes=image_bytes,
        content_type=content_type,
        prompt_text=prompt_text,
        generator_label=generator_label,
        available_tags=available_tags,
    )

"""What every AI provider returns and raises."""

from dataclasses import dataclass, field
from typing import ClassVar

SEVERITIES = ("none", "low", "medium", "high", "critical")


class AIError(Exception):
    """Any failure of the AI service; `reason` is what the processing row records."""

    reason: ClassVar[str] = "ai_error"


class AITimeout(AIError):
    reason = "ai_timeout"


class AIServiceError(AIError):
    reason = "ai_error"


class AIMalformedResponse(AIError):
    reason = "malformed"


class AIRefusal(AIError):
    reason = "refusal"


@dataclass(frozen=True)
class ModerationResult:
    severity: str
    violations: list[str]
    explanation: str
    checked: bool  # False when no real classifier looked at the image
    provider: str


@dataclass(frozen=True)
class ContentResult:
    """A missing part is None (or [] for tags): a partial answer, not an error."""

    title: str | None
    description: str | None
    tags: list[str] = field(default_factory=list)
    relevance_score: float | None = None
    relevance_explanation: str | None = None

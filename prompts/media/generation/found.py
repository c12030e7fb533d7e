"""What one reader found in a file: the prompt, the negative prompt, the main settings, the source."""

from __future__ import annotations

from dataclasses import dataclass, field

from prompts.media.generation import text as t


@dataclass
class Found:
    prompt: str = ""
    negative_prompt: str = ""
    settings: dict[str, str] = field(default_factory=dict)
    source: str = ""
    hints: str = ""  # words that tell the generator apart (model names, app names); never shown

    def __post_init__(self) -> None:
        self.prompt = t.clean(self.prompt)
        self.negative_prompt = t.clean(self.negative_prompt)

    def add(self, key: str, raw) -> None:
        """Keep a setting when it is a short string or number and not a placeholder."""
        cleaned = t.value(raw)
        if cleaned and not t.is_placeholder(cleaned) and len(self.settings) < t.MAX_SETTINGS:
            self.settings.setdefault(t.clean(key, 40), cleaned)

    @property
    def useful(self) -> bool:
        return bool(self.prompt) and not t.is_placeholder(self.prompt)

    def as_dict(self) -> dict:
        return {
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "settings": dict(self.settings),
            "source": self.source,
        }

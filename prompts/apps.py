from django.apps import AppConfig


class PromptsConfig(AppConfig):
    name = "prompts"
    verbose_name = "PromptFinder"

    def ready(self):
        from prompts import auth_backends  # noqa: F401  (connects the log-in throttle's success receiver)

"""Deployment checks (`manage.py check --deploy`): what a production site needs beyond Django's own."""

from django.conf import settings
from django.core.checks import Tags, Warning, register

# The setting each mail provider needs (README "Mail").
PROVIDER_KEYS = {
    "postmark": ("POSTMARK_SERVER_TOKEN", "POSTMARK_API_TOKEN"),
    "sendgrid": ("SENDGRID_API_KEY", "SENDGRID_API_KEY"),
    "mailgun": ("MAILGUN_API_KEY", "MAILGUN_API_KEY and MAILGUN_DOMAIN"),
}


@register(Tags.security, deploy=True)
def mail_is_delivered(app_configs, **kwargs):
    """Verification and password-reset mail must reach people: a production site needs a provider."""
    provider = settings.EMAIL_PROVIDER
    if provider in {"console", "locmem", "file"}:
        return [
            Warning(
                f"EMAIL_PROVIDER is {provider!r}: verification and password-reset mail is not delivered.",
                hint="Set EMAIL_PROVIDER to postmark, sendgrid, mailgun or smtp (README, Mail).",
                id="prompts.W001",
            )
        ]
    if provider in PROVIDER_KEYS:
        key, variable = PROVIDER_KEYS[provider]
        missing = not settings.ANYMAIL.get(key) or (
            provider == "mailgun" and not settings.ANYMAIL.get("MAILGUN_SENDER_DOMAIN")
        )
        if missing:
            return [Warning(f"EMAIL_PROVIDER is {provider!r} but {variable} is not set.", id="prompts.W002")]
    return []

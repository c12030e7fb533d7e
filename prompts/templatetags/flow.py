"""Template filters for the upload flow and the prompt page."""

from datetime import timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()

JUST_NOW = timedelta(minutes=1)


@register.filter
def ago(moment):
    """ "just now" for the last minute (never "0 minutes ago"), else "5 minutes ago", "2 days ago"."""
    if not moment:
        return ""
    if timezone.now() - moment < JUST_NOW:
        return "just now"
    return f"{timesince(moment)} ago"

"""Which slug a prompt gets: unique, from its title, and what happens to the old one when it changes."""
from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction

from prompts.models import Prompt, SlugRedirect
from prompts.services import seo

SAVE_ATTEMPTS = 5


def unique_slug(title: str, *, exclude_id: int | None = None) -> str:
    """The title's slug, with -2, -3 ... appended when another prompt already has it."""
    base = seo.slugify_title(title)[:190]
    taken = set(Prompt.objects.filter(slug__startswith=base).exclude(id=exclude_id).values_list("slug", flat=True))
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def save_with_unique_slug(prompt: Prompt) -> None:
    """Save `prompt` with a slug from its title; a number is appended on collision, never an error."""
    for _attempt in range(SAVE_ATTEMPTS):
        prompt.slug = unique_slug(prompt.title, exclude_id=prompt.id)
        try:
            with transaction.atomic():
                prompt.save()
            return
        except IntegrityError:
            continue  # another prompt took the same slug between our read and our write
    prompt.slug = f"{seo.slugify_title(prompt.title)[:180]}-{uuid.uuid4().hex[:8]}"
    prompt.save()


def save_with_new_slug(prompt: Prompt) -> None:
    """Save with a slug made from the (new) title; the old slug keeps working as a redirect."""
    old_slug = prompt.slug
    save_with_unique_slug(prompt)
    if old_slug and old_slug != prompt.slug:
        SlugRedirect.objects.update_or_create(old_slug=old_slug, defaults={"prompt": prompt})
    # A slug that is live again must not also be a redirect (e.g. a title changed back).
    SlugRedirect.objects.filter(old_slug=prompt.slug).delete()

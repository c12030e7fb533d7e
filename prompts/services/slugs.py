"""Which slug a prompt gets: unique, from its title, and what happens to the old one when it changes.

A public prompt has a clean slug (the title's, numbered -2, -3 ... on collision). A draft has the
title's words and a random part: it can neither take a clean slug from a later public prompt nor
tell anyone, through a -2, that someone's private draft has the same title.
"""

from __future__ import annotations

import secrets
import uuid

from django.db import IntegrityError, transaction

from prompts.models import Prompt, SlugRedirect
from prompts.services import seo

SAVE_ATTEMPTS = 5


def unique_slug(title: str, *, exclude_id: int | None = None) -> str:
    """The clean slug for a public page: the title's slug, or with -2, -3 ... when a page had it."""
    base = seo.slugify_title(title)[:190]
    taken = set(Prompt.objects.filter(slug__startswith=base).exclude(id=exclude_id).values_list("slug", flat=True))
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def draft_slug(title: str) -> str:
    """A draft's slug: the title's words and a random part (only its author and staff see it)."""
    while True:
        token = secrets.token_hex(4)
        if not token.isdigit():  # never mistaken for a clean slug's -2, -3 ...
            return f"{seo.slugify_title(title)[:180]}-{token}"


def slug_needs_replacing(prompt: Prompt) -> bool:
    """No slug yet, or a published prompt still under its draft slug."""
    return not prompt.slug or (prompt.status == Prompt.Status.PUBLISHED and not prompt.slug_public)


def save_with_unique_slug(prompt: Prompt) -> None:
    """Save with a slug from the title: a clean one when published, a draft slug otherwise.

    A clean slug is numbered on collision, never an error; the draft slug it replaces redirects to it.
    """
    public = prompt.status == Prompt.Status.PUBLISHED
    if (
        not public
        and prompt.slug
        and not prompt.slug_public
        and prompt.slug.rsplit("-", 1)[0] == seo.slugify_title(prompt.title)[:180]
    ):
        prompt.save()  # a draft slug already made from this title stays
        return
    replaced_draft_slug = prompt.slug if public and prompt.slug and not prompt.slug_public else ""
    prompt.slug_public = public
    for _attempt in range(SAVE_ATTEMPTS):
        prompt.slug = unique_slug(prompt.title, exclude_id=prompt.id) if public else draft_slug(prompt.title)
        try:
            with transaction.atomic():
                prompt.save()
            break
        except IntegrityError:
            continue  # another prompt took the same slug between our read and our write
    else:
        prompt.slug = f"{seo.slugify_title(prompt.title)[:180]}-{uuid.uuid4().hex[:8]}"
        prompt.save()
    if replaced_draft_slug and replaced_draft_slug != prompt.slug:
        SlugRedirect.objects.update_or_create(old_slug=replaced_draft_slug, defaults={"prompt": prompt})


def save_with_new_slug(prompt: Prompt) -> None:
    """Save with a slug made from the (new) title; the old slug keeps working as a redirect."""
    old_slug = prompt.slug
    save_with_unique_slug(prompt)
    if old_slug and old_slug != prompt.slug:
        SlugRedirect.objects.update_or_create(old_slug=old_slug, defaults={"prompt": prompt})
    # A slug that is live again must not also be a redirect (e.g. a title changed back).
    SlugRedirect.objects.filter(old_slug=prompt.slug).delete()

"""Keeping an index current: every save of a user refreshes its username's skeleton, whoever
saves it (sign-up, the admin, createsuperuser), so the look-alike check sees every name."""

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from prompts.services import accounts


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="prompts-username-skeleton")
def refresh_username_skeleton(sender, instance, raw=False, **kwargs):
    if not raw:  # loaddata: the fixture's rows are written as they are
        accounts.remember_username_skeleton(user=instance)

from django.core.management.base import BaseCommand

from prompts.services import lifecycle


class Command(BaseCommand):
    help = "Remove uploads never submitted within 24 hours (objects, then rows)."

    def handle(self, *args, **options):
        result = lifecycle.sweep_orphaned_uploads()
        self.stdout.write(", ".join(f"{key}: {value}" for key, value in result.items()))

from django.core.management.base import BaseCommand

from prompts.services import media_files


class Command(BaseCommand):
    help = "Remove uploads never submitted within 24 hours (objects, then rows)."

    def handle(self, *args, **options):
        result = media_files.sweep_orphaned_uploads()
        self.stdout.write(", ".join(f"{key}: {value}" for key, value in result.items()))

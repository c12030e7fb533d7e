from django.core.management.base import BaseCommand

from prompts.services import trash


class Command(BaseCommand):
    help = "Delete the files, then the rows, of prompts past their trash retention."

    def handle(self, *args, **options):
        result = trash.cleanup_deleted_prompts()
        self.stdout.write(", ".join(f"{key}: {value}" for key, value in result.items()))

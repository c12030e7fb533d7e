from django.core.management.base import BaseCommand

from prompts.services import ai_content


class Command(BaseCommand):
    help = "Re-queue prompts stuck in processing, or give them the fallback after 30 minutes."

    def handle(self, *args, **options):
        result = ai_content.recover_stuck_prompts()
        self.stdout.write(", ".join(f"{key}: {value}" for key, value in result.items()))

"""`manage.py worker`: Django-Q2's qcluster, stopping within Heroku's 30 s (prompts/worker_lifecycle.py)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from prompts.worker_lifecycle import GracefulCluster, watch_over


class Command(BaseCommand):
    help = (
        "Starts the Django-Q cluster and its watchdog (lost tasks queued again within seconds); "
        "SIGTERM hands the running tasks back and exits within 20 s."
    )

    def handle(self, *args, **options):
        settings.SECRET_KEY  # noqa: B018  (signing needs it: fail before any process starts)
        cluster = GracefulCluster()
        cluster.start()
        watch_over(cluster)

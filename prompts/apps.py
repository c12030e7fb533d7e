from django.apps import AppConfig


class PromptsConfig(AppConfig):
    name = "prompts"
    verbose_name = "PromptFinder"

    def ready(self):
        # Connect the receivers (the log-in throttle's success, the username skeleton index) and
        # register the deployment checks.
        from prompts import auth_backends, checks, receivers, worker_lifecycle  # noqa: F401

        worker_lifecycle.connect()  # the worker's SIGTERM handling (a no-op outside a worker)

        from django.db.backends.signals import connection_created

        from prompts import timing

        connection_created.connect(timing.install, dispatch_uid="server-timing")

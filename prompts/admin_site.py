"""PromptFinder's admin site: Django's, plus the staff queues (SEO review, moderation).

`PromptFinderAdminConfig` (in INSTALLED_APPS instead of "django.contrib.admin") makes this class
the default site, so `admin.site`, `@admin.register` and django_q's own admin pages all use it and
the admin stays at /admin/. It adds two pages, both behind `admin_view` (active staff only; anyone
else gets the admin login page) and the "change prompt" permission:

    /admin/seo-review/             prompts whose AI details failed, oldest first
    /admin/seo-review/<id>/        "Edit & Complete": title, description, tags -> published
    /admin/moderation/             prompts held by moderation, with Approve and Reject
    /admin/moderation/<id>/decide/ POST: decision=approve|reject, note

and the size of both queues (and of Django-Q's failed tasks) on the admin index.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.urls import path


class PromptFinderAdminSite(admin.AdminSite):
    site_header = "PromptFinder administration"
    site_title = "PromptFinder admin"
    index_title = "Site administration"

    def __init__(self, *args, **kwargs):
        # The same log-in throttle as the site's form (it lives in the authentication backend);
        # this form only words the refusal. Imported here: this module loads before the models.
        from prompts.forms import AdminLoginForm

        super().__init__(*args, **kwargs)
        self.login_form = AdminLoginForm

    def login(self, request, extra_context=None):
        from prompts.views.accounts import refused_for_now

        return refused_for_now(request, super().login(request, extra_context))

    def get_urls(self):
        # Imported here, not at the top: this site is built while apps load, before the models the
        # staff views import are ready.
        from prompts.views import staff

        extra = [
            path("seo-review/", self.admin_view(staff.seo_review_queue), name="seo_review_queue"),
            path("seo-review/<int:prompt_id>/", self.admin_view(staff.seo_review_edit), name="seo_review_edit"),
            path("moderation/", self.admin_view(staff.moderation_queue), name="moderation_queue"),
            path(
                "moderation/<int:prompt_id>/decide/", self.admin_view(staff.moderation_decide), name="moderation_decide"
            ),
        ]
        # Before Django's own patterns, which end with a catch-all view.
        return extra + super().get_urls()

    def index(self, request, extra_context=None):
        from prompts.views import staff  # see get_urls

        return super().index(request, extra_context={**staff.queue_counts(request), **(extra_context or {})})


class PromptFinderAdminConfig(AdminConfig):
    default_site = "prompts.admin_site.PromptFinderAdminSite"

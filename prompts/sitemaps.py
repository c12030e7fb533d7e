from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.db.models import Max
from django.urls import reverse
from taggit.models import Tag

from prompts.models import AIGenerator, Prompt


class SiteSitemap(Sitemap):
    limit = 50_000  # the protocol's maximum per file; the index lists every page beyond it

    @property
    def protocol(self):
        return "https" if settings.SITE_URL.startswith("https") else None


class PromptSitemap(SiteSitemap):
    changefreq = "weekly"
    priority = 0.8

    def items(self):
        return (
            Prompt.objects.filter(status=Prompt.Status.PUBLISHED, is_deleted=False)
            .only("slug", "updated_on")
            .order_by("-created_on")
        )

    def lastmod(self, obj):
        return obj.updated_on

    def location(self, obj):
        return reverse("prompt_detail", kwargs={"slug": obj.slug})


class TagSitemap(SiteSitemap):
    changefreq = "daily"
    priority = 0.5

    def items(self):
        published = Prompt.objects.filter(status=Prompt.Status.PUBLISHED, is_deleted=False)
        return (
            Tag.objects.filter(taggit_taggeditem_items__object_id__in=published.values("id"))
            .annotate(latest=Max("taggit_taggeditem_items__id"))
            .order_by("name")
            .distinct()
        )

    def location(self, obj):
        return reverse("tag", kwargs={"slug": obj.slug})


class GeneratorSitemap(SiteSitemap):
    changefreq = "daily"
    priority = 0.6

    def items(self):
        used = set(
            Prompt.objects.filter(status=Prompt.Status.PUBLISHED, is_deleted=False)
            .values_list("ai_generator", flat=True)
            .distinct()
        )
        return [value for value in AIGenerator.values if value in used]

    def location(self, item):
        return reverse("generator", kwargs={"slug": item})


SITEMAPS = {"prompts": PromptSitemap, "tags": TagSitemap, "generators": GeneratorSitemap}

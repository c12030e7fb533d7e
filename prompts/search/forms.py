"""The filter and sort controls of search, tag and generator pages (a GET form)."""

from django import forms
from taggit.models import Tag

from prompts.models import AIGenerator, MediaType
from prompts.search.feeds import Filters, sort_choices
from prompts.search.text import MAX_QUERY, clean_query

MAX_TAG_FILTERS = 5


class FeedForm(forms.Form):
    sort = forms.ChoiceField(required=False, label="Sort by")
    generator = forms.ChoiceField(choices=[("", "Any generator"), *AIGenerator.choices], required=False)
    media = forms.ChoiceField(choices=[("", "Images and videos"), *MediaType.choices], required=False, label="Media")
    settings = forms.BooleanField(required=False, label="Has generation settings")
    model = forms.CharField(
        max_length=100, required=False, label="Model", widget=forms.TextInput(attrs={"placeholder": "e.g. sdxl"})
    )

    def __init__(self, data, *, with_relevance: bool, default_sort: str):
        super().__init__(data)
        self.default_sort = default_sort
        self.fields["sort"].choices = sort_choices(with_relevance=with_relevance)
        self.tags: list[Tag] = []
        self.tag_error = ""
        slugs = [slug for slug in data.getlist("tag") if slug][:MAX_TAG_FILTERS]
        if slugs:
            found = {tag.slug: tag for tag in Tag.objects.filter(slug__in=[s[:100] for s in slugs])}
            self.tags = [found[slug] for slug in dict.fromkeys(slugs) if slug in found]
            if len(self.tags) < len(set(slugs)):
                self.tag_error = "Some of the tags you asked for don't exist; they were left out."

    def value(self, name: str):
        """A field's cleaned value, or its empty value when it was invalid (the error is shown)."""
        self.is_valid()
        return self.cleaned_data.get(name) or ""

    @property
    def chosen_sort(self) -> str:
        return self.value("sort") or self.default_sort

    def filters(self, *, extra_tag_ids: tuple[int, ...] = ()) -> Filters:
        return Filters(
            generator=self.value("generator") or "",
            tag_ids=tuple(dict.fromkeys([*extra_tag_ids, *(tag.id for tag in self.tags)])),
            media_type=self.value("media") or "",
            has_settings=bool(self.value("settings")),
            model=(self.value("model") or "").replace("\x00", ""),
        )


def search_text(data) -> str:
    return clean_query(data.get("q", ""))[:MAX_QUERY]

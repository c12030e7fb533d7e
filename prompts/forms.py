from django import forms
from taggit.models import Tag

from prompts.models import AIGenerator
from prompts.services.processing import MAX_PROMPT_LENGTH


class SubmitForm(forms.Form):
    upload_id = forms.CharField(max_length=64, error_messages={"required": "Please choose an image or video first."})
    content = forms.CharField(
        max_length=MAX_PROMPT_LENGTH, strip=True,
        error_messages={"required": "Please enter the prompt you used.",
                        "max_length": f"Your prompt is too long: the maximum is {MAX_PROMPT_LENGTH:,} characters."},
    )
    ai_generator = forms.ChoiceField(
        choices=AIGenerator.choices,
        error_messages={"required": "Please choose the generator you used.",
                        "invalid_choice": "Please choose the generator you used."},
    )
    save_as_draft = forms.BooleanField(required=False)


class PromptEditForm(forms.Form):
    title = forms.CharField(max_length=120, strip=True)
    description = forms.CharField(widget=forms.Textarea, max_length=2000, required=False, strip=True)
    tags = forms.ModelMultipleChoiceField(
        queryset=Tag.objects.order_by("name"), required=False, widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="Up to 5 tags.",
    )
    content = forms.CharField(label="Prompt", widget=forms.Textarea, max_length=MAX_PROMPT_LENGTH, strip=True)
    ai_generator = forms.ChoiceField(label="Generator", choices=AIGenerator.choices)
    publish = forms.BooleanField(label="Published (visible to everyone)", required=False)

    def clean_tags(self):
        tags = self.cleaned_data["tags"]
        if len(tags) > 5:
            raise forms.ValidationError("Choose at most 5 tags.")
        return tags

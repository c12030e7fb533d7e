import unicodedata

from allauth.account import forms as allauth_forms
from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from taggit.models import Tag

from prompts.models import AIGenerator
from prompts.services.submission import MAX_PROMPT_LENGTH
from prompts.vocabulary import MAX_TAGS


class TagsField(forms.ModelMultipleChoiceField):
    """Tags chosen from the vocabulary, by id, at most five.

    Ids are checked to be integers a database column can hold before they reach a query: SQLite
    raises OverflowError (a 500) for `999999999999999999999999999999`, where the person should
    simply be told to choose from the list.
    """

    MAX_TAGS = MAX_TAGS
    LARGEST_ID = 2**63 - 1

    def __init__(self, **kwargs):
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"].setdefault("invalid_choice", "Choose tags from the list.")
        kwargs["error_messages"].setdefault("invalid_pk_value", "Choose tags from the list.")
        super().__init__(queryset=Tag.objects.order_by("name"), **kwargs)

    def clean(self, value):
        for item in value if isinstance(value, (list, tuple)) else []:
            text = str(item).strip()
            if not (text.isascii() and text.isdigit() and int(text) <= self.LARGEST_ID):
                raise forms.ValidationError(self.error_messages["invalid_pk_value"], code="invalid_pk_value")
        tags = super().clean(value)
        if len(tags) > self.MAX_TAGS:
            raise forms.ValidationError(f"Choose at most {self.MAX_TAGS} tags.", code="too_many")
        return tags


class SubmitForm(forms.Form):
    upload_id = forms.CharField(max_length=64, error_messages={"required": "Please choose an image or video first."})
    content = forms.CharField(
        max_length=MAX_PROMPT_LENGTH,
        strip=True,
        error_messages={
            "required": "Please enter the prompt you used.",
            "max_length": f"Your prompt is too long: the maximum is {MAX_PROMPT_LENGTH:,} characters.",
        },
    )
    ai_generator = forms.ChoiceField(
        choices=AIGenerator.choices,
        error_messages={
            "required": "Please choose the generator you used.",
            "invalid_choice": "Please choose the generator you used.",
        },
    )
    save_as_draft = forms.BooleanField(required=False)


class PromptEditForm(forms.Form):
    title = forms.CharField(max_length=120, strip=True)
    description = forms.CharField(widget=forms.Textarea, max_length=2000, required=False, strip=True)
    tags = TagsField(required=False, widget=forms.SelectMultiple(attrs={"size": 8}), help_text="Up to 5 tags.")
    content = forms.CharField(label="Prompt", widget=forms.Textarea, max_length=MAX_PROMPT_LENGTH, strip=True)
    ai_generator = forms.ChoiceField(label="Generator", choices=AIGenerator.choices)
    publish = forms.BooleanField(label="Published (visible to everyone)", required=False)


class SeoReviewForm(forms.Form):
    """Staff completing a flagged prompt (the SEO review queue): every detail is required."""

    # The admin's own field classes, so the form looks like the rest of the admin.
    title = forms.CharField(
        max_length=120,
        strip=True,
        widget=forms.TextInput(attrs={"class": "vTextField"}),
        error_messages={"required": "Please write a title."},
    )
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "class": "vLargeTextField"}),
        max_length=2000,
        strip=True,
        error_messages={"required": "Please write a description."},
    )
    tags = TagsField(
        widget=forms.SelectMultiple(attrs={"size": 12}),
        help_text="Choose 1 to 5 tags from the vocabulary (Ctrl/Cmd-click to choose several).",
        error_messages={"required": "Please choose at least one tag."},
    )


class ModerationNoteForm(forms.Form):
    """A moderator's note to the author: optional when approving, required when rejecting."""

    note = forms.CharField(
        label="Note for the author",
        required=False,
        max_length=1000,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2, "class": "vLargeTextField"}),
        help_text="Shown to the author once, on their next visit. Required when you reject.",
    )


class LoginThrottleMessage:
    """Words the log-in throttle's refusal (`prompts.auth_backends`) on any authentication form:
    without it a throttled attempt reads like a wrong password."""

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError:
            attempt = getattr(self.request, "login_attempt", None)
            if attempt is not None and not attempt.allowed:
                raise forms.ValidationError(attempt.message, code="locked") from None
            raise


class NoLabelSuffix:
    """Labels as the site's other forms write them ("Email", not "Email:")."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class LoginForm(LoginThrottleMessage, NoLabelSuffix, allauth_forms.LoginForm):
    """allauth's log-in (username or email), with the throttle's wording and Django's NFKC of the name.

    A POST that names the field `username` (Django's own log-in form did; scripts, bench/load.py
    and older clients still do) is read as `login`."""

    def __init__(self, *args, **kwargs):
        data = kwargs.get("data")
        if data is not None and "login" not in data and "username" in data:
            data = data.copy()
            data["login"] = data["username"]
            kwargs["data"] = data
        super().__init__(*args, **kwargs)
        self.fields["login"].label = "Username or email"

    def clean_login(self):
        return unicodedata.normalize("NFKC", super().clean_login())


# allauth's forms (ACCOUNT_FORMS); its adapter checks usernames (prompts.account_adapter).
class SignupForm(NoLabelSuffix, allauth_forms.SignupForm):
    pass


class AddEmailForm(NoLabelSuffix, allauth_forms.AddEmailForm):
    pass


class ChangePasswordForm(NoLabelSuffix, allauth_forms.ChangePasswordForm):
    pass


class SetPasswordForm(NoLabelSuffix, allauth_forms.SetPasswordForm):
    pass


class ResetPasswordForm(NoLabelSuffix, allauth_forms.ResetPasswordForm):
    pass


class ResetPasswordKeyForm(NoLabelSuffix, allauth_forms.ResetPasswordKeyForm):
    pass


class AdminLoginForm(LoginThrottleMessage, AdminAuthenticationForm):
    pass

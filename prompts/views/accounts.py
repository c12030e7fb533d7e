"""Log-in with Django's own view, throttled against password guessing."""
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from prompts.services import accounts


def client_address(request) -> str:
    # Heroku's router appends the real client address last in X-Forwarded-For.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    return forwarded.split(",")[-1].strip() if forwarded else request.META.get("REMOTE_ADDR", "")


class ThrottledAuthenticationForm(AuthenticationForm):
    def clean(self):
        username = self.data.get("username", "")
        address = client_address(self.request) if self.request else ""
        if accounts.login_locked(username=username, address=address):
            raise ValidationError(accounts.LOCKED_MESSAGE, code="locked")
        try:
            cleaned = super().clean()
        except ValidationError:
            accounts.record_login_failure(username=username, address=address)
            raise
        accounts.record_login_success(username=username, address=address)
        return cleaned


class LoginView(auth_views.LoginView):
    form_class = ThrottledAuthenticationForm
    redirect_authenticated_user = True

"""Log-in with Django's own view; the throttle itself is `prompts.auth_backends.LoginThrottleBackend`."""

from django.contrib.auth import views as auth_views

from prompts.forms import LoginForm


def refused_for_now(request, response):
    """A throttled log-in answers 429 with Retry-After (the page still shows the form and why)."""
    attempt = getattr(request, "login_attempt", None)
    if attempt is not None and not attempt.allowed:
        response.status_code = 429
        response["Retry-After"] = str(attempt.retry_after)
    return response


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    redirect_authenticated_user = True

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "label_suffix": ""}  # labels as the other forms write them

    def form_invalid(self, form):
        return refused_for_now(self.request, super().form_invalid(form))

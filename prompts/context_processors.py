"""Template context processors."""

from django.contrib import messages

from prompts.services import review

_LEVELS = {"success": messages.SUCCESS, "warning": messages.WARNING}


def moderation_outcome_messages(request) -> dict:
    """Tell the author, once, what a moderator decided about their prompt: as Django messages.

    A context processor rather than a middleware so it only runs (one query for a logged-in
    user) when an HTML page is rendered, never for the JSON polling endpoints. The messages are
    added before the page's `{% for message in messages %}` runs, so they show on this very page;
    on a page that shows no messages they stay in the message storage for the next one.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not hasattr(request, "_messages"):
        return {}
    for level, text in review.take_unseen_outcomes(user=user):
        messages.add_message(request, _LEVELS.get(level, messages.INFO), text)
    return {}

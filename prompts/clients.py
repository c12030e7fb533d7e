"""Who is asking: the client's address, as far as the proxies we trust vouch for it."""

from django.conf import settings


def client_address(request) -> str:
    """The address of the client, never taken from a header the client could have written.

    Each trusted proxy (Heroku's router is one) appends the address it received the request from
    to X-Forwarded-For, so the entry TRUSTED_PROXY_HOPS places from the right was written by our
    outermost proxy: everything left of it is whatever the client sent. With 0 hops (no proxy),
    or a header shorter than the hop count (the request did not come through every proxy), the
    socket's address is the answer.
    """
    hops = settings.TRUSTED_PROXY_HOPS
    remote = request.META.get("REMOTE_ADDR", "")
    if hops <= 0:
        return remote
    entries = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    entries = [entry for entry in entries if entry]
    return entries[-hops] if len(entries) >= hops else remote

"""Presigned PUT URLs for direct uploads from the browser, for both media backends.

s3: boto3 signs a PUT with Content-Type *and* Content-Length, so the storage itself refuses a
body of another type or size (B2 has no presigned POST). We still verify at /complete/.
local: a URL to our own view, signed with an HMAC of key, type, size and expiry (SECRET_KEY).
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.crypto import salted_hmac

from prompts.media import storage

_SALT = "promptfinder.direct-upload.v1"


@dataclass(frozen=True)
class PresignedPut:
    url: str
    headers: dict[str, str]
    expires_in: int


class InvalidSignature(Exception):
    pass


def presign_put(*, key: str, content_type: str, size: int, expires_in: int) -> PresignedPut:
    if storage.is_s3():
        try:
            url = storage.s3_client().generate_presigned_url(
                "put_object",
                Params={"Bucket": storage.bucket(), "Key": key, "ContentType": content_type, "ContentLength": size},
                ExpiresIn=expires_in,
                HttpMethod="PUT",
            )
        except Exception as exc:  # botocore raises many types; none of them may escape the adapter
            raise storage.StorageError(f"could not sign an upload URL: {exc}") from exc
        return PresignedPut(url=url, headers={"Content-Type": content_type}, expires_in=expires_in)
    expires = int(time.time()) + expires_in
    query = urlencode(
        {"ct": content_type, "size": size, "expires": expires, "sig": _sign(key, content_type, size, expires)}
    )
    url = f"{reverse('local_upload_put', kwargs={'key': key})}?{query}"
    return PresignedPut(url=url, headers={"Content-Type": content_type}, expires_in=expires_in)


def _sign(key: str, content_type: str, size: int, expires: int) -> str:
    return salted_hmac(_SALT, f"{key}\n{content_type}\n{size}\n{expires}", algorithm="sha256").hexdigest()


def verify_local_put(*, key: str, content_type: str, size: str, expires: str, signature: str) -> int:
    """Check a local upload URL's signature and expiry; returns the signed size limit."""
    try:
        size_int, expires_int = int(size), int(expires)
    except (TypeError, ValueError) as exc:
        raise InvalidSignature("malformed upload URL") from exc
    expected = _sign(key, content_type, size_int, expires_int)
    if not hmac.compare_digest(expected, signature or ""):
        raise InvalidSignature("the upload URL's signature is not valid")
    if expires_int < time.time():
        raise InvalidSignature("the upload URL has expired")
    return size_int

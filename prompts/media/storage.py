"""Media storage: one small interface over Django's storage API for both backends.

`local` keeps files under MEDIA_ROOT; `s3` is Backblaze B2 (or any S3 API) through
django-storages. Every storage failure leaves this module as `StorageError`.

Only keys under `public/` are public (published prompts' media, served by the CDN or, locally, to
anyone); every other key is private and reached through our own view, which checks who asks.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files.storage import storages
from storages.backends.s3 import S3Storage


class StorageError(Exception):
    """The media storage could not do what was asked (down, refused, or the object is missing)."""


class ObjectMissing(StorageError):
    pass


class B2Storage(S3Storage):
    """django-storages' S3 backend with the settings B2 needs."""

    def __init__(self, **settings_):
        from botocore.config import Config

        # boto3 >= 1.36 adds checksum headers by default that B2 rejects.
        settings_.setdefault(
            "client_config",
            Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=30,
            ),
        )
        super().__init__(**settings_)


def _storage():
    # Looked up on each call so override_settings(STORAGES=...) takes effect.
    return storages["default"]


def is_s3() -> bool:
    return isinstance(_storage(), S3Storage)


def s3_client():
    """The boto3 client behind the S3 storage (for HEAD, copy and presigned URLs)."""
    return _storage().connection.meta.client


def bucket() -> str:
    return _storage().bucket_name


PUBLIC_PREFIX = "public/"
# Every key can be deleted (trash, moderation, cleanup), so none is cached as immutable: public copies
# may be cached for a short while, private ones never.
PRIVATE_CACHE_CONTROL = "private, no-store"


def is_public_key(key: str) -> bool:
    return key.startswith(PUBLIC_PREFIX)


def cache_control(key: str) -> str:
    if is_public_key(key):
        return f"public, max-age={settings.MEDIA_PUBLIC_CACHE_SECONDS}"
    return PRIVATE_CACHE_CONTROL


_MISSING_CODES = {"404", "NoSuchKey", "NotFound"}


def _wrap(exc: Exception, key: str) -> StorageError:
    # Decided by the S3 error code, never by the message: a connection error's message holds the URL,
    # and a port or an upload's UUID may contain "404".
    error = (getattr(exc, "response", None) or {}).get("Error", {})  # botocore's ClientError
    if isinstance(exc, FileNotFoundError) or str(error.get("Code", "")) in _MISSING_CODES:
        return ObjectMissing(f"{key} is not in storage")
    return StorageError(f"storage failed for {key}: {exc.__class__.__name__}: {str(exc)[:200]}")


def save_bytes(key: str, data: bytes, *, content_type: str) -> None:
    """Write `data` at exactly `key` (overwriting), atomically on the local disk."""
    try:
        if is_s3():
            s3_client().put_object(
                Bucket=bucket(),
                Key=key,
                Body=data,
                ContentType=content_type,
                CacheControl=cache_control(key),
            )
        else:
            _write_local_atomically(key, [data])
    except StorageError:
        raise
    except Exception as exc:
        raise _wrap(exc, key) from exc


def local_path(key: str) -> Path:
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / key).resolve()
    if root not in path.parents:
        raise StorageError(f"refusing a key outside the media root: {key!r}")
    return path


def _write_local_atomically(key: str, chunks) -> int:
    path = local_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    written = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                written += len(chunk)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return written


def write_local_stream(key: str, chunks) -> int:
    """Local backend: stream chunks to `key`; nothing appears at `key` unless all were written."""
    return _write_local_atomically(key, chunks)


def read_bytes(key: str, *, limit: int | None = None) -> bytes:
    try:
        if is_s3():
            obj = s3_client().get_object(Bucket=bucket(), Key=key)
            body = obj["Body"]
            data = body.read(limit + 1) if limit else body.read()
        else:
            with open(local_path(key), "rb") as handle:
                data = handle.read(limit + 1) if limit else handle.read()
    except StorageError:
        raise
    except Exception as exc:
        raise _wrap(exc, key) from exc
    if limit and len(data) > limit:
        raise StorageError(f"{key} is larger than {limit} bytes")
    return data


def head(key: str) -> tuple[int, str]:
    """(size, content type) of the stored object; ObjectMissing when there is none."""
    try:
        if is_s3():
            meta = s3_client().head_object(Bucket=bucket(), Key=key)
            return int(meta["ContentLength"]), meta.get("ContentType", "")
        path = local_path(key)
        return path.stat().st_size, ""
    except StorageError:
        raise
    except Exception as exc:
        raise _wrap(exc, key) from exc


def exists(key: str) -> bool:
    try:
        head(key)
    except ObjectMissing:
        return False
    return True


def delete(key: str) -> None:
    """Delete `key`; deleting what is already gone is not an error."""
    if not key:
        return
    try:
        if is_s3():
            s3_client().delete_object(Bucket=bucket(), Key=key)
        else:
            local_path(key).unlink(missing_ok=True)
    except StorageError:
        raise
    except Exception as exc:
        raise _wrap(exc, key) from exc


def list_keys(prefix: str) -> list[str]:
    """Every key under `prefix` (a folder ending in "/"), whatever wrote it: S3 pages through the listing,
    the local backend walks the folder (half-written temporary files included)."""
    if not prefix.endswith("/"):
        raise StorageError(f"a prefix must be a folder ending in '/': {prefix!r}")
    try:
        if is_s3():
            pages = s3_client().get_paginator("list_objects_v2").paginate(Bucket=bucket(), Prefix=prefix)
            return [item["Key"] for page in pages for item in page.get("Contents", [])]
        folder = local_path(prefix.rstrip("/"))
        if not folder.is_dir():
            return []
        root = Path(settings.MEDIA_ROOT).resolve()
        return sorted(str(path.relative_to(root)) for path in folder.rglob("*") if path.is_file())
    except StorageError:
        raise
    except Exception as exc:
        raise _wrap(exc, prefix) from exc


def delete_prefix(prefix: str) -> int:
    """Delete every key under `prefix` (and, locally, the emptied folder); returns how many were deleted."""
    keys = list_keys(prefix)
    for key in keys:
        delete(key)
    if not is_s3():
        try:
            local_path(prefix.rstrip("/")).rmdir()
        except OSError:  # not there, or not empty (something was written meanwhile): the next sweep
            pass
    return len(keys)


def copy(source_key: str, target_key: str) -> None:
    """Copy an object; its Cache-Control is the target's (a private file made public, or back)."""
    try:
        if is_s3():
            content_type = s3_client().head_object(Bucket=bucket(), Key=source_key).get("ContentType", "")
            s3_client().copy_object(
                Bucket=bucket(),
                Key=target_key,
                CopySource={"Bucket": bucket(), "Key": source_key},
                MetadataDirective="REPLACE",
                ContentType=content_type or "application/octet-stream",
                CacheControl=cache_control(target_key),
            )
        else:
            with open(local_path(source_key), "rb") as handle:
                _write_local_atomically(target_key, iter(lambda: handle.read(1 << 20), b""))
    except StorageError:
        raise
    except Exception as exc:
        raise _wrap(exc, source_key) from exc


def public_url(key: str) -> str:
    """The URL pages use for `key`: the CDN (or bucket) for a public key on S3, our own media view for
    everything else (local files, and private keys on both backends, which that view authorises)."""
    if not key:
        return ""
    if is_s3() and is_public_key(key):
        if settings.MEDIA_CDN_URL:
            return f"{settings.MEDIA_CDN_URL}/{key}"
        return _storage().url(key)
    return f"{settings.MEDIA_URL.rstrip('/')}/{key}"


def signed_get_url(key: str, *, expires_in: int) -> str:
    """S3: a short-lived GET URL for a private key (the bucket itself is private)."""
    try:
        return s3_client().generate_presigned_url(
            "get_object",
            Params={"Bucket": bucket(), "Key": key, "ResponseCacheControl": PRIVATE_CACHE_CONTROL},
            ExpiresIn=expires_in,
            HttpMethod="GET",
        )
    except Exception as exc:
        raise StorageError(f"could not sign a download URL for {key}: {exc}") from exc


def upload_endpoint() -> str:
    """Where browsers send direct uploads: the S3 endpoint, or '' for our own (local) URLs."""
    if not is_s3():
        return ""
    return _storage().endpoint_url or f"https://s3.{_storage().region_name}.amazonaws.com"


def ping() -> None:
    """Can the storage be reached and used? (readiness: HEAD the bucket, or the media root is writable)."""
    try:
        if is_s3():
            s3_client().head_bucket(Bucket=bucket())
            return
        root = Path(settings.MEDIA_ROOT)
        root.mkdir(parents=True, exist_ok=True)
        if not os.access(root, os.W_OK):
            raise StorageError("the media root is not writable")
    except StorageError:
        raise
    except Exception as exc:
        raise _wrap(exc, "(bucket)") from exc

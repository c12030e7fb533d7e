"""Rows the tests start from, made through the services as the site makes them.

`ready_upload_for` stores a file straight into storage (no HTTP) and runs complete, moderate and
variants; `submitted_prompt` submits it. Tests of the HTTP flow itself use tests/upload_flow.py.
"""

import itertools

from prompts.media import storage
from prompts.models import Prompt, Upload
from prompts.services import submission, uploads
from tests import media_samples

LONG_PROMPT = "a cinematic vertical frame of a stylish young woman in the early 1980s standing beside a classic car"
# A different image each time: the same person uploading the same file twice is refused.
_COLOURS = ((i * 37 % 256, i * 91 % 256, i * 53 % 256) for i in itertools.count(1))


def ready_upload_for(user, data: bytes | None = None, *, filename="photo.jpg", content_type="image/jpeg") -> Upload:
    """A ready upload of `user` (the PUT written straight to storage)."""
    data = data or media_samples.jpeg_bytes((900, 600), color=next(_COLOURS))
    signed = uploads.presign_upload(user=user, filename=filename, content_type=content_type, file_size=len(data))
    storage.save_bytes(uploads.incoming_key(signed.upload), data, content_type=content_type)
    uploads.complete_upload(user=user, upload_id=signed.upload.id)
    uploads.moderate_upload(user=user, upload_id=signed.upload.id)
    return uploads.make_upload_variants(user=user, upload_id=signed.upload.id)


def submitted_prompt(
    user,
    *,
    content: str = LONG_PROMPT,
    draft: bool = False,
    generator: str = "midjourney",
    flagged: bool = False,
    upload: Upload | None = None,
) -> Prompt:
    """A prompt just submitted (processing, its AI task queued). `flagged`: moderation answered "high"."""
    upload = upload or ready_upload_for(user)
    if flagged:
        Upload.objects.filter(id=upload.id).update(
            moderation_action="review",
            moderation_severity="high",
            moderation_violations=["suggestive", "partial nudity"],
        )
    return submission.submit_prompt(
        user=user, upload_id=upload.id, content=content, ai_generator=generator, save_as_draft=draft
    )


def submitted_through_the_form(client, user, content: str, *, generator: str = "flux") -> Prompt:
    """A ready upload submitted by POSTing the upload page's form with `client` (a CsrfClient of `user`)."""
    upload = ready_upload_for(user)
    response = client.post_form(
        "/upload/submit/", {"upload_id": str(upload.id), "content": content, "ai_generator": generator}
    )
    assert response.status_code == 302, response.content.decode()[:500]
    return Prompt.objects.get(upload=upload)

"""Drive the upload API exactly as upload.js does: presign, PUT the bytes over HTTP, complete, moderate, variants."""

import json

import requests


def post_json(client, url: str, body) -> tuple[int, dict]:
    response = client.post(
        url, data=json.dumps(body), content_type="application/json", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value
    )
    return response.status_code, response.json()


def presign(client, *, filename="photo.jpg", content_type="image/jpeg", file_size=1000):
    return post_json(
        client, "/api/upload/b2/presign/", {"filename": filename, "content_type": content_type, "file_size": file_size}
    )


def put_bytes(answer: dict, data: bytes, *, base_url: str = "", headers: dict | None = None) -> requests.Response:
    url = answer["presigned_url"]
    if url.startswith("/"):
        url = base_url + url
    return requests.put(url, data=data, headers=headers or answer["headers"], timeout=30)


def upload_file(client, data: bytes, *, base_url: str, filename="photo.jpg", content_type="image/jpeg") -> dict:
    """presign + PUT + complete; returns the complete answer (asserting each step succeeded)."""
    status, answer = presign(client, filename=filename, content_type=content_type, file_size=len(data))
    assert status == 200, answer
    put = put_bytes(answer, data, base_url=base_url)
    assert put.status_code == 200, put.text
    status, done = post_json(client, "/api/upload/b2/complete/", {"upload_id": answer["upload_id"]})
    assert status == 200, done
    return done


def ready_upload(client, data: bytes, *, base_url: str, **kwargs) -> str:
    """An upload through every step up to 'ready'; returns its id."""
    done = upload_file(client, data, base_url=base_url, **kwargs)
    upload_id = done["upload_id"]
    status, moderation = post_json(client, "/api/upload/b2/moderate/", {"upload_id": upload_id})
    assert status == 200, moderation
    status, variants = post_json(client, "/api/upload/b2/variants/", {"upload_id": upload_id})
    assert status == 200, variants
    return upload_id

"""Security headers and the Content Security Policy on every page."""

import pytest

from tests.conftest import csrf_client


def csp_directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


@pytest.mark.django_db
def test_pages_send_a_strict_csp_with_no_inline_script(alice):
    for url in ("/", "/upload/", "/accounts/login/"):
        directives = csp_directives(csrf_client(alice).get(url))
        assert directives["script-src"] == ["'self'"]
        assert "'unsafe-inline'" not in directives["style-src"]
        assert directives["frame-ancestors"] == ["'none'"] and directives["object-src"] == ["'none'"]
        assert "blob:" in directives["img-src"]


@pytest.mark.django_db
def test_the_bucket_origin_is_allowed_for_direct_uploads(alice, s3_media):
    directives = csp_directives(csrf_client(alice).get("/upload/"))
    assert s3_media.endpoint in directives["connect-src"] and s3_media.endpoint in directives["img-src"]


def test_no_template_contains_an_inline_script_or_event_handler():
    import re
    from pathlib import Path

    inline_script = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/ld\+json)[^>]*>")
    handler = re.compile(r"\son[a-z]+=\s*[\"']")
    templates = list(Path("templates").rglob("*.html"))
    assert len(templates) > 10
    for path in templates:
        text = path.read_text()
        assert not inline_script.search(text), f"inline script in {path}"
        assert not handler.search(text), f"inline event handler in {path}"


@pytest.mark.django_db
def test_clickjacking_and_sniffing_protection(client):
    response = client.get("/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"

"""What a person does in the browser, as small steps the browser tests share."""

import base64
import re
from pathlib import Path

from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from prompts.services import submission
from tests import media_samples
from tests.conftest import csrf_client
from tests.upload_flow import ready_upload

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
PROCESSING_URL = re.compile(r"/prompt/processing/[0-9a-f-]{36}/$")
# Uploading, checking and resizing: a few seconds at most on a slow machine.
UPLOAD_TIMEOUT_MS = 30_000
# The worker polls every 0.1 s, the page every 0.3 s; the fake AI answers at once unless told otherwise.
AI_TIMEOUT_MS = 30_000

# Builds the File in the page (from base64 bytes, or `size` zero bytes) and drops it on the drop
# zone with real drag events carrying a DataTransfer, as a file dragged from the desktop does.
_DROP = """
({name, type, data, size}) => {
  const bytes = data === null ? new Uint8Array(size) : Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const file = new File([bytes], name, { type });
  const transfer = new DataTransfer();
  transfer.items.add(file);
  const zone = document.querySelector('[data-dropzone]');
  for (const kind of ['dragenter', 'dragover', 'drop']) {
    zone.dispatchEvent(new DragEvent(kind, { bubbles: true, cancelable: true, dataTransfer: transfer }));
  }
}
"""


def log_in(context, user, base_url: str) -> None:
    """Give the browser context a session for `user` (signing up through the form has its own test)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": base_url}])


def drop_file(page, name: str, data: bytes | None = None, *, content_type: str = "image/jpeg", size: int = 0) -> None:
    page.wait_for_load_state()  # upload.js is a module: it runs once the document is parsed
    payload = {
        "name": name,
        "type": content_type,
        "size": size,
        "data": None if data is None else base64.b64encode(data).decode("ascii"),
    }
    page.evaluate(_DROP, payload)


def choose_file(page, name: str, data: bytes, *, content_type: str = "image/jpeg") -> None:
    """The Browse path: the hidden file input gets the file, as the system file picker would set it."""
    page.wait_for_load_state()
    page.locator("#file-input").set_input_files({"name": name, "mimeType": content_type, "buffer": data})


def expect_ready(page, *, kind: str = "image") -> None:
    prepared = "✓ Poster and previews ready" if kind == "video" else "✓ Images optimized"
    for text in ("✓ Uploaded", "✓ Content verified", prepared, "✓ Ready to submit"):
        expect(page.get_by_text(text, exact=True)).to_be_visible(timeout=UPLOAD_TIMEOUT_MS)
    expect(page.get_by_role("button", name="Submit", exact=True)).to_be_enabled()


def fill_prompt(page, text: str, generator: str = "Midjourney") -> None:
    page.get_by_label("Prompt *", exact=True).fill(text)
    page.get_by_label("Generator *", exact=True).select_option(label=generator)


def submit(page, button: str = "Submit") -> None:
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_url(PROCESSING_URL)


def wait_for(page, predicate, *, timeout_ms: int = 10_000, message: str = "condition") -> None:
    """Wait for something only Python can see (e.g. a held route); Playwright's events run while it waits."""
    waited = 0
    while not predicate():
        if waited >= timeout_ms:
            raise AssertionError(f"timed out after {timeout_ms} ms waiting for {message}")
        page.wait_for_timeout(20)
        waited += 20


def dialog(page, title: str):
    return page.get_by_role("dialog", name=title)


def submitted_prompt(user, *, base_url: str, content: str = "A quiet harbour at dawn, soft fog"):
    """A prompt that was uploaded and submitted without a browser (for tests of the processing page)."""
    upload_id = ready_upload(csrf_client(user), media_samples.jpeg_bytes(), base_url=base_url)
    return submission.submit_prompt(
        user=user, upload_id=upload_id, content=content, ai_generator="midjourney", save_as_draft=False
    )


def image_loaded(locator) -> bool:
    return locator.evaluate("(img) => img.complete && img.naturalWidth > 0")


def screenshot(page, name: str) -> None:
    """Full-page screenshots at desktop and phone width under tests/artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    for label, viewport in (("1280", DESKTOP), ("375", PHONE)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


# What upload.js keeps for "resume after reload": the file in IndexedDB, the typed text in localStorage.
_PENDING_UPLOAD = """
async () => {
  const text = localStorage.getItem('promptfinder:upload-draft');
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open('promptfinder', 1);
    request.onupgradeneeded = () => request.result.createObjectStore('pending-upload');
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const entry = await new Promise((resolve, reject) => {
    const request = db.transaction('pending-upload', 'readonly').objectStore('pending-upload').get('file');
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  db.close();
  return { file: entry ? entry.name : null, text: text ? JSON.parse(text) : null };
}
"""


def pending_upload(page) -> dict:
    """{"file": the kept file's name or None, "text": the kept form fields or None}."""
    return page.evaluate(_PENDING_UPLOAD)


def record_texts(page, selector: str) -> None:
    """Keep every text the element at `selector` shows (read back with recorded_texts), so a message
    that is only shown for a moment can be asserted afterwards without racing it."""
    page.evaluate(
        """(selector) => {
      const el = document.querySelector(selector);
      window.__recordedTexts = [el.textContent];
      new MutationObserver(() => window.__recordedTexts.push(el.textContent))
        .observe(el, { childList: true, characterData: true, subtree: true });
    }""",
        selector,
    )


def recorded_texts(page) -> list[str]:
    return page.evaluate("() => window.__recordedTexts || []")


MAIL_LINK = re.compile(r"https?://[^/\s]+(/accounts/[^\s]+)")


def link_in_last_mail(to: str) -> str:
    """The path of the link in the last mail sent to `to`: the live server runs in this process, so
    its mail lands in Django's locmem outbox (the test settings' EMAIL_PROVIDER)."""
    from django.core import mail

    sent = [message for message in mail.outbox if to in message.to]
    assert sent, f"no mail to {to}: {[m.to for m in mail.outbox]}"
    return MAIL_LINK.search(sent[-1].body).group(1)


def verify_email(page, address: str) -> None:
    """Open the verification link from the mail and confirm, as a person does."""
    page.goto(link_in_last_mail(address))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text(f"You have confirmed {address}.")).to_be_visible()

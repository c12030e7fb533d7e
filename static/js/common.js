// Shared helpers: CSRF-aware JSON requests, accessible <dialog> modals, copy to the clipboard.

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  const input = document.querySelector('input[name="csrfmiddlewaretoken"]');
  return input ? input.value : '';
}

export class ApiError extends Error {
  constructor(message, status, retryAfter) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

const NETWORK_MESSAGE = "We couldn't reach PromptFinder. Check your connection and try again.";

export async function postJSON(url, body, { signal } = {}) {
  let response;
  try {
    response = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken() },
      body: JSON.stringify(body),
      signal,
    });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(NETWORK_MESSAGE, 0);
  }
  return readAnswer(response);
}

export async function getJSON(url, { signal } = {}) {
  let response;
  try {
    response = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' }, signal });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(NETWORK_MESSAGE, 0);
  }
  return readAnswer(response);
}

async function readAnswer(response) {
  let data = {};
  try {
    data = await response.json();
  } catch (error) {
    data = {};
  }
  if (!response.ok) {
    const retryAfter = parseInt(response.headers.get('Retry-After') || '0', 10) || 0;
    const message = data.error || `Something went wrong (error ${response.status}). Please try again.`;
    const error = new ApiError(message, response.status, retryAfter);
    error.data = data;
    throw error;
  }
  return data;
}

// Show a <dialog> modal. `actions` is a list of {label, value, primary}; resolves with the value
// of the button pressed (or 'cancel' on Escape). Focus is trapped by showModal() and returned to
// the element that had it.
export function showDialog(dialog, { title, message, actions }) {
  const opener = document.activeElement;
  dialog.querySelector('[data-dialog-title]').textContent = title;
  const body = dialog.querySelector('[data-dialog-message]');
  body.replaceChildren();
  (Array.isArray(message) ? message : [message]).forEach((line) => {
    if (line instanceof Node) {
      body.append(line);
    } else {
      const p = document.createElement('p');
      p.textContent = line;
      body.append(p);
    }
  });
  const bar = dialog.querySelector('[data-dialog-actions]');
  bar.replaceChildren();
  return new Promise((resolve) => {
    const finish = (value) => {
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      if (opener && typeof opener.focus === 'function') opener.focus();
      resolve(value);
    };
    const onCancel = (event) => {
      event.preventDefault();
      finish('cancel');
    };
    dialog.addEventListener('cancel', onCancel);
    actions.forEach(({ label, value, primary, danger }) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = label;
      if (!primary) button.classList.add('secondary');
      if (danger) button.classList.add('danger');
      button.addEventListener('click', () => finish(value));
      bar.append(button);
    });
    dialog.showModal();
    const first = bar.querySelector('button:not(.secondary)') || bar.querySelector('button');
    if (first) first.focus();
  });
}

// Copy `text`; without clipboard access (an http page, an old browser) select `fallbackNode` so
// Ctrl+C works, and say so in `status`. Resolves to true when the text was copied.
export async function copyText(text, { status = null, fallbackNode = null } = {}) {
  try {
    await navigator.clipboard.writeText(text);
    if (status) status.textContent = 'Copied!';
    return true;
  } catch (error) {
    if (fallbackNode) {
      const range = document.createRange();
      range.selectNodeContents(fallbackNode);
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
    }
    if (status) status.textContent = 'Press Ctrl+C (or ⌘C) to copy.';
    return false;
  }
}

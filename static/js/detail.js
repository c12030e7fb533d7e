// Detail page: copy the prompt and the link; Like and Save without leaving the page (the forms post
// as usual without JavaScript); Delete asks first, as the processing page does.
import { ApiError, copyText, csrfToken, showDialog } from './common.js';

const dialog = document.getElementById('detail-dialog');

document.querySelectorAll('[data-copy-prompt]').forEach((button) => button.addEventListener('click', () => {
  const promptText = document.getElementById('prompt-text');
  copyText(promptText.textContent, { status: document.querySelector('[data-copy-status]'), fallbackNode: promptText });
}));
document.querySelectorAll('[data-copy-link]').forEach((button) => button.addEventListener('click', () => {
  copyText(button.dataset.copyLink).then((copied) => { if (copied) button.textContent = '🔗 Link copied'; });
}));

// POST a form with fetch and read the JSON answer; the server answers JSON when asked for it.
async function postForm(form) {
  let response;
  try {
    response = await fetch(form.action, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { Accept: 'application/json', 'X-CSRFToken': csrfToken() },
      body: new FormData(form),
    });
  } catch (error) {
    throw new ApiError("We couldn't reach PromptFinder. Check your connection and try again.", 0);
  }
  let data = {};
  try { data = await response.json(); } catch (error) { data = {}; }
  if (!response.ok) throw new ApiError(data.error || `Something went wrong (error ${response.status}). Please try again.`, response.status);
  return data;
}

document.querySelectorAll('form[data-like]').forEach((form) => form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const button = form.querySelector('button');
  button.disabled = true;
  try {
    const data = await postForm(form);
    if (typeof data.liked !== 'boolean') { form.submit(); return; } // e.g. logged out meanwhile: the plain post says so
    button.setAttribute('aria-pressed', String(data.liked));
    button.classList.toggle('secondary', !data.liked);
    const heart = button.querySelector('[aria-hidden]');
    button.replaceChildren(heart, ` ${data.liked ? 'Liked' : 'Like'} · ${data.likes}`);
  } catch (error) {
    if (error.status === 401 || error.status === 403) {
      form.submit(); // the plain post shows the login page or the refusal
      return;
    }
    await showDialog(dialog, { title: "We couldn't save your like", message: error.message, actions: [{ label: 'OK', value: 'ok', primary: true }] });
  } finally {
    button.disabled = false;
    button.focus();
  }
}));

document.querySelectorAll('form[data-save]').forEach((form) => form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const status = form.querySelector('[data-save-status]');
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  status.textContent = 'Saving…';
  status.classList.remove('error');
  try {
    const data = await postForm(form);
    if (!data.message) { form.submit(); return; }
    status.textContent = data.message;
    form.querySelector('[data-saved-in]').textContent = `Already saved in: ${data.saved_in.join(', ')}`;
    const select = form.querySelector('select[name="collection"]');
    if (select) {
      [...select.options].forEach((option) => {
        const name = option.textContent.replace(/ \(saved here\)$/, '');
        if (data.saved_in.includes(name)) option.textContent = `${name} (saved here)`;
      });
    }
    const input = form.querySelector('input[name="new_collection"]');
    if (input) input.value = '';
  } catch (error) {
    status.textContent = error.message;
    status.classList.add('error');
  } finally {
    button.disabled = false;
  }
}));

document.querySelectorAll('form[data-confirm-delete]').forEach((form) => form.addEventListener('submit', async (event) => {
  if (form.dataset.confirmed) return;
  event.preventDefault();
  const days = form.dataset.retentionDays;
  const answer = await showDialog(dialog, {
    title: '🗑️ Move this prompt to your trash?',
    message: ['It will no longer be visible to anyone.', days ? `You can restore it within ${days} days.` : 'You can restore it from your trash.'],
    actions: [{ label: 'Keep It', value: 'keep' }, { label: 'Move to Trash', value: 'trash', primary: true, danger: true }],
  });
  if (answer === 'trash') {
    form.dataset.confirmed = 'yes';
    form.submit();
  }
}));

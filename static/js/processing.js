// Processing page: follow the prompt's status, fill in the AI's title, description and tags, and open
// the completion modal. Never navigates by itself. Pauses while the tab is hidden.
//
// The status comes as a stream of events (Server-Sent Events: one request however long the page waits,
// the answer pushed the moment the prompt completes). The first answer comes from the long poll the page
// preloaded in its head; polling (a long poll, or every POLL_MS) is the fallback when the stream fails.
import { copyText, getJSON, postJSON, showDialog } from './common.js';

const page = document.getElementById('processing-page');
const dialog = document.getElementById('processing-dialog');
const POLL_MS = Number(page.dataset.pollMs) || 3000;
const WARNING_MS = Number(page.dataset.warningMs) || 60000;
const ERROR_MS = Number(page.dataset.errorMs) || 120000;
// Long poll: the server answers the moment the prompt completes (or after this many seconds);
// plain polling every POLL_MS is the fallback when a long poll fails.
const LONG_POLL_S = Number(page.dataset.longPollSeconds) || 0;
const RETENTION_DAYS = Number(page.dataset.retentionDays) || 5;
let longPoll = LONG_POLL_S > 0;
const CAN_STREAM = Boolean(page.dataset.eventsUrl) && 'EventSource' in window;
let streaming = CAN_STREAM;
let streamFailures = 0; // a stream that failed is tried again after a poll works, three times at most
// Timing marks for DevTools' Performance panel and bench/journey.py: pf:status-complete, pf:modal.
const mark = (name) => performance.mark(`pf:${name}`);
const estimateEl = document.getElementById('wait-estimate');

let startedAt = Date.now();
let timer = null;
let clock = null; // the next notice (60 s, 120 s), whether or not an answer comes by then
let source = null; // the EventSource, while the page follows the stream
let stopped = page.dataset.complete === 'true';
let inFlight = false;
// Issue 24: while the server says the AI task is being tried again, the 120 s error notice waits.
let retrying = false;

const titleEl = document.getElementById('prompt-title');
const descriptionEl = document.getElementById('prompt-description');
const tagsEl = document.getElementById('prompt-tags');
const slowNotice = document.getElementById('slow-notice');
const errorNotice = document.getElementById('error-notice');
const editLink = document.getElementById('edit-link');
const outcome = document.getElementById('outcome');

function schedule(delay = POLL_MS) {
  clearTimeout(timer);
  if (!stopped && !document.hidden) timer = setTimeout(poll, delay);
}

function listen() {
  if (stopped || document.hidden || source) return;
  const events = new EventSource(page.dataset.eventsUrl);
  source = events;
  events.addEventListener('status', (event) => take(JSON.parse(event.data)));
  events.addEventListener('error', () => {
    if (events.readyState !== EventSource.CLOSED) return; // the browser reconnects by itself
    stopListening(); // refused (the database away, not logged in, gone, not a stream): polling finds out why
    streaming = false;
    streamFailures += 1;
    schedule(POLL_MS);
  });
}

function stopListening() {
  if (source) source.close();
  source = null;
}

// Wait for the next answer: on the stream, or by polling (`answered`: the last long poll did wait).
function next(answered) {
  if (stopped) return;
  const elapsed = Date.now() - startedAt;
  if (streaming && elapsed < ERROR_MS) listen();
  else schedule(longPoll && answered && elapsed < ERROR_MS ? 0 : POLL_MS); // past the limit (retrying): plain polling
}

// The notices: "taking longer" at WARNING_MS; at ERROR_MS the page gives up (not while the AI is retried).
function checkTheClock() {
  clearTimeout(clock);
  if (stopped) return;
  const elapsed = Date.now() - startedAt;
  if (elapsed >= ERROR_MS && !retrying) {
    stopped = true;
    stopListening();
    clearTimeout(timer);
    slowNotice.hidden = true;
    errorNotice.hidden = false;
    return;
  }
  if (elapsed >= WARNING_MS) slowNotice.hidden = false;
  if (elapsed < ERROR_MS) {
    clock = setTimeout(checkTheClock, (elapsed < WARNING_MS ? WARNING_MS : ERROR_MS) - elapsed);
  } else if (source) {
    // retrying past the limit: plain polling, which sees at once when the retry is no longer due
    stopListening();
    schedule(POLL_MS);
  }
}

// One status answer, from a poll or the stream.
function take(data) {
  retrying = data.retrying === true; // issue 24
  if (data.processing_complete) {
    mark('status-complete');
    stopped = true;
    stopListening();
    clearTimeout(clock);
    if (estimateEl) estimateEl.hidden = true;
    showResult(data);
    return;
  }
  if (estimateEl && data.estimate_text) {
    estimateEl.textContent = data.estimate_text;
    estimateEl.hidden = false;
  }
  checkTheClock();
}

async function poll() {
  if (stopped || inFlight) return;
  inFlight = true;
  let answered = false;
  try {
    let url = page.dataset.statusUrl;
    const first = page.dataset.firstStatusUrl;
    if (first) {
      // The long poll the page preloaded (<link rel="preload"> in its head): it left as soon as the
      // head was parsed, before this script ran; this fetch takes its answer.
      delete page.dataset.firstStatusUrl;
      url = first;
    } else if (longPoll) {
      // never wait past the next notice (60 s warning, 120 s error)
      const elapsed = Date.now() - startedAt;
      const nextNotice = (elapsed < WARNING_MS ? WARNING_MS : ERROR_MS) - elapsed;
      const wait = Math.max(0, Math.min(LONG_POLL_S, nextNotice / 1000));
      url += `?wait=${wait.toFixed(1)}`;
    }
    const data = await getJSON(url);
    answered = data.waited !== false; // the server had no thread to spare: poll on the normal rhythm
    streaming = CAN_STREAM && streamFailures < 3; // the server answers again (e.g. its database is back)
    take(data);
  } catch (error) {
    if (error.status === 404) {
      stopped = true;
      return;
    }
    longPoll = false; // a failed poll is not the end: keep trying on the normal rhythm
    checkTheClock();
  } finally {
    inFlight = false;
  }
  next(answered);
}

function fill(data) {
  titleEl.textContent = data.title;
  titleEl.classList.remove('generating');
  descriptionEl.textContent = data.description || 'No description yet.';
  descriptionEl.classList.remove('generating');
  tagsEl.classList.remove('generating');
  tagsEl.replaceChildren();
  if (data.tags && data.tags.length) {
    const list = document.createElement('ul');
    list.className = 'tags';
    data.tags.forEach((name) => {
      const item = document.createElement('li');
      item.textContent = name;
      list.append(item);
    });
    tagsEl.append(list);
  } else {
    tagsEl.textContent = 'No tags yet.';
  }
  editLink.removeAttribute('aria-disabled');
  editLink.removeAttribute('tabindex');
  editLink.href = page.dataset.editUrl;
  slowNotice.hidden = true;
  errorNotice.hidden = true;
}

function resultMessage(data) {
  if (data.awaiting_moderation) {
    return 'Your prompt has been saved as a draft while our team reviews your image (usually within 24 hours).';
  }
  if (data.is_draft) return 'Your prompt has been saved as a draft. Only you can see it until you publish it.';
  return 'Your prompt has been published and is now live.';
}

// Once the modal is closed the page itself says how it ended and where to go next.
function showOutcome(data) {
  const published = !data.is_draft;
  outcome.classList.toggle('ok', published);
  outcome.classList.toggle('warn', !published);
  outcome.querySelector('[data-outcome-title]').textContent = published ? 'Published' : 'Saved as a draft';
  let message = resultMessage(data);
  if (!data.success) message = 'Your prompt was saved as a draft with limited details: add a title and description to publish it.';
  outcome.querySelector('[data-outcome-message]').textContent = message;
  const link = outcome.querySelector('[data-outcome-link]');
  link.href = data.final_url;
  link.textContent = published ? 'View your prompt' : 'Open your draft';
  outcome.hidden = false;
  link.focus();
}

async function showResult(data) {
  fill(data);
  if (data.success) {
    const quoted = document.createElement('p');
    quoted.className = 'modal-title';
    quoted.textContent = `“${data.title}”`;
    const shown = showDialog(dialog, {
      title: '✅ Your prompt is ready!',
      message: [quoted, resultMessage(data)],
      actions: [{ label: 'View Your Prompt', value: 'view', primary: true }],
    });
    mark('modal');
    const answer = await shown;
    if (answer === 'view') window.location.assign(data.final_url);
    else showOutcome(data);
    return;
  }
  const shown = showDialog(dialog, {
    title: '⚠️ Your prompt was saved with limited details',
    message: [
      "We couldn't automatically generate a title and description for your prompt. This sometimes happens due to high demand.",
      'Your prompt has been saved as a DRAFT and our team has been notified to complete it shortly. You can complete the details yourself now.',
    ],
    actions: [
      { label: 'View Draft', value: 'view', primary: true },
      { label: 'Edit Now', value: 'edit' },
      { label: 'Try Again', value: 'retry' },
    ],
  });
  mark('modal');
  const answer = await shown;
  if (answer === 'view') window.location.assign(data.final_url);
  else if (answer === 'edit') window.location.assign(page.dataset.editUrl);
  else if (answer === 'retry') tryAgain();
  else showOutcome(data);
}

async function tryAgain() {
  try {
    await postJSON(page.dataset.retryUrl, {});
  } catch (error) {
    await showDialog(dialog, { title: "We couldn't try again", message: error.message, actions: [{ label: 'OK', value: 'ok', primary: true }] });
    return;
  }
  ['prompt-title', 'prompt-description', 'prompt-tags'].forEach((id) => {
    const el = document.getElementById(id);
    el.textContent = '⏳ Generating...';
    el.classList.add('generating');
  });
  errorNotice.hidden = true;
  slowNotice.hidden = true;
  outcome.hidden = true;
  startedAt = Date.now();
  stopped = false;
  checkTheClock();
  if (streaming) listen();
  else schedule(0);
}

async function confirmDelete(event) {
  event.preventDefault();
  const answer = await showDialog(dialog, {
    title: '🗑️ Cancel this upload?',
    message: ['This prompt will be moved to your trash.', `You can restore it within ${RETENTION_DAYS} days if you change your mind.`],
    actions: [{ label: 'Keep It', value: 'keep' }, { label: 'Move to Trash', value: 'trash', primary: true, danger: true }],
  });
  if (answer === 'trash') {
    stopped = true;
    stopListening();
    document.getElementById('cancel-form').submit();
  }
}

async function copyPrompt(event) {
  const button = event.currentTarget;
  const promptText = document.getElementById('prompt-text');
  await copyText(promptText.textContent, { status: document.querySelector('[data-copy-status]'), fallbackNode: promptText });
  button.blur();
}

document.getElementById('cancel-form').addEventListener('submit', confirmDelete);
document.querySelectorAll('[data-delete]').forEach((button) => {
  if (!button.closest('form')) button.addEventListener('click', confirmDelete);
});
document.querySelectorAll('[data-copy-prompt]').forEach((button) => button.addEventListener('click', copyPrompt));
document.querySelector('[data-try-again]').addEventListener('click', tryAgain);
// Follow the status again (at first, and when the tab is shown): the preloaded long poll first.
function resume() {
  if (stopped || document.hidden) return;
  if (page.dataset.firstStatusUrl || !streaming) poll();
  else listen();
}

document.addEventListener('visibilitychange', () => {
  if (document.hidden) {
    clearTimeout(timer);
    stopListening();
  } else resume();
});
// Completed moments before the page was rendered: the server put the status answer in the page
// (json_script), so the modal opens from it without a status request.
const completedStatus = document.getElementById('completed-status');
if (completedStatus) {
  mark('status-complete');
  showResult(JSON.parse(completedStatus.textContent));
} else if (!stopped) {
  checkTheClock();
  resume(); // at once, not after a timer: the module runs just before DOMContentLoaded
}

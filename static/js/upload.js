// Upload page: instant preview, then presign -> PUT (with progress) -> complete -> moderate ->
// variants in the background while the person types. URLs come from data-* attributes.
import { ApiError, postJSON, showDialog } from './common.js';
import { forget, forgetFile, rememberFile, rememberText, storedFile, storedText } from './resume.js';

const page = document.getElementById('upload-page');
const urls = {
  presign: page.dataset.presignUrl,
  complete: page.dataset.completeUrl,
  moderate: page.dataset.moderateUrl,
  variants: page.dataset.variantsUrl,
  finish: page.dataset.finishUrl,
};
// "sequential": complete, moderate and variants one request each (the old path, kept to measure against).
const SEQUENTIAL = page.dataset.criticalPath === 'sequential';
// Timing marks for DevTools' Performance panel and bench/journey.py: pf:drop, pf:presign, pf:put, ...
const mark = (name) => performance.mark(`pf:${name}`);
const LIMITS = { image: Number(page.dataset.maxImage), video: Number(page.dataset.maxVideo) };
// The server's list of accepted types (json_script in the template): {ext: [media type, content type]}.
const ACCEPTED = JSON.parse(document.getElementById('accepted-types').textContent);
const TYPES = ACCEPTED.types;
const UNSUPPORTED = ACCEPTED.unsupported;

const $ = (id) => document.getElementById(id);
const dropzone = $('dropzone');
const browseButton = $('browse-button');
const fileInput = $('file-input');
const preview = $('preview');
const previewImage = $('preview-image');
const previewVideo = $('preview-video');
const caption = $('preview-caption');
const progress = $('upload-progress');
const progressLabel = $('progress-label');
const fields = $('prompt-fields');
const form = $('upload-form');
const submitButton = $('submit-button');
const hint = $('form-hint');
const uploadIdInput = $('upload-id');
const dialog = $('upload-dialog');
const panels = { allow: $('moderation-ok'), review: $('moderation-review'), reject: $('moderation-reject') };

let run = null; // the upload in flight: {file, xhr, controller, objectUrl, ready, action}

// Words for what the person chose: "image" or "video".
const noun = (kind) => (kind === 'video' ? 'video' : 'image');
const differentLabel = (kind) => (kind === 'video' ? 'Upload Different Video' : 'Upload Different Image');
// The last step's words: a video gets a poster and previews, an image its optimized sizes.
const VARIANT_STEP = {
  image: { active: 'Optimizing images...', done: '✓ Images optimized' },
  video: { active: 'Making the poster and previews...', done: '✓ Poster and previews ready' },
};
const variantStep = (kind) => VARIANT_STEP[kind === 'video' ? 'video' : 'image'];
const placeholder = $('preview-placeholder');
const changeButton = $('change-image');

function megabytes(size) {
  return (size / (1024 * 1024)).toFixed(1);
}

// The same rules the server applies, checked first so a person hears at once.
function validate(file) {
  const extension = (file.name.split('.').pop() || '').toLowerCase();
  const known = file.name.includes('.') ? TYPES[extension] : undefined;
  if (!known) return { error: UNSUPPORTED };
  const [kind, contentType] = known;
  const limit = LIMITS[kind];
  if (file.size > limit) {
    const name = kind === 'video' ? 'Video' : 'Image';
    return { kind, error: `${name} must be under ${Math.round(limit / 1048576)}MB. Your file is ${megabytes(file.size)} MB.`, title: 'File too large' };
  }
  return { kind, contentType };
}

function setStep(name, state, text) {
  const item = document.querySelector(`#steps [data-step="${name}"]`);
  item.classList.remove('active', 'done', 'failed');
  if (state) item.classList.add(state);
  if (text) item.textContent = text;
}

function resetSteps(kind) {
  setStep('upload', null, 'Uploading...');
  setStep('moderate', null, 'Checking content safety...');
  setStep('variants', null, kind ? variantStep(kind).active : 'Preparing previews...');
  setStep('ready', null, 'Ready to submit');
  progress.value = 0;
  progressLabel.textContent = 'Uploading... 0%';
  Object.values(panels).forEach((panel) => { panel.hidden = true; });
  $('found-prompt').hidden = true;
}

function setSubmit({ enabled, label }) {
  submitButton.disabled = !enabled;
  submitButton.textContent = label || 'Submit';
}

function stopRun() {
  if (!run) return;
  if (run.xhr) run.xhr.abort();
  run.controller.abort();
  if (run.objectUrl) URL.revokeObjectURL(run.objectUrl);
  run = null;
}

function clearFile() {
  stopRun();
  uploadIdInput.value = '';
  previewImage.hidden = true;
  previewImage.removeAttribute('src');
  previewVideo.hidden = true;
  previewVideo.removeAttribute('src');
  previewVideo.load(); // let go of the old file
  placeholder.hidden = true;
  preview.hidden = true;
  dropzone.hidden = false;
  resetSteps();
  setSubmit({ enabled: false });
  const typed = $('id_content').value.trim();
  hint.textContent = typed ? 'Choose a file to submit. What you typed is kept.' : 'Select an image or video to enable the form';
  fileInput.value = '';
}

// Back to the empty drop zone after a refusal, with the keyboard on its Browse button (not on the hidden input).
function backToStart() {
  clearFile();
  browseButton.focus();
}

// A file the browser cannot show (an unusual codec, a broken image): say so instead of a broken icon.
function noPreview(kind) {
  previewImage.hidden = true;
  previewVideo.hidden = true;
  placeholder.textContent = `Your browser can't show a preview of this ${noun(kind)}. It is uploaded all the same.`;
  placeholder.hidden = false;
}
previewImage.addEventListener('error', () => { if (run && previewImage.getAttribute('src')) noPreview(run.kind); });
previewVideo.addEventListener('error', () => { if (run && previewVideo.getAttribute('src')) noPreview(run.kind); });

function chooseDifferent() {
  clearFile();
  fileInput.click();
}

async function chooseFile(file) {
  if (!file) return;
  const checked = validate(file);
  if (checked.error) {
    const answer = await showDialog(dialog, {
      title: checked.title || 'File not supported',
      message: checked.error,
      actions: [{ label: differentLabel(checked.kind), value: 'different', primary: true }, { label: 'OK', value: 'ok' }],
    });
    if (!run) backToStart(); // a file already on its way keeps going; the refused one leaves no trace
    else changeButton.focus();
    if (answer === 'different') fileInput.click();
    return;
  }
  mark('drop');
  stopRun();
  resetSteps(checked.kind);
  // The preview comes from the browser's memory: nothing has been uploaded yet.
  const objectUrl = URL.createObjectURL(file);
  if (checked.kind === 'video') {
    previewImage.hidden = true;
    previewVideo.src = objectUrl;
    previewVideo.hidden = false;
  } else {
    previewVideo.hidden = true;
    previewImage.src = objectUrl;
    previewImage.hidden = false;
  }
  placeholder.hidden = true;
  caption.textContent = 'From your device (not uploaded yet)';
  changeButton.textContent = kindChangeLabel(checked.kind);
  preview.hidden = false;
  const hadFocus = dropzone.contains(document.activeElement) || document.activeElement === fileInput
    || document.activeElement === document.body;
  dropzone.hidden = true;
  fields.disabled = false;
  // The drop zone is gone: the keyboard goes on to the next thing to do, the prompt.
  if (hadFocus) $('id_content').focus();
  hint.textContent = "We're getting your file ready while you type. Submit turns on when it's done.";
  document.querySelectorAll('[data-different-image]').forEach((button) => { button.textContent = differentLabel(checked.kind); });
  run = { file, kind: checked.kind, contentType: checked.contentType, controller: new AbortController(), objectUrl, ready: false };
  rememberFile(file);
  process(run);
}

function kindChangeLabel(kind) {
  return kind === 'video' ? 'Change video' : 'Change image';
}

function formatSpeed(bytesPerSecond) {
  return bytesPerSecond >= 1048576 ? `${(bytesPerSecond / 1048576).toFixed(1)} MB/s` : `${Math.max(1, Math.round(bytesPerSecond / 1024))} KB/s`;
}

// One PUT attempt, with progress, speed and time left.
function putOnce(current, presigned) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    current.xhr = xhr;
    let last = { time: performance.now(), loaded: 0 };
    let speed = 0;
    xhr.open('PUT', presigned.presigned_url);
    Object.entries(presigned.headers || {}).forEach(([name, value]) => xhr.setRequestHeader(name, value));
    xhr.upload.addEventListener('progress', (event) => {
      if (!event.lengthComputable) return;
      const percent = Math.min(100, Math.round((event.loaded / event.total) * 100));
      const now = performance.now();
      if (now - last.time > 200) {
        const sample = ((event.loaded - last.loaded) * 1000) / (now - last.time);
        speed = speed ? speed * 0.7 + sample * 0.3 : sample; // smoothed, so the estimate does not jump
        last = { time: now, loaded: event.loaded };
      }
      progress.value = percent;
      const left = speed > 0 ? Math.ceil((event.total - event.loaded) / speed) : null;
      progressLabel.textContent = speed > 0 && percent < 100
        ? `Uploading... ${percent}% · ${formatSpeed(speed)} · ${left} s left`
        : `Uploading... ${percent}%`;
    });
    xhr.addEventListener('load', () => {
      current.xhr = null;
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve();
        return;
      }
      const error = new ApiError(`The upload was refused (error ${xhr.status}). Please try again.`, xhr.status);
      error.retryAfter = parseFloat(xhr.getResponseHeader('Retry-After') || '0') || 0;
      reject(error);
    });
    xhr.addEventListener('error', () => reject(new ApiError('The upload was interrupted. Check your connection and try again.', 0)));
    xhr.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
    xhr.send(current.file);
  });
}

const PUT_ATTEMPTS = 5;
const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

// The PUT, retried with exponential backoff and jitter on network errors, 429 and 5xx (honouring
// Retry-After). A 403 is an expired or refused signature: retrying it is pointless, so we ask for a
// fresh presigned URL once instead.
async function putFile(current, presigned, presign) {
  let freshUrlTried = false;
  for (let attempt = 1; ; attempt += 1) {
    try {
      await putOnce(current, presigned);
      return presigned;
    } catch (error) {
      if (error.name === 'AbortError' || run !== current) throw error;
      if (error.status === 403 && !freshUrlTried) {
        freshUrlTried = true;
        presigned = await presign();
        continue;
      }
      const retryable = error.status === 0 || error.status === 429 || error.status >= 500;
      if (!retryable || attempt >= PUT_ATTEMPTS) throw error;
      const backoff = Math.min(16000, 1000 * 2 ** (attempt - 1));
      const wait = Math.max(error.retryAfter * 1000 || 0, backoff * (0.5 + Math.random() / 2));
      progressLabel.textContent = `Connection trouble — retrying in ${Math.ceil(wait / 1000)} s (attempt ${attempt + 1} of ${PUT_ATTEMPTS})`;
      await sleep(wait);
      if (run !== current) throw new DOMException('aborted', 'AbortError');
    }
  }
}

async function process(current) {
  const alive = () => run === current;
  const signal = current.controller.signal;
  let step = 'upload';
  try {
    setStep('upload', 'active', 'Uploading...');
    const presign = async () => {
      const answer = await postJSON(urls.presign, {
        filename: current.file.name, content_type: current.contentType, file_size: current.file.size,
      }, { signal });
      mark('presign');
      return answer;
    };
    const presigned = await putFile(current, await presign(), presign);
    mark('put');
    if (!alive()) return;
    current.uploadId = presigned.upload_id;
    progress.value = 100;
    progressLabel.textContent = 'Uploading... 100%';
    const checked = SEQUENTIAL
      ? await checkInOrder(current, signal, (name) => { step = name; })
      : await checkAtOnce(current, signal);
    if (!checked) return;
    const { moderation } = checked;
    step = 'variants';
    if (!moderation.ready) {
      setStep('variants', 'active', variantStep(current.kind).active);
      await postJSON(urls.variants, { upload_id: current.uploadId }, { signal });
      mark('variants');
      if (!alive()) return;
    }
    setStep('variants', 'done', variantStep(current.kind).done);
    setStep('ready', 'done', '✓ Ready to submit');
    mark('ready');
    uploadIdInput.value = current.uploadId;
    current.ready = true;
    const review = moderation.action === 'review';
    setSubmit({ enabled: true, label: review ? 'Submit as Draft' : 'Submit' });
    hint.textContent = review ? 'Your prompt will be saved as a draft until our team approves it.' : 'Ready when you are.';
  } catch (error) {
    if (error.name === 'AbortError' || !alive()) return;
    setStep(step, 'failed');
    await reportFailure(error, current);
  }
}

// The old path: complete, then moderate, each its own request (variants follow in process()).
async function checkInOrder(current, signal, onStep) {
  const done = await postJSON(urls.complete, { upload_id: current.uploadId }, { signal });
  mark('complete');
  if (run !== current) return null;
  uploaded(done);
  onStep('moderate');
  setStep('moderate', 'active', 'Checking content safety...');
  const moderation = await postJSON(urls.moderate, { upload_id: current.uploadId }, { signal });
  mark('moderate');
  if (run !== current) return null;
  return showModeration(current, { ...moderation, ready: false });
}

// One request: the server checks the file, then moderates it while it makes the variants.
async function checkAtOnce(current, signal) {
  setStep('moderate', 'active', 'Checking content safety...');
  setStep('variants', 'active', variantStep(current.kind).active);
  let finished;
  try {
    finished = await postJSON(urls.finish, { upload_id: current.uploadId }, { signal });
  } catch (error) {
    setStep('moderate', null, 'Checking content safety...');
    setStep('variants', null, variantStep(current.kind).active);
    throw error; // shown as the upload step's failure
  }
  mark('finish');
  if (run !== current) return null;
  uploaded(finished);
  return showModeration(current, { ...finished.moderation, ready: finished.state === 'ready' });
}

function uploaded(done) {
  setStep('upload', 'done', '✓ Uploaded');
  caption.textContent = 'Uploaded';
  progressLabel.textContent = 'Upload complete';
  if (done.found_prompt) offerFoundPrompt(done.found_prompt);
}

// The verdict on the page; null (stop here) when the file was refused.
function showModeration(current, moderation) {
  current.action = moderation.action;
  const panel = panels[moderation.action];
  const unchecked = moderation.checked === false;
  if (panel) {
    panel.querySelectorAll('[data-moderation-message]').forEach((el) => { el.textContent = moderation.message; });
    const status = panel.querySelector('[data-moderation-status]');
    if (status) status.textContent = unchecked ? 'Status: not checked' : 'Status: ✅ Content verified';
    panel.classList.toggle('ok', !(unchecked && moderation.action === 'allow'));
    panel.hidden = false;
  }
  if (moderation.action === 'reject') {
    forgetFile();
    setStep('moderate', 'failed', '✗ Content rejected');
    setStep('variants', null, variantStep(current.kind).active);
    setSubmit({ enabled: false });
    hint.textContent = `This file cannot be shared. Please choose a different ${noun(current.kind)}.`;
    return null;
  }
  let checkedLabel = '✓ Content verified';
  if (moderation.action === 'review') checkedLabel = '⚠ Flagged for review';
  else if (unchecked) checkedLabel = '– Content not checked (no check set up)';
  setStep('moderate', 'done', checkedLabel);
  return { moderation };
}

// "We found the prompt in your image — use it?"
function offerFoundPrompt(found) {
  const select = $('id_ai_generator');
  const known = (value) => value && [...select.options].some((option) => option.value === value);
  if (!found.prompt) {
    // Only the generator is known (Content Credentials): preselect it unless the person chose one.
    if (!select.value && known(found.generator)) select.value = found.generator;
    return;
  }
  const panel = $('found-prompt');
  panel.querySelector('[data-found-text]').textContent = found.prompt;
  panel.hidden = false;
  panel.querySelector('[data-use-found]').onclick = () => {
    const textarea = $('id_content');
    textarea.value = found.prompt;
    if (known(found.generator)) select.value = found.generator;
    panel.hidden = true;
    saveText();
    textarea.focus();
  };
  panel.querySelector('[data-dismiss-found]').onclick = () => { panel.hidden = true; };
}

async function reportFailure(error, current) {
  if (error.status === 409 && error.data && error.data.existing_url) {
    forgetFile();
    const answer = await showDialog(dialog, {
      title: `You already shared this ${noun(current.kind)}`,
      message: [`This exact ${noun(current.kind)} is already on PromptFinder under your name.`],
      actions: [{ label: 'View it', value: 'view', primary: true }, { label: differentLabel(current.kind), value: 'different' }],
    });
    if (answer === 'view') window.location.assign(error.data.existing_url);
    else if (answer === 'different') chooseDifferent();
    else backToStart();
    return;
  }
  if (error.status === 429) {
    const wait = error.retryAfter ? ` You can try again in about ${Math.ceil(error.retryAfter / 60)} minutes.` : '';
    await showDialog(dialog, {
      title: '⛔ Upload Limit Reached',
      message: [error.message + wait, 'Upgrade to Premium for higher limits.'],
      actions: [{ label: 'OK', value: 'ok', primary: true }],
    });
    if (run === current) backToStart();
    return;
  }
  const retryable = error.status === 0 || error.status >= 500;
  if (!retryable) forgetFile();
  const actions = retryable
    ? [{ label: 'Retry', value: 'retry', primary: true }, { label: differentLabel(current.kind), value: 'different' }]
    : [{ label: differentLabel(current.kind), value: 'different', primary: true }, { label: 'OK', value: 'ok' }];
  const answer = await showDialog(dialog, {
    title: retryable ? 'Upload interrupted' : "We couldn't use this file",
    message: [error.message, 'What you typed is kept.'],
    actions,
  });
  if (answer === 'retry' && run === current) {
    const file = current.file;
    stopRun();
    chooseFile(file);
  } else if (answer === 'different') {
    chooseDifferent();
  } else if (run === current) {
    backToStart(); // nothing half-done stays on screen: the drop zone is back, the text is kept
  }
}

// --- wiring -----------------------------------------------------------------------------
fileInput.addEventListener('change', () => chooseFile(fileInput.files[0]));
// A click anywhere on the drop zone (the Browse button included) opens the file picker; the input's own
// click, which bubbles up here, must not open it again.
dropzone.addEventListener('click', (event) => {
  if (event.target !== fileInput) fileInput.click();
});
['dragenter', 'dragover'].forEach((name) => dropzone.addEventListener(name, (event) => {
  event.preventDefault();
  dropzone.classList.add('dragover');
}));
['dragleave', 'drop'].forEach((name) => dropzone.addEventListener(name, () => dropzone.classList.remove('dragover')));
dropzone.addEventListener('drop', (event) => {
  event.preventDefault();
  const file = event.dataTransfer && event.dataTransfer.files[0];
  chooseFile(file);
});
changeButton.addEventListener('click', chooseDifferent);

// The form came back with an error: the upload is already ready, so show it again.
if (page.dataset.readyUpload) {
  run = { id: 0, controller: new AbortController(), ready: true, uploadId: page.dataset.readyUpload };
  uploadIdInput.value = page.dataset.readyUpload;
  previewImage.src = page.dataset.readyThumb;
  previewImage.hidden = false;
  changeButton.textContent = 'Change file';
  caption.textContent = 'Uploaded';
  preview.hidden = false;
  dropzone.hidden = true;
  fields.disabled = false;
  ['upload', 'moderate', 'variants', 'ready'].forEach((name) => setStep(name, 'done'));
  progress.value = 100;
  progressLabel.textContent = 'Uploading... 100%';
  const review = page.dataset.readyAction === 'review';
  setSubmit({ enabled: true, label: review ? 'Submit as Draft' : 'Submit' });
  hint.textContent = 'Ready when you are.';
}
document.querySelectorAll('[data-different-image]').forEach((button) => button.addEventListener('click', chooseDifferent));
document.querySelectorAll('[data-submit-as-draft]').forEach((button) => button.addEventListener('click', () => {
  if (!run || !run.ready) {
    hint.textContent = 'Almost there: Submit turns on when your images are optimized.';
    return;
  }
  form.requestSubmit(submitButton);
}));
function saveText() {
  rememberText({
    content: $('id_content').value, generator: $('id_ai_generator').value, draft: $('id_save_as_draft').checked,
  });
}
['input', 'change'].forEach((name) => form.addEventListener(name, saveText));

// Coming back after a reload or a closed tab: offer the same file and the text already typed.
async function offerResume() {
  if (page.dataset.readyUpload) return;
  const file = await storedFile();
  const text = storedText();
  if (!file && !(text && text.content)) return;
  const banner = $('resume-banner');
  banner.querySelector('[data-resume-name]').textContent = file ? file.name : 'your text';
  banner.hidden = false;
  banner.querySelector('[data-resume]').onclick = () => {
    banner.hidden = true;
    if (text) {
      $('id_content').value = text.content || '';
      $('id_ai_generator').value = text.generator || '';
      $('id_save_as_draft').checked = Boolean(text.draft);
    }
    if (file) chooseFile(file);
    else fields.disabled = false;
  };
  banner.querySelector('[data-discard]').onclick = () => {
    banner.hidden = true;
    forget();
  };
}
offerResume();

form.addEventListener('submit', (event) => {
  if (!run || !run.ready || !uploadIdInput.value) {
    event.preventDefault();
    return;
  }
  if (!form.reportValidity()) {
    event.preventDefault();
    return;
  }
  mark('submit');
  submitButton.disabled = true;
  submitButton.textContent = 'Submitting...';
  forget();
});

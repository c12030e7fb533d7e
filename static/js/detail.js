// Detail page: copy the prompt and the link.
async function copy(text, status) {
  try {
    await navigator.clipboard.writeText(text);
    if (status) status.textContent = 'Copied!';
  } catch (error) {
    if (status) status.textContent = 'Press Ctrl+C (or ⌘C) to copy.';
  }
}

document.querySelectorAll('[data-copy-prompt]').forEach((button) => button.addEventListener('click', () => {
  copy(document.getElementById('prompt-text').textContent, document.querySelector('[data-copy-status]'));
}));
document.querySelectorAll('[data-copy-link]').forEach((button) => button.addEventListener('click', () => {
  copy(button.dataset.copyLink, null).then(() => { button.textContent = '🔗 Link copied'; });
}));

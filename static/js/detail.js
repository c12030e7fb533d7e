// Detail page: copy the prompt and the link.
import { copyText } from './common.js';

document.querySelectorAll('[data-copy-prompt]').forEach((button) => button.addEventListener('click', () => {
  const promptText = document.getElementById('prompt-text');
  copyText(promptText.textContent, { status: document.querySelector('[data-copy-status]'), fallbackNode: promptText });
}));
document.querySelectorAll('[data-copy-link]').forEach((button) => button.addEventListener('click', () => {
  copyText(button.dataset.copyLink).then((copied) => { if (copied) button.textContent = '🔗 Link copied'; });
}));

// Every page: the header's menu on narrow screens.
//
// Without this script "Menu" is a link to #site-menu and the CSS opens the menu with :target; with it,
// the link acts as a button (aria-expanded, Enter and Space), Escape or a click outside closes the menu
// and gives focus back to the button.

const header = document.querySelector('[data-site-header]');
const toggle = header && header.querySelector('[data-menu-toggle]');
const menu = header && header.querySelector('[data-site-menu]');

function setOpen(open, { focus = false } = {}) {
  header.classList.toggle('menu-open', open);
  toggle.setAttribute('aria-expanded', String(open));
  if (open && focus) {
    const first = menu.querySelector('input, a, button');
    if (first) first.focus();
  }
}

if (toggle && menu) {
  toggle.setAttribute('role', 'button');
  toggle.setAttribute('aria-expanded', 'false');
  toggle.addEventListener('click', (event) => {
    event.preventDefault();
    setOpen(!header.classList.contains('menu-open'), { focus: event.detail === 0 });
  });
  toggle.addEventListener('keydown', (event) => {
    if (event.key === ' ') {
      event.preventDefault();
      setOpen(!header.classList.contains('menu-open'), { focus: true });
    }
  });
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && header.classList.contains('menu-open')) {
      setOpen(false);
      toggle.focus();
    }
  });
  document.addEventListener('click', (event) => {
    if (header.classList.contains('menu-open') && !header.contains(event.target)) setOpen(false);
  });
  // Leaving the menu by Tab closes it, so it never covers the page being tabbed through.
  menu.addEventListener('focusout', (event) => {
    if (event.relatedTarget && !menu.contains(event.relatedTarget) && event.relatedTarget !== toggle) setOpen(false);
  });
}

// Lists that grow: "Load more" appends the next page in place, and filter menus apply at once.
//
// Without this script "Load more" is a plain link to the next page (a cursor URL) and the filter
// form has an Apply button; with it, the same URL is fetched and its cards are appended, so the
// server renders one kind of page for both.

const parser = new DOMParser();

function announce(feed, text) {
  let status = feed.querySelector('[data-feed-status]');
  if (!status) {
    status = document.createElement('p');
    status.className = 'visually-hidden';
    status.setAttribute('role', 'status');
    status.dataset.feedStatus = '';
    feed.append(status);
  }
  status.textContent = text;
}

async function loadMore(link) {
  const feed = link.closest('[data-feed]');
  const items = feed && feed.querySelector('[data-feed-items]');
  if (!items) {
    window.location.assign(link.href);
    return;
  }
  const label = link.textContent;
  link.setAttribute('aria-disabled', 'true');
  link.textContent = 'Loading…';
  try {
    const response = await fetch(link.href, { credentials: 'same-origin', headers: { Accept: 'text/html' } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const page = parser.parseFromString(await response.text(), 'text/html');
    const next = page.querySelector(`[data-feed="${CSS.escape(feed.dataset.feed)}"]`);
    const nextItems = next && next.querySelector('[data-feed-items]');
    if (!nextItems) throw new Error('no items in the next page');
    const added = Array.from(nextItems.children, (child) => document.importNode(child, true));
    items.append(...added);
    const nav = link.closest('.load-more');
    const nextNav = next.querySelector('.load-more');
    if (nextNav) nav.replaceWith(document.importNode(nextNav, true));
    else nav.remove();
    const firstLink = added.length ? added[0].querySelector('a') : null;
    if (firstLink) firstLink.focus({ preventScroll: true });
    announce(feed, `${added.length} more loaded.`);
  } catch (error) {
    // The plain page still works: go there instead of failing silently.
    link.textContent = label;
    link.removeAttribute('aria-disabled');
    window.location.assign(link.href);
  }
}

document.addEventListener('click', (event) => {
  const link = event.target.closest('a[data-load-more]');
  if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  if (link.getAttribute('aria-disabled') !== 'true') loadMore(link);
});

document.querySelectorAll('form[data-filters] select').forEach((select) => {
  select.addEventListener('change', () => select.form.requestSubmit());
});

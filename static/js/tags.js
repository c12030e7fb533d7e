// The edit page's tag picker: chosen tags as chips, and a type-ahead over the vocabulary.
//
// The form keeps its <select multiple>: without this script a person chooses there (Ctrl/Cmd-click),
// and with it the select is hidden but still holds the choice and is what the form sends. The type-ahead
// follows the ARIA combobox pattern (list autocomplete): Arrow keys move through the matches, Enter adds
// one, Escape closes the list, Backspace in an empty box removes the last chip; each chip has a Remove
// button. Every change is announced in a status line.

const MAX_TAGS = 5;

function setUp(field) {
  const select = field.querySelector('select[multiple]');
  const label = select && field.querySelector(`label[for="${CSS.escape(select.id)}"]`);
  if (!label) return;
  const options = Array.from(select.options);
  const inputId = `${select.id}-input`;
  const listId = `${select.id}-options`;

  const picker = document.createElement('div');
  picker.className = 'tag-picker';
  picker.innerHTML = `
    <ul class="tag-chips" aria-label="Chosen tags"></ul>
    <div class="tag-combo">
      <input type="text" id="${inputId}" role="combobox" aria-autocomplete="list" aria-expanded="false"
             aria-controls="${listId}" autocomplete="off" placeholder="Type to find a tag">
      <ul class="tag-options" id="${listId}" role="listbox" aria-label="Matching tags" hidden></ul>
    </div>
    <p class="tag-picker-status" role="status"></p>`;
  const chips = picker.querySelector('.tag-chips');
  const input = picker.querySelector('input');
  const list = picker.querySelector('[role="listbox"]');
  const status = picker.querySelector('[role="status"]');
  const describedBy = select.getAttribute('aria-describedby');
  if (describedBy) input.setAttribute('aria-describedby', describedBy);
  if (select.getAttribute('aria-invalid')) input.setAttribute('aria-invalid', select.getAttribute('aria-invalid'));

  select.hidden = true;
  select.after(picker);
  label.htmlFor = inputId;
  field.querySelectorAll('[data-no-js-help]').forEach((node) => node.remove());

  let matches = [];
  let active = -1;

  const chosen = () => options.filter((option) => option.selected);

  function renderChips() {
    chips.replaceChildren(
      ...chosen().map((option) => {
        const chip = document.createElement('li');
        chip.className = 'tag-chip';
        chip.append(option.text);
        const remove = document.createElement('button');
        remove.type = 'button';
        remove.textContent = '×';
        remove.setAttribute('aria-label', `Remove ${option.text}`);
        remove.addEventListener('click', () => {
          unchoose(option);
          input.focus();
        });
        chip.append(remove);
        return chip;
      }),
    );
  }

  function say(text) {
    status.textContent = text;
  }

  function count() {
    return `${chosen().length} of ${MAX_TAGS} tags chosen.`;
  }

  function choose(option) {
    if (option.selected) return;
    if (chosen().length >= MAX_TAGS) {
      say(`You can choose up to ${MAX_TAGS} tags. Remove one to add ${option.text}.`);
      return;
    }
    option.selected = true;
    select.dispatchEvent(new Event('change', { bubbles: true }));
    renderChips();
    input.value = '';
    close();
    say(`Added ${option.text}. ${count()}`);
  }

  function unchoose(option) {
    option.selected = false;
    select.dispatchEvent(new Event('change', { bubbles: true }));
    renderChips();
    say(`Removed ${option.text}. ${count()}`);
  }

  function close() {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  }

  function highlight(index) {
    active = index;
    Array.from(list.children).forEach((item, i) => item.setAttribute('aria-selected', String(i === index)));
    const item = list.children[index];
    if (item && item.getAttribute('role') === 'option') {
      input.setAttribute('aria-activedescendant', item.id);
      item.scrollIntoView({ block: 'nearest' });
    } else {
      input.removeAttribute('aria-activedescendant');
    }
  }

  function open() {
    const text = input.value.trim().toLowerCase();
    const free = options.filter((option) => !option.selected);
    const starts = free.filter((option) => option.text.toLowerCase().startsWith(text));
    const contains = free.filter((option) => !starts.includes(option) && option.text.toLowerCase().includes(text));
    matches = [...starts, ...contains];
    list.replaceChildren(
      ...matches.map((option, i) => {
        const item = document.createElement('li');
        item.id = `${listId}-${i}`;
        item.setAttribute('role', 'option');
        item.setAttribute('aria-selected', 'false');
        item.textContent = option.text;
        // mousedown, not click: the box keeps focus, so the list does not close first.
        item.addEventListener('mousedown', (event) => {
          event.preventDefault();
          choose(option);
        });
        return item;
      }),
    );
    if (!matches.length) {
      const none = document.createElement('li');
      none.className = 'tag-none';
      none.textContent = 'No tag matches. Tags come from a fixed list.';
      list.append(none);
    }
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    highlight(text && matches.length ? 0 : -1);
  }

  input.addEventListener('input', open);
  input.addEventListener('focus', () => {
    if (input.value) open();
  });
  input.addEventListener('blur', close);
  input.addEventListener('keydown', (event) => {
    const expanded = !list.hidden;
    if (event.key === 'ArrowDown') {
      event.preventDefault();
      if (!expanded) open();
      if (matches.length) highlight(Math.min(active + 1, matches.length - 1));
    } else if (event.key === 'ArrowUp') {
      event.preventDefault();
      if (matches.length) highlight(Math.max(active - 1, 0));
    } else if (event.key === 'Enter') {
      // Enter never submits the form from this box: it adds the highlighted tag.
      event.preventDefault();
      if (expanded && active >= 0 && matches[active]) choose(matches[active]);
    } else if (event.key === 'Escape') {
      if (expanded) {
        event.preventDefault();
        close();
      }
    } else if (event.key === 'Backspace' && !input.value) {
      const last = chosen().at(-1);
      if (last) unchoose(last);
    }
  });

  renderChips();
}

document.querySelectorAll('[data-tag-picker]').forEach(setUp);

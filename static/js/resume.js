// Keeping an unfinished upload across a reload or a closed tab: the file in IndexedDB (it holds
// Blobs), the typed text in localStorage. Both are cleared on submit.
const DB_NAME = 'promptfinder';
const STORE = 'pending-upload';
const TEXT_KEY = 'promptfinder:upload-draft';

function openDb() {
  return new Promise((resolve, reject) => {
    if (!window.indexedDB) {
      reject(new Error('no IndexedDB'));
      return;
    }
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function withStore(mode, action) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const result = action(tx.objectStore(STORE));
    tx.oncomplete = () => { db.close(); resolve(result && result.result); };
    tx.onerror = () => { db.close(); reject(tx.error); };
  });
}

export async function rememberFile(file) {
  try {
    await withStore('readwrite', (store) => store.put({ blob: file, name: file.name, type: file.type, at: Date.now() }, 'file'));
  } catch (error) { /* private mode or no space: resuming is a convenience */ }
}

export async function storedFile() {
  try {
    const entry = await withStore('readonly', (store) => store.get('file'));
    if (!entry || !entry.blob) return null;
    return new File([entry.blob], entry.name, { type: entry.type });
  } catch (error) {
    return null;
  }
}

export function rememberText(fields) {
  try {
    localStorage.setItem(TEXT_KEY, JSON.stringify(fields));
  } catch (error) { /* ignore: see rememberFile */ }
}

export function storedText() {
  try {
    return JSON.parse(localStorage.getItem(TEXT_KEY) || 'null');
  } catch (error) {
    return null;
  }
}

// The file alone, when the server refused it for good (a duplicate, rejected content, not a real
// image): offering to resume it would only be refused again. The typed text stays.
export async function forgetFile() {
  try { await withStore('readwrite', (store) => store.delete('file')); } catch (error) { /* ignore */ }
}

export async function forget() {
  try { localStorage.removeItem(TEXT_KEY); } catch (error) { /* ignore */ }
  await forgetFile();
}

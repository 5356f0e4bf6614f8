// Seed the origin as the AirPrompts app leaves it: `local` (key to the exact stored
// text) into localStorage, in its order, and `records` (AirPromptsDB records, each
// with its `key`) into AirPromptsDB's "storage" store, created as the app creates it.
// `clear` empties localStorage first. Run by page.evaluate in a same-origin page that
// does not boot Python (tests/e2e/blank.html); read by tests/e2e/matrix.py (SEED_JS,
// seed_store) for the e2e tests, and by the benchmark (tests/bench/run.py).
async ({ local = {}, records = [], clear = false }) => {
  if (clear) localStorage.clear();
  for (const [key, value] of Object.entries(local)) localStorage.setItem(key, value);
  if (!records.length) return;
  await new Promise((resolve, reject) => {
    const req = indexedDB.open("AirPromptsDB", 1);
    req.onupgradeneeded = () => req.result.createObjectStore("storage", { keyPath: "key" });
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const db = req.result;
      const tx = db.transaction("storage", "readwrite");
      for (const record of records) tx.objectStore("storage").put(record);
      tx.oncomplete = () => {
        db.close();
        resolve();
      };
      tx.onerror = () => reject(tx.error);
    };
  });
}

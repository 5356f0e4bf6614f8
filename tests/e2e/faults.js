// Test seam for end-to-end fault tests: make the storage bridge throw a named
// browser error at the `after`-th and later calls of one operation.
globalThis.__airpromptsSetFault = (operation, errorName, after) => {
  if (!operation) {
    delete globalThis.__airpromptsFault;
    return;
  }
  let calls = 0;
  globalThis.__airpromptsFault = (op) => {
    if (op !== operation) return;
    calls += 1;
    if (calls > after) {
      const error = new Error(`injected ${errorName} at ${op}`);
      error.name = errorName;
      throw error;
    }
  };
};

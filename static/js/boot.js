// Boot a page that runs Python on its own main thread through PyScript (the test pages
// of tests/e2e/pages.py): expose the bridges to Python, create window.airprompts, then
// load PyScript. The console page does not: its Python runs in the engine's Worker
// (static/js/console.js), as every host page's does (static/js/loader.js).
import * as storage from "./storage.js";
import * as webcrypto from "./crypto.js";
import * as perf from "./perf.js";
import { createApi, emit } from "./api.js";

globalThis.airpromptsStorage = storage;
globalThis.airpromptsCrypto = webcrypto;
globalThis.airpromptsPerf = perf;
globalThis.airpromptsEmit = emit;
perf.startObservers();
if (!globalThis.airprompts) globalThis.airprompts = createApi();

// What app/main.py asks of the realm it runs in (static/js/worker.js sets the same for a worker).
globalThis.airpromptsHost = {
  search: location.search,
  get options() {
    return globalThis.airpromptsOptions;
  },
  console: Boolean(document.getElementById("console")),
  ready() {
    document.documentElement.dataset.migrationReady = "true";
    globalThis.airprompts.__resolveReady(true);
  },
  fail(message) {
    globalThis.airprompts.__rejectReady(new Error(`AirPrompts Migrate failed to start: ${message}`));
  },
};

// PyScript reports load failures on its own; surface them on the API too.
addEventListener("py:error", (event) => globalThis.airprompts.__rejectReady(event.detail || new Error("Python failed to start")));
await import("../vendor/pyscript/core.js");

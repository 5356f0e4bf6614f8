// Boot the console page: expose the bridges to Python, create window.airprompts,
// then load PyScript (which runs app/main.py with the local Pyodide and wheels).
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

// PyScript reports load failures on its own; surface them on the API too.
addEventListener("py:error", (event) => globalThis.airprompts.__rejectReady(event.detail || new Error("Python failed to start")));
await import("../vendor/pyscript/core.js");

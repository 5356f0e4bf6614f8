// The migration app's own thread: Pyodide and the Python engine run in this
// module Worker, so neither their start-up nor a run is a task on the page's
// main thread. The page side is static/js/engine.js; they talk by messages on
// the worker's one port, so every message arrives in the order it was sent:
//
//   page -> worker  {type: "boot", config, mainUrl, host}     once
//                   {type: "call", id, service, method, args}  window.airprompts calls (JSON text)
//                   {type: "answer", id, result | error}       answers to "ask"
//   worker -> page  {type: "ask", id, kind, args}              localStorage, the fault seam, the page's measurements
//                   {type: "emit", name, text}                 app events (static/js/api.js emit)
//                   {type: "result", id, text}                 answers to "call"
//                   {type: "ready"} | {type: "failed", message}
//
// localStorage exists only on the page: its bridge functions (local*) become "ask"
// round trips, one message per batch of keys (a guarded write is compared and
// written by ONE handler on the page, so no page code can run in between).
// IndexedDB, Web Locks and crypto.subtle run here, in this worker.
import * as storage from "./storage.js";
import * as webcrypto from "./crypto.js";

// storage.js names every function that touches localStorage local*: those run on the page.
const LOCAL = Object.keys(storage).filter((name) => name.startsWith("local") && typeof storage[name] === "function");

let nextId = 1;
const asked = new Map();

function named(name, message) {
  const error = new Error(message);
  error.name = name;
  return error;
}

/** Ask the page for `kind(...args)`; resolve with its answer, reject with its error (name kept). */
function ask(kind, args) {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    asked.set(id, { resolve, reject });
    postMessage({ type: "ask", id, kind, args });
  });
}

// The storage bridge Python sees as js.airpromptsStorage: storage.js itself, with
// localStorage reached through the page.
const bridge = { ...storage };
for (const name of LOCAL) bridge[name] = (...args) => ask(name, args);
// The fault seam's hook lives in the page (tests set it there).
storage.setFaultCheck((operation, detail, count) => ask("checkFaults", [operation, detail, count]));

function memory() {
  const m = performance.memory;
  return m ? [m.usedJSHeapSize, m.totalJSHeapSize, m.jsHeapSizeLimit] : [0, 0, 0];
}

async function boot({ config, mainUrl, host }) {
  const { loadPyodide } = await import(config.interpreter);
  const pyodide = await loadPyodide({ indexURL: new URL("./", config.interpreter).href });
  const files = Object.entries(config.files || {});
  const [, bodies, main] = await Promise.all([
    pyodide.loadPackage(config.packages || [], { messageCallback: () => {} }),
    Promise.all(files.map(([url]) => fetchOk(url).then((r) => r.arrayBuffer()))),
    fetchOk(mainUrl).then((r) => r.text()),
  ]);
  const home = "/home/pyodide/";
  files.forEach(([, path], i) => {
    const target = home + path.replace(/^\.\//, "");
    pyodide.FS.mkdirTree(target.slice(0, target.lastIndexOf("/")));
    pyodide.FS.writeFile(target, new Uint8Array(bodies[i]));
  });
  Object.assign(globalThis, {
    airpromptsStorage: bridge,
    airpromptsCrypto: webcrypto,
    airpromptsPerf: { memory, now: () => performance.now(), drain: () => ask("perfDrain", []) },
    airpromptsEmit: (name, text) => postMessage({ type: "emit", name, text }),
    airpromptsHost: {
      ...host,
      console: false,
      ready: () => postMessage({ type: "ready" }),
      fail: (message) => postMessage({ type: "failed", message: String(message) }),
    },
  });
  pyodide.runPython(`import sys\nif ${JSON.stringify(home.slice(0, -1))} not in sys.path: sys.path.insert(0, ${JSON.stringify(home.slice(0, -1))})`);
  await pyodide.runPythonAsync(main, { filename: home + "app/main.py" });
}

async function fetchOk(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`Cannot load ${url}: HTTP ${response.status}`);
  return response;
}

async function answerCall({ id, service, method, args }) {
  let text;
  try {
    const dispatch = globalThis.__airpromptsDispatch;
    if (typeof dispatch !== "function") throw named("NotReady", "the migration app has not started");
    text = String(await dispatch(service, method, args));
  } catch (error) {
    const payload = { name: "InternalError", message: `${error?.name || "Error"}: ${error?.message || error}`, details: {} };
    text = JSON.stringify({ error: payload });
  }
  postMessage({ type: "result", id, text });
}

addEventListener("message", ({ data }) => {
  if (!data) return;
  if (data.type === "answer") {
    const waiting = asked.get(data.id);
    if (!waiting) return;
    asked.delete(data.id);
    if (data.error) waiting.reject(named(data.error.name || "Error", data.error.message || ""));
    else waiting.resolve(data.result);
  } else if (data.type === "call") {
    answerCall(data);
  } else if (data.type === "boot") {
    boot(data).catch((error) => postMessage({ type: "failed", message: `${error?.name || "Error"}: ${error?.message || error}` }));
  }
});

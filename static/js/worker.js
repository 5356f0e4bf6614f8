// The migration app's own thread: Pyodide and the Python engine run in this
// module Worker, so neither their start-up nor a run is a task on the page's
// main thread. The page side is static/js/engine.js; they talk by messages on
// the worker's one port, so every message arrives in the order it was sent:
//
//   page -> worker  {type: "boot", host}                     once
//                   {type: "call", id, service, method, args}  window.airprompts calls (JSON text)
//                   {type: "answer", id, result | error}       answers to "ask"
//                   {type: "ui", text}                         the console page's events (static/js/console.js)
//   worker -> page  {type: "ask", id, kind, args}              localStorage, the fault seam, the page's measurements
//                   {type: "emit", name, text}                 app events (static/js/api.js emit)
//                   {type: "result", id, text}                 answers to "call"
//                   {type: "ui", text}                         the console's page changes (app/ui/dom.py)
//                   {type: "ready"} | {type: "failed", message}
//
// localStorage exists only on the page: storage.js's page half (storage.PAGE) is
// asked in round trips of plain strings, one message per batch of keys (a guarded
// write is compared and written by ONE handler on the page, so no page code can run
// in between); the UTF-8 bytes Python's texts cross as are made and read here.
// IndexedDB, Web Locks and crypto.subtle run here, in this worker.
import * as storage from "./storage.js";
import * as webcrypto from "./crypto.js";

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

// The storage bridge Python sees as js.airpromptsStorage: storage.js itself, whose
// page half (storage.PAGE: localStorage, plain strings) is asked of the page; the UTF-8
// encoding and decoding and the JSON.parse of the values stay here, off the page.
storage.usePage(Object.fromEntries(Object.keys(storage.PAGE).map((name) => [name, (...args) => ask(name, args)])));
const bridge = storage;
// The fault seam's hook lives in the page (tests set it there).
storage.setFaultCheck((operation, detail, count) => ask("checkFaults", [operation, detail, count]));

function memory() {
  const m = performance.memory;
  return m ? [m.usedJSHeapSize, m.totalJSHeapSize, m.jsHeapSizeLimit] : [0, 0, 0];
}

// The repository's root (this file is static/js/worker.js) and the vendored Pyodide of `make setup`.
const BASE_URL = new URL("../../", import.meta.url).href;
const PYODIDE_URL = new URL("../vendor/pyodide/pyodide.mjs", import.meta.url).href;
const HOME = "/home/pyodide/";

const isRelative = (path) => typeof path === "string" && (path.startsWith("./") || path.startsWith("../"));
const absolute = (path) => (isRelative(path) ? new URL(path, BASE_URL).href : path);

/** Return pyscript.toml (read by Python's tomllib) with its URLs absolute; the [files] targets stay paths. */
function readConfig(pyodide, text) {
  const read = pyodide.runPython("import json, tomllib\nlambda text: json.dumps(tomllib.loads(text))");
  let config;
  try {
    config = JSON.parse(read(text));
  } finally {
    read.destroy();
  }
  config.interpreter = absolute(config.interpreter);
  if (config.interpreter !== PYODIDE_URL) {
    throw new Error(`pyscript.toml names the interpreter ${config.interpreter}; the worker runs ${PYODIDE_URL}`);
  }
  config.packages = (config.packages || []).map(absolute);
  config.files = Object.fromEntries(Object.entries(config.files || {}).map(([url, path]) => [absolute(url), path]));
  return config;
}

/** Return the archive format of a [files] entry whose target is "<folder>/*" (PyScript's rule), else "". */
function archiveFormat(url, path) {
  if (!path.endsWith("/*")) return "";
  const match = /\.(zip|whl|tgz|tar(?:\.gz)?)$/.exec(new URL(url).pathname);
  if (!match) throw new Error(`pyscript.toml: ${url} is not an archive to unpack into ${path}`);
  return match[1];
}

async function boot({ host }) {
  const [{ loadPyodide }, toml, main] = await Promise.all([
    import(PYODIDE_URL),
    fetchOk(new URL("pyscript.toml", BASE_URL)).then((r) => r.text()),
    fetchOk(new URL("app/main.py", BASE_URL)).then((r) => r.text()),
  ]);
  const pyodide = await loadPyodide({ indexURL: new URL("./", PYODIDE_URL).href });
  const config = readConfig(pyodide, toml);
  globalThis.airpromptsConfig = config;
  const files = Object.entries(config.files);
  const [, bodies] = await Promise.all([
    pyodide.loadPackage(config.packages, { messageCallback: () => {} }),
    Promise.all(files.map(([url]) => fetchOk(url).then((r) => r.arrayBuffer()))),
  ]);
  files.forEach(([url, path], i) => {
    const target = HOME + path.replace(/^\.\//, "");
    const format = archiveFormat(url, path);
    if (format) {
      // As PyScript reads "<archive>" = "<folder>/*": unpack into that folder (app/bundle.py builds app/'s zip).
      pyodide.FS.mkdirTree(target.slice(0, -1));
      pyodide.unpackArchive(bodies[i], format, { extractDir: target.slice(0, -1) });
      return;
    }
    pyodide.FS.mkdirTree(target.slice(0, target.lastIndexOf("/")));
    pyodide.FS.writeFile(target, new Uint8Array(bodies[i]));
  });
  Object.assign(globalThis, {
    airpromptsStorage: bridge,
    airpromptsCrypto: webcrypto,
    airpromptsPerf: { memory, now: () => performance.now(), drain: () => ask("perfDrain", []) },
    airpromptsEmit: (name, text) => postMessage({ type: "emit", name, text }),
    airpromptsUi: { post: (text) => postMessage({ type: "ui", text }) },
    airpromptsHost: {
      ...host,
      console: Boolean(host.console),
      ready: () => postMessage({ type: "ready" }),
      fail: (message) => postMessage({ type: "failed", message: String(message) }),
    },
  });
  const home = JSON.stringify(HOME.slice(0, -1));
  pyodide.runPython(`import sys\nif ${home} not in sys.path: sys.path.insert(0, ${home})`);
  await pyodide.runPythonAsync(main, { filename: HOME + "app/main.py" });
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
    // app/main.py answer gives a large answer as UTF-8 bytes.
    const value = await dispatch(service, method, typeof args === "string" ? storage.out(args) : args);
    // A large answer comes as UTF-8 bytes: decoded here, the page only clones the string.
    text = value instanceof Uint8Array ? storage.textOf(value) : String(value);
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
  } else if (data.type === "ui") {
    globalThis.__airpromptsUi?.(data.text);
  } else if (data.type === "boot") {
    boot(data).catch((error) => postMessage({ type: "failed", message: `${error?.name || "Error"}: ${error?.message || error}` }));
  }
});

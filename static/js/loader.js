// The AirPrompts web app's entry to the migration: a small ES module that loads
// PyScript and Pyodide only when they can be needed.
//
//   import { airprompts, migrationMayBeNeeded, loadMigration } from "/static/js/loader.js";
//
// - migrationMayBeNeeded(): synchronous, localStorage only, a few microseconds.
//   True when
//     * the recorded version (airprompts_schema_version, else airprompts_data_version;
//       quoted or not, "3.0" = "3.0.0") is not 3.0.0 while app data or a legacy key
//       exists (the planner's rule: a 3.0.0 store keeps its legacy keys read-only
//       during the dual-read period, they do not make a migration needed), or
//     * localStorage holds "airprompts_migrate_pending": the migration service's
//       journal lives in IndexedDB, which JavaScript cannot read synchronously, so
//       the service sets this flag before its journal exists and removes it after
//       the journal is gone (app/services/migration.py); an interrupted run then
//       loads the app on the next visit and recovers, even once the stored version
//       already reads 3.0.0.
//   An unrecorded store whose data lives only in AirPromptsDB is found by an
//   asynchronous indexedDB.databases() check before the automatic load.
// - airprompts: window.airprompts (static/js/api.js createApi()), created at once;
//   the first method call loads the migration app, then runs. `airprompts.ready`
//   resolves only once the app is loaded (call loadMigration() to force it).
// - loadMigration({autostart}): load once; resolves with the API when Python is ready.
//   `autostart: false` stops app/main.py from starting a needed migration by itself.
// - Automatic load when a migration may be needed, unless
//   globalThis.airpromptsOptions = {lazy: true} is set before this module runs.
//
// Paths: PyScript resolves the relative paths of a config file against the PAGE,
// not the config's URL (checked in Chromium: a page in /examples/ asked for
// /examples/static/vendor/pyodide/pyodide.mjs). So the loader fetches
// <base>/pyscript.toml, reads it with a small TOML-subset parser, makes every URL
// in it absolute against <base> (the folder holding static/js/loader.js, from
// import.meta.url) and passes the result inline as JSON in the script's config
// attribute. The targets of [files] are paths in Python's file system and stay.
import { createApi, emit, METHODS } from "./api.js";

export const TARGET_VERSION = "3.0.0";
export const PENDING_FLAG = "airprompts_migrate_pending";
export const BASE_URL = new URL("../../", import.meta.url).href;

// Keys whose presence means the store holds AirPrompts data (app/core/keys.py MANAGED_KEYS).
const DATA_NAMES = [
  "templates",
  "workflows",
  "snippets",
  "folders",
  "tags",
  "favorites",
  "recent_items",
  "ui_preferences",
  "user_settings",
  "theme_preference",
];
const DATA_KEYS = new Set(DATA_NAMES.map((name) => `airprompts_${name}`));
// data.md section 1, legacy table (ap_<anything> is checked by prefix).
const LEGACY_KEYS = new Set([
  "templates",
  "workflows",
  "snippets",
  "folders",
  "tags",
  "favorites",
  "recent_items",
  "user_settings",
  "airprompts-templates",
  "airprompts-workflows",
  "airprompts-snippets",
  "ui-prefs",
  "theme",
]);

function normalizeVersion(text) {
  if (text == null) return null;
  let value = String(text).trim();
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1).trim();
  if (!value) return null;
  const match = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(value);
  if (!match) return value;
  return [match[1], match[2] || "0", match[3] || "0"].map(Number).join(".");
}

function recordedVersion(store) {
  return normalizeVersion(store.getItem("airprompts_schema_version") ?? store.getItem("airprompts_data_version"));
}

function storageOrNull() {
  try {
    return globalThis.localStorage ?? null;
  } catch (_) {
    return null; // SecurityError: storage blocked for this page
  }
}

/** Return whether the stored data may need a migration (synchronous, localStorage only). */
export function migrationMayBeNeeded() {
  const store = storageOrNull();
  if (!store) return false;
  if (store.getItem(PENDING_FLAG) !== null) return true;
  if (recordedVersion(store) === TARGET_VERSION) return false;
  for (let i = 0; i < store.length; i++) {
    const key = store.key(i);
    if (DATA_KEYS.has(key) || LEGACY_KEYS.has(key) || (key.startsWith("ap_") && key.length > 3)) return true;
  }
  return false;
}

async function appDatabaseExists() {
  if (!globalThis.indexedDB?.databases) return false;
  try {
    return (await indexedDB.databases()).some((db) => db.name === "AirPromptsDB");
  } catch (_) {
    return false;
  }
}

// ---------------------------------------------------------------- TOML subset

/** Parse the TOML subset pyscript.toml uses: tables, (quoted) keys, strings, arrays, booleans, numbers, inline tables. */
export function parseToml(text) {
  let pos = 0;
  const root = {};
  let table = root;
  const fail = (what) => {
    const line = text.slice(0, pos).split("\n").length;
    throw new SyntaxError(`pyscript.toml line ${line}: ${what}`);
  };
  const skip = (newlines) => {
    for (;;) {
      const c = text[pos];
      if (c === " " || c === "\t" || c === "\r" || (newlines && c === "\n")) pos++;
      else if (c === "#") while (pos < text.length && text[pos] !== "\n") pos++;
      else return;
    }
  };
  const string = () => {
    const quote = text[pos++];
    let out = "";
    while (pos < text.length && text[pos] !== quote) {
      let c = text[pos++];
      if (c === "\n") fail("newline in a string");
      if (c === "\\" && quote === '"') {
        const e = text[pos++];
        const simple = { b: "\b", t: "\t", n: "\n", f: "\f", r: "\r", '"': '"', "\\": "\\" };
        if (e in simple) c = simple[e];
        else if (e === "u" || e === "U") {
          const size = e === "u" ? 4 : 8;
          c = String.fromCodePoint(parseInt(text.slice(pos, pos + size), 16));
          pos += size;
        } else fail(`unknown escape \\${e}`);
      }
      out += c;
    }
    if (text[pos++] !== quote) fail("unterminated string");
    return out;
  };
  const key = () => {
    const parts = [];
    for (;;) {
      skip(false);
      if (text[pos] === '"' || text[pos] === "'") parts.push(string());
      else {
        const m = /^[A-Za-z0-9_-]+/.exec(text.slice(pos));
        if (!m) fail("expected a key");
        parts.push(m[0]);
        pos += m[0].length;
      }
      skip(false);
      if (text[pos] !== ".") return parts;
      pos++;
    }
  };
  const value = () => {
    skip(false);
    const c = text[pos];
    if (c === '"' || c === "'") return string();
    if (c === "[") {
      pos++;
      const items = [];
      for (;;) {
        skip(true);
        if (text[pos] === "]") break;
        items.push(value());
        skip(true);
        if (text[pos] === ",") pos++;
        else if (text[pos] !== "]") fail("expected , or ] in an array");
      }
      pos++;
      return items;
    }
    if (c === "{") {
      pos++;
      const obj = {};
      skip(false);
      if (text[pos] === "}") return pos++, obj;
      for (;;) {
        assign(obj);
        skip(false);
        if (text[pos] === "}") return pos++, obj;
        if (text[pos++] !== ",") fail("expected , or } in an inline table");
      }
    }
    const m = /^(true|false|[+-]?\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(pos));
    if (!m) fail("unsupported value");
    pos += m[0].length;
    if (m[0] === "true" || m[0] === "false") return m[0] === "true";
    return Number(m[0].replace(/_/g, ""));
  };
  const descend = (obj, parts) => {
    for (const part of parts) {
      if (!(part in obj)) obj[part] = {};
      obj = obj[part];
      if (typeof obj !== "object" || Array.isArray(obj)) fail(`${parts.join(".")} is not a table`);
    }
    return obj;
  };
  const assign = (obj) => {
    const parts = key();
    if (text[pos++] !== "=") fail("expected =");
    const last = parts.pop();
    const target = descend(obj, parts);
    if (last in target) fail(`duplicate key ${last}`);
    target[last] = value();
  };
  for (;;) {
    skip(true);
    if (pos >= text.length) return root;
    if (text[pos] === "[") {
      if (text[pos + 1] === "[") fail("arrays of tables are not supported");
      pos++;
      const parts = key();
      if (text[pos++] !== "]") fail("expected ]");
      table = descend(root, parts);
    } else {
      assign(table);
    }
    skip(false);
    if (pos < text.length && text[pos] !== "\n") fail("expected the end of the line");
  }
}

const isRelative = (path) => typeof path === "string" && (path.startsWith("./") || path.startsWith("../"));
const absolute = (path, base) => (isRelative(path) ? new URL(path, base).href : path);

/** Return ``config`` (parsed pyscript.toml) with every URL made absolute against ``base``. */
export function absoluteConfig(config, base = BASE_URL) {
  const out = { ...config };
  if (out.interpreter) out.interpreter = absolute(out.interpreter, base);
  if (Array.isArray(out.packages)) out.packages = out.packages.map((p) => absolute(p, base));
  if (out.files) {
    // Keys are URLs to fetch; values are paths in Python's file system.
    out.files = Object.fromEntries(Object.entries(out.files).map(([url, path]) => [absolute(url, base), path]));
  }
  if (out.js_modules) {
    out.js_modules = Object.fromEntries(
      Object.entries(out.js_modules).map(([where, modules]) => [
        where,
        Object.fromEntries(Object.entries(modules).map(([url, name]) => [absolute(url, base), name])),
      ]),
    );
  }
  return out;
}

// ---------------------------------------------------------------- API and loading

const options = { ...(globalThis.airpromptsOptions || {}) };
let loading = null;

function makeApi() {
  const api = createApi();
  // The first call of any method loads the app; createApi's methods then wait for ready.
  for (const [service, methods] of Object.entries(METHODS)) {
    for (const method of methods) {
      const call = api[service][method];
      api[service][method] = (...args) => {
        loadMigration().catch(() => {}); // its failure rejects api.ready, which the call awaits
        return call(...args);
      };
    }
  }
  return api;
}

export const airprompts = globalThis.airprompts ?? (globalThis.airprompts = makeApi());

/** Return whether loading PyScript has started. */
export function isLoading() {
  return loading !== null;
}

/** Load PyScript, Pyodide and the migration app once; resolve with the API when it is ready. */
export function loadMigration(opts = {}) {
  if (loading) return loading;
  Object.assign(options, opts);
  loading = start().catch((error) => {
    airprompts.__rejectReady?.(error);
    throw error;
  });
  return loading;
}

async function start() {
  const base = BASE_URL;
  // Read by app/main.py: autostart false leaves a needed migration to the caller.
  globalThis.airpromptsOptions = { ...(globalThis.airpromptsOptions || {}), autostart: options.autostart !== false };
  const [storage, webcrypto, perf, response] = await Promise.all([
    import("./storage.js"),
    import("./crypto.js"),
    import("./perf.js"),
    fetch(new URL("pyscript.toml", base), { cache: "no-cache" }),
  ]);
  if (!response.ok) throw new Error(`Cannot load ${response.url}: HTTP ${response.status}`);
  const config = absoluteConfig(parseToml(await response.text()), base);
  // The same globals static/js/boot.js sets on the console page.
  globalThis.airpromptsStorage = storage;
  globalThis.airpromptsCrypto = webcrypto;
  globalThis.airpromptsPerf = perf;
  globalThis.airpromptsEmit = emit;
  perf.startObservers();
  addEventListener("py:error", (event) => airprompts.__rejectReady(event.detail || new Error("Python failed to start")));
  const script = document.createElement("script");
  script.type = "py";
  script.src = new URL("app/main.py", base).href;
  script.setAttribute("config", JSON.stringify(config));
  (document.body || document.documentElement).appendChild(script);
  await import(new URL("static/vendor/pyscript/core.js", base).href);
  await airprompts.ready;
  return airprompts;
}

async function autoload() {
  if (options.lazy) return;
  if (migrationMayBeNeeded()) {
    loadMigration().catch((error) => console.error("[airprompts] migration app failed to load:", error));
    return;
  }
  const store = storageOrNull();
  // Unrecorded data that lives only in IndexedDB: invisible to the synchronous check.
  if (store && recordedVersion(store) !== TARGET_VERSION && (await appDatabaseExists())) {
    loadMigration().catch((error) => console.error("[airprompts] migration app failed to load:", error));
  }
}

autoload();

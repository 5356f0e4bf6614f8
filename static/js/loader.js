// The AirPrompts web app's entry to the migration: a small ES module that loads
// Pyodide, in a Worker, only when it can be needed.
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
//       the journal is gone (app/services/journal.py); an interrupted run then
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
// Loading starts a module Worker (static/js/engine.js, static/js/worker.js): Pyodide,
// the wheels and app/ load and run there, never in this page's realm; the worker
// reads pyscript.toml (with Python's tomllib) from the folder holding static/js/.
import { createApi, METHODS } from "./api.js";

import {
  APP_DB,
  COLLECTIONS,
  DATA_VERSION_KEY,
  LEGACY_KEYS as LEGACY_TABLE,
  LEGACY_PREFIX,
  PENDING_FLAG,
  PREFIX,
  SCHEMA_VERSION_KEY,
  TARGET_VERSION,
  VALUES,
} from "./constants.js";

export { PENDING_FLAG, TARGET_VERSION };

// Keys whose presence means the store holds AirPrompts data (app/core/keys.py MANAGED_KEYS),
// and the legacy keys (data.md section 1; ap_<anything> is checked by prefix): constants.js
// is written from the Python that defines them.
const DATA_KEYS = new Set([...COLLECTIONS, ...VALUES].map((name) => PREFIX + name));
const LEGACY_KEYS = new Set(Object.keys(LEGACY_TABLE));

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
  return normalizeVersion(store.getItem(SCHEMA_VERSION_KEY) ?? store.getItem(DATA_VERSION_KEY));
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
    if (DATA_KEYS.has(key) || LEGACY_KEYS.has(key) || (key.startsWith(LEGACY_PREFIX) && key.length > 3)) return true;
  }
  return false;
}

async function appDatabaseExists() {
  if (!globalThis.indexedDB?.databases) return false;
  try {
    return (await indexedDB.databases()).some((db) => db.name === APP_DB);
  } catch (_) {
    return false;
  }
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
  const [{ startEngine }, perf] = await Promise.all([import("./engine.js"), import("./perf.js")]);
  perf.startObservers();
  const page = globalThis.airpromptsOptions || {};
  // Read by app/main.py in the worker: autostart false leaves a needed migration to the caller.
  const host = {
    search: location.search,
    options: { autostart: options.autostart !== false, ...(page.warmUp === false ? { warmUp: false } : {}) },
  };
  const engine = startEngine({
    host,
    onReady: () => {
      document.documentElement.dataset.migrationReady = "true";
      airprompts.__resolveReady(true);
    },
    onFail: (error) => airprompts.__rejectReady(error),
  });
  globalThis.__airpromptsDispatch = engine.dispatch;
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

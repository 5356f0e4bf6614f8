// window.airprompts: the JavaScript face of the Python services.
// Every method returns a Promise of plain JSON values; Python answers through one
// dispatcher with JSON text, so no Python proxy ever reaches the caller, and
// errors arrive as Error objects whose name says what failed.
import { TARGET_VERSION } from "./constants.js";

export const METHODS = {
  dataMigrationService: [
    "checkMigrationStatus",
    "runPendingMigrations",
    "startProgressiveMigration",
    "getMigrationProgress",
    "getHistory",
    "dryRun",
    "pauseMigration",
    "resumeMigration",
    "getLastReport",
    "getQuarantine",
    "recover",
    "waitUntilIdle",
  ],
  compatibilityLayer: [
    "get",
    "save",
    "isMigrated",
    "getMigrationStats",
    "setDualReadMode",
    "getDualReadMode",
    "getStored",
    "getStoredKeys",
  ],
  backupService: [
    "createFullBackup",
    "createIncrementalBackup",
    "listBackups",
    "verifyBackup",
    "restoreBackup",
    "deleteBackup",
    "exportBackup",
    "importBackup",
  ],
  migrationLogger: ["setLogLevel", "getLogLevel", "queryLogs", "exportLogs", "log"],
  performanceMonitor: ["getMetrics"],
};

// The DOM target of the app's events: "airprompts:progress", "airprompts:phase",
// "airprompts:complete", "airprompts:failed", "airprompts:log", "airprompts:backup".
export const EVENT_TARGET = typeof window !== "undefined" ? window : globalThis;

// Large texts cross to Python as UTF-8 bytes, and large answers come back so (app/main.py
// answer): Pyodide converts a non-ASCII string one UTF-16 unit at a time. JSON.stringify
// writes well-formed text, which UTF-8 holds exactly; ignoreBOM keeps a leading U+FEFF.
const FAST_TEXT_MIN = 32 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { ignoreBOM: true, fatal: true });
const toPython = (text) => (text.length >= FAST_TEXT_MIN && text.isWellFormed() ? encoder.encode(text) : text);
const fromPython = (value) => (typeof value === "string" ? value : decoder.decode(value));

/** Return the JS Error of an error payload ({name, message, details}); an Error stays itself. */
export function toError(payload) {
  if (payload instanceof Error) return payload;
  const error = new Error(payload?.message || payload?.name || "AirPrompts Migrate failed");
  error.name = payload?.name || "MigrateError";
  if (payload?.details) error.details = payload.details;
  return error;
}

export function createApi() {
  let resolveReady;
  let rejectReady;
  const ready = new Promise((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  const api = { ready, version: TARGET_VERSION, eventTarget: EVENT_TARGET };

  async function call(service, method, args) {
    await ready;
    const dispatch = globalThis.__airpromptsDispatch;
    // Arguments travel as JSON text: undefined becomes null, like JSON.stringify does.
    const argsJson = JSON.stringify(args.map((a) => (a === undefined ? null : a)));
    // A dispatcher that takes text (static/js/engine.js: Python in a worker) encodes it there, off this page.
    const payload = dispatch.takesText ? argsJson : toPython(argsJson);
    const answer = JSON.parse(fromPython(await dispatch(service, method, payload)));
    if (answer.error) throw toError(answer.error);
    if (method === "getMigrationProgress" && !answer.result.running) {
      // This tab runs nothing: show the run another tab reports, if any.
      return lastRemoteProgress() || answer.result;
    }
    return answer.result;
  }

  for (const [service, methods] of Object.entries(METHODS)) {
    api[service] = {};
    for (const method of methods) {
      api[service][method] = (...args) => call(service, method, args);
    }
  }

  // Devtools switch: `airprompts.debug = true` turns on DEBUG logs ("[airprompts]" prefix in the console).
  let debug = false;
  Object.defineProperty(api, "debug", {
    enumerable: true,
    get: () => debug,
    set: (value) => {
      debug = Boolean(value);
      api.migrationLogger.setLogLevel(debug ? "DEBUG" : "INFO").catch((error) => console.error("[airprompts]", error));
    },
  });

  api.on = (name, listener) => {
    const handler = (event) => listener(event.detail);
    EVENT_TARGET.addEventListener(`airprompts:${name}`, handler);
    return () => EVENT_TARGET.removeEventListener(`airprompts:${name}`, handler);
  };

  Object.defineProperty(api, "__resolveReady", { value: resolveReady, enumerable: false });
  Object.defineProperty(api, "__rejectReady", { value: rejectReady, enumerable: false });
  return api;
}

// Tabs of the origin share their migration events, so a tab that got
// MigrationInProgress can watch the run another tab is doing.
const RELAYED = new Set(["progress", "phase", "complete", "failed"]);
const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("airprompts-migrate") : null;
let remoteProgress = null;

if (channel) {
  channel.onmessage = (message) => {
    const { name, detail } = message.data || {};
    if (!RELAYED.has(name)) return;
    if (name === "progress") remoteProgress = { ...detail, running: true, remote: true, seenAt: Date.now() };
    if (name === "complete" || name === "failed") remoteProgress = null;
    EVENT_TARGET.dispatchEvent(new CustomEvent(`airprompts:${name}`, { detail: { ...detail, remote: true } }));
  };
}

// The newest progress another tab reported in the last few seconds, or null.
export function lastRemoteProgress() {
  if (remoteProgress && Date.now() - remoteProgress.seenAt < 5000) return remoteProgress;
  return null;
}

// Called by Python with (name, JSON text): one CustomEvent per app event.
export function emit(name, detailText) {
  const detail = JSON.parse(detailText);
  EVENT_TARGET.dispatchEvent(new CustomEvent(`airprompts:${name}`, { detail }));
  if (channel && RELAYED.has(name)) channel.postMessage({ name, detail });
}

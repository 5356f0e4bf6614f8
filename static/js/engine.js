// The page's half of the migration app when Python runs in a Worker
// (static/js/worker.js holds the protocol). The page keeps only what exists only
// here: localStorage, the DOM events, the ready signals and the fault seam's
// hook. Each answer is one synchronous handler: a guarded localStorage write
// compares and writes in the same task, so no other page code runs in between.
// Nothing here loads Pyodide: the page's realm never compiles it.
import * as storage from "./storage.js";
import * as perf from "./perf.js";
import { emit } from "./api.js";

// What the worker may ask: storage.js's page half (localStorage, plain strings), the fault seam, the page's measurements.
const ANSWERS = {
  ...storage.PAGE,
  checkFaults: storage.checkFaults,
  perfDrain: perf.drain,
};

function errorPayload(error) {
  return { name: error?.name || "Error", message: String(error?.message ?? error) };
}

/**
 * Start the worker and boot Python in it; return {dispatch, worker}.
 * `dispatch(service, method, argsJson)` resolves with the JSON text app/api.py answers.
 * `onReady()` runs once Python is ready, `onFail(error)` if it cannot start or the worker dies.
 * The console page (static/js/console.js) also passes `onUi(text)`, called with each batch of
 * its remote DOM's changes, and sends the page's events back with `sendUi(text)`.
 */
export function startEngine({ host, onReady, onFail, onUi }) {
  const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: "airprompts-migrate" });
  const calls = new Map();
  let nextId = 1;
  let failed = null;

  const fail = (error) => {
    if (failed) return;
    failed = error;
    for (const { reject } of calls.values()) reject(error);
    calls.clear();
    onFail(error);
  };

  worker.onmessage = ({ data }) => {
    switch (data?.type) {
      case "ask": {
        const answer = ANSWERS[data.kind];
        let reply;
        try {
          if (!answer) throw Object.assign(new Error(`unknown request ${data.kind}`), { name: "NotSupportedError" });
          reply = { type: "answer", id: data.id, result: answer(...data.args) };
        } catch (error) {
          reply = { type: "answer", id: data.id, error: errorPayload(error) };
        }
        worker.postMessage(reply);
        break;
      }
      case "emit":
        measure(data.name, data.text);
        emit(data.name, data.text);
        break;
      case "result": {
        const call = calls.get(data.id);
        if (call) {
          calls.delete(data.id);
          call.resolve(data.text);
        }
        break;
      }
      case "ui":
        onUi?.(data.text);
        break;
      case "ready":
        onReady();
        break;
      case "failed":
        fail(new Error(`AirPrompts Migrate failed to start: ${data.message}`));
        break;
      default:
        break;
    }
  };
  worker.onerror = (event) => {
    event.preventDefault?.();
    fail(new Error(`AirPrompts Migrate worker failed: ${event.message || "could not load"}`));
  };

  // Frames are sampled while a run goes (app/main.py PageMeasurements drains them with the long tasks).
  let measuredRun = null;
  const measure = (name, text) => {
    if (name === "phase") {
      const runId = JSON.parse(text).runId;
      if (runId && runId !== measuredRun) {
        measuredRun = runId;
        perf.drain(); // what came before the run is not the run's
        perf.startFrameSampling();
      }
    } else if (name === "complete" || name === "failed") {
      measuredRun = null;
      perf.stopFrameSampling();
    }
  };

  const dispatch = (service, method, argsJson) =>
    new Promise((resolve, reject) => {
      if (failed) return reject(failed);
      const id = nextId++;
      calls.set(id, { resolve, reject });
      worker.postMessage({ type: "call", id, service, method, args: argsJson });
    });
  // static/js/api.js sends the JSON text as it is: the worker makes the UTF-8 bytes Python takes.
  dispatch.takesText = true;

  // A closed or reloaded page ends its worker at once, so the worker's Web Lock is free for the next load.
  addEventListener("pagehide", (event) => {
    if (!event.persisted) worker.terminate();
  });
  const sendUi = (text) => worker.postMessage({ type: "ui", text });
  worker.postMessage({ type: "boot", host });
  return { dispatch, worker, sendUi };
}

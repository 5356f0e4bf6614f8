// React hooks over window.airprompts, as the AirPrompts migration guide uses them:
//
//   import { useMigration, useCompatibleStorage } from "/static/js/react.js";
//   const migration = useMigration();       // {needsMigration, status, progress, result, error, start, pause, resume}
//   const storage = useCompatibleStorage(); // {get(name), save(name, value)} through the compatibility layer
//
// React is the host's: "react" is a peer import its bundler (or import map) resolves, never
// bundled here. The state lives in one store per API object, fed by the API's events and read
// with useSyncExternalStore, so every component sees the same run and none polls.
import { useMemo, useSyncExternalStore } from "react";
import { toError } from "./api.js";
import { airprompts as defaultApi, isLoading, migrationMayBeNeeded } from "./loader.js";

const stores = new WeakMap();

// status: "checking" before the first answer, then "idle" (a migration is needed and not running),
// "not-needed", "running", "paused", "complete" or "failed".
const INITIAL = Object.freeze({
  needsMigration: null,
  status: "checking",
  progress: null,
  result: null,
  error: null,
  migrationStatus: null,
});

function createStore(api) {
  let state = INITIAL;
  const listeners = new Set();
  let detach = null;

  const set = (changes) => {
    state = Object.freeze({ ...state, ...changes });
    for (const listener of listeners) listener();
  };

  const refresh = async () => {
    try {
      const status = await api.dataMigrationService.checkMigrationStatus();
      // A run's outcome stands until a new run's progress says otherwise: just after "complete"
      // the service still reports running for a moment while it releases the lock.
      const ended = state.status === "complete" || state.status === "failed";
      let next = status.needed ? "idle" : "not-needed";
      if (ended) next = state.status;
      else if (status.running) next = state.status === "paused" ? "paused" : "running";
      set({ migrationStatus: status, needsMigration: Boolean(status.needed), status: next });
      if (status.running && !ended) set({ progress: await api.dataMigrationService.getMigrationProgress() });
    } catch (error) {
      set({ error: toError(error), status: "failed" });
    }
  };

  // Current (3.0.0) data costs nothing: no call loads Python only to hear "not needed".
  // Should the loader load it anyway (unrecorded data found in IndexedDB), ready tells us.
  const cheap = () => api === defaultApi && !isLoading() && !migrationMayBeNeeded();

  const attach = () => {
    const offs = [
      api.on("progress", (progress) => set({ progress, status: progress.paused ? "paused" : "running", error: null })),
      api.on("complete", (result) => {
        set({ result, status: "complete", needsMigration: false, error: null });
        refresh();
      }),
      api.on("failed", (detail) => {
        set({ status: "failed", error: toError(detail.error) });
        refresh();
      }),
    ];
    if (cheap()) {
      set({ needsMigration: false, status: "not-needed" });
      api.ready.then(refresh, () => {});
    } else {
      refresh();
    }
    return () => offs.forEach((off) => off());
  };

  const act = async (work, during) => {
    const before = state.status;
    if (during) set(during);
    try {
      return await work();
    } catch (error) {
      // Nothing started (another tab's run, wrong options): back to what was, then ask again.
      set({ error: toError(error), status: before === "checking" ? "failed" : before });
      refresh();
      throw error;
    }
  };

  return {
    subscribe(listener) {
      listeners.add(listener);
      if (!detach) detach = attach();
      return () => {
        listeners.delete(listener);
        if (!listeners.size && detach) {
          detach();
          detach = null;
        }
      };
    },
    getSnapshot: () => state,
    start: (options) =>
      act(() => api.dataMigrationService.startProgressiveMigration(options), { status: "running", error: null, result: null }),
    pause: () => act(() => api.dataMigrationService.pauseMigration(), { status: "paused" }),
    resume: () => act(() => api.dataMigrationService.resumeMigration(), { status: "running" }),
    refresh,
  };
}

function storeOf(api) {
  let store = stores.get(api);
  if (!store) {
    store = createStore(api);
    stores.set(api, store);
  }
  return store;
}

/** Follow the migration: its state from the API's events, and start/pause/resume. */
export function useMigration(api = defaultApi) {
  const store = storeOf(api);
  const state = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
  return useMemo(
    () => ({ ...state, start: store.start, pause: store.pause, resume: store.resume, refresh: store.refresh }),
    [state, store],
  );
}

/** Read and write the app's data through the compatibility layer: 3.0.0 shapes whatever the stored version. */
export function useCompatibleStorage(api = defaultApi) {
  return useMemo(
    () => ({
      get: (name) => api.compatibilityLayer.get(name),
      save: (name, value) => api.compatibilityLayer.save(name, value),
      isMigrated: (name) => api.compatibilityLayer.isMigrated(name),
    }),
    [api],
  );
}

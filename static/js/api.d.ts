// Types of static/js/api.js: the JavaScript shell of window.airprompts.
import type { AirpromptsApi, EventName, MigrationProgress } from "./airprompts.js";

/** Every method of every service, by service. */
export declare const METHODS: { readonly [service: string]: readonly string[] };
export declare const EVENT_TARGET: EventTarget;
export declare function createApi(): AirpromptsApi;
/** The JS Error of an error payload ({name, message, details}); an Error stays itself. */
export declare function toError(payload: unknown): Error & { details?: Record<string, unknown> };
/** The newest progress another tab reported in the last few seconds, or null. */
export declare function lastRemoteProgress(): (MigrationProgress & { remote: true; seenAt: number }) | null;
/** Called by Python: dispatch one "airprompts:<name>" CustomEvent whose detail is ``detailText`` parsed. */
export declare function emit(name: EventName | (string & {}), detailText: string): void;

// Types of static/js/loader.js: the lazy entry the AirPrompts web app imports (Python runs in a Worker).
import type { AirpromptsApi } from "./airprompts.js";

export * from "./airprompts.js";

export declare const TARGET_VERSION: "3.0.0";
/** localStorage key the migration service keeps while its journal exists. */
export declare const PENDING_FLAG: "airprompts_migrate_pending";
/** window.airprompts; its first method call loads the migration app. */
export declare const airprompts: AirpromptsApi;

/** Whether the stored data may need a migration (synchronous, localStorage only, microseconds). */
export declare function migrationMayBeNeeded(): boolean;
/** Whether loading PyScript has started. */
export declare function isLoading(): boolean;
/** Load PyScript, Pyodide and the migration app once; resolve with the API when it is ready. */
export declare function loadMigration(options?: { autostart?: boolean }): Promise<AirpromptsApi>;

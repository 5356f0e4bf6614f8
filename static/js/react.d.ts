// Types of static/js/react.js: the React hooks (React itself is the host's peer dependency).
import type {
  AirpromptsApi,
  AirpromptsError,
  DataKey,
  DataOf,
  MigrationProgress,
  MigrationStatus,
  RunOptions,
  RunResult,
  SaveResult,
  SaveValue,
  StartedRun,
} from "./airprompts.js";

/** "checking" until the first answer; "idle" when a migration is needed and not running. */
export type MigrationHookStatus = "checking" | "idle" | "not-needed" | "running" | "paused" | "complete" | "failed";

export interface MigrationState {
  /** null until known. */
  needsMigration: boolean | null;
  status: MigrationHookStatus;
  progress: MigrationProgress | null;
  result: RunResult | null;
  error: AirpromptsError | null;
  /** The last checkMigrationStatus() answer. */
  migrationStatus: MigrationStatus | null;
}

export interface UseMigration extends MigrationState {
  /** startProgressiveMigration(options); rejects (and sets error) as the API does. */
  start(options?: RunOptions | null): Promise<StartedRun>;
  pause(): Promise<null>;
  resume(): Promise<null>;
  /** Ask checkMigrationStatus() again. */
  refresh(): Promise<void>;
}

export interface CompatibleStorage {
  get<K extends DataKey>(name: K): Promise<DataOf<K>>;
  save<K extends DataKey>(name: K, value: SaveValue<K>): Promise<SaveResult>;
  isMigrated(name: DataKey): Promise<boolean>;
}

/** Follow the migration through the API's events (one shared store per API object). */
export declare function useMigration(api?: AirpromptsApi): UseMigration;
/** get and save through the compatibility layer. */
export declare function useCompatibleStorage(api?: AirpromptsApi): CompatibleStorage;

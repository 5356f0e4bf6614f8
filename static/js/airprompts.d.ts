// Types of window.airprompts (static/js/api.js over app/api.py), its events and its errors.
// Every method returns a Promise of plain JSON; every member name the API itself writes is camelCase.
// The user's own data (records, stored values, log context) passes through as stored.

// ---------------------------------------------------------------- names

/** A schema version as the app writes it ("legacy" for data before 1.0.0). */
export type SchemaVersion = "legacy" | "1.0.0" | "2.0.0" | "3.0.0" | (string & {});
export type CollectionName = "templates" | "workflows" | "snippets" | "folders";
export type ValueName = "tags" | "favorites" | "recent_items" | "ui_preferences" | "user_settings" | "theme_preference";
/** What the compatibility layer reads and saves: a short name, or its localStorage key. */
export type DataName = CollectionName | ValueName;
export type DataKey = DataName | `airprompts_${DataName}`;
export type LogLevel = "DEBUG" | "INFO" | "WARN" | "ERROR" | "CRITICAL";
export type LogLevelInput = LogLevel | "WARNING" | Lowercase<LogLevel | "WARNING">;
export type Phase = "idle" | "detect" | "backup" | "transform" | "switch" | "verify" | "complete" | "done" | "failed" | "rollback";
/** Where a value lives: localStorage, or AirPromptsDB/storage. */
export type Area = "local" | "app";

export type ErrorName =
  | "MigrateError"
  | "StorageError"
  | "QuotaExceeded"
  | "TransactionAborted"
  | "StorageUnavailable"
  | "TransientStorageError"
  | "WriteConflict"
  | "MigrationError"
  | "MigrationInProgress"
  | "DataChanged"
  | "PlanError"
  | "ValidationFailed"
  | "VerificationFailed"
  | "RolledBack"
  | "BackupError"
  | "BackupNotFound"
  | "BackupCorrupted"
  | "WrongPassphrase"
  | "NothingChanged"
  | "InvalidInput"
  | "InternalError";

/** The details of a rejected call (camelCase); InvalidInput names the argument and what was expected. */
export interface ErrorDetails {
  /** InvalidInput: the argument ("runId", "options.batchSize", ...), or null for a wrong argument count. */
  argument?: string | null;
  /** InvalidInput: what that argument must be. */
  expected?: string;
  /** InvalidInput: unknown option members that were refused. */
  unknown?: string[];
  backupId?: string;
  runId?: string;
  keys?: string[];
  needed?: number | null;
  available?: number | null;
  browserError?: string;
  cause?: ErrorPayload;
  displaced?: string[];
  /** RolledBack, and QuotaExceeded when the switch found storage full: the data was restored as it was. */
  rolledBack?: boolean;
  [detail: string]: unknown;
}

/** The JSON form of an error, as history entries and "failed" events carry it. */
export interface ErrorPayload {
  name: ErrorName;
  message: string;
  details: ErrorDetails;
}

/** What every method rejects with: an Error whose name says what failed. */
export interface AirpromptsError extends Error {
  name: ErrorName;
  details?: ErrorDetails;
}

// ---------------------------------------------------------------- the user's data (3.0.0)

export interface RecordMetadata {
  schemaVersion: "3.0.0";
  migratedFrom: SchemaVersion;
  sourceKey: string;
  [field: string]: unknown;
}

interface ItemRecord {
  id: string;
  name: string;
  folderId: string | null;
  folderIds: string[];
  tags: string[];
  favorite?: boolean;
  createdAt: string;
  updatedAt: string;
  lastUsed?: string;
  description?: string;
  metadata?: RecordMetadata;
  legacyFields?: Record<string, unknown>;
  /** Fields the app or the user added, kept as they were. */
  [field: string]: unknown;
}

export interface Template extends ItemRecord {
  content: string;
  context: string;
  contextEnabled: boolean;
  variables?: string[];
}

export interface WorkflowStep {
  id?: string;
  type?: "template" | "info" | "insert" | "workflow" | (string & {});
  templateId?: string;
  selectedTemplateId?: string;
  [field: string]: unknown;
}

export interface Workflow extends ItemRecord {
  steps: WorkflowStep[];
}

export interface Snippet extends ItemRecord {
  content: string;
}

export interface Folder {
  id: string;
  name: string;
  parent_id: string | null;
  parentId: string | null;
  sort_order?: number;
  sortOrder?: number;
  createdAt?: string;
  updatedAt?: string;
  metadata?: RecordMetadata;
  [field: string]: unknown;
}

/** What compatibilityLayer.get answers for each name (null: not stored). */
export interface DataTypes {
  templates: Template[];
  workflows: Workflow[];
  snippets: Snippet[];
  folders: Folder[];
  tags: string[];
  favorites: unknown[];
  recent_items: unknown[];
  ui_preferences: { defaultFolderId: string | null; expandedFolders: string[]; [field: string]: unknown } | null;
  user_settings: {
    performance: { enableVirtualization: boolean; enableLazyLoading: boolean; cacheSize: number; [field: string]: unknown };
    [field: string]: unknown;
  } | null;
  theme_preference: string | null;
}
/** What save accepts: records of any known shape for a collection, the value itself otherwise. */
export type SaveValue<K extends DataKey> = ShortName<K> extends CollectionName
  ? Record<string, unknown>[]
  : ShortName<K> extends "tags"
    ? string[]
    : unknown;
type ShortName<K extends DataKey> = K extends `airprompts_${infer N extends DataName}` ? N : K;
export type DataOf<K extends DataKey> = DataTypes[ShortName<K>];

// ---------------------------------------------------------------- options

export interface RunOptions {
  /** Records per batch, 1 to 100000 (default 100). */
  batchSize?: number | null;
  /** Pause between batches in ms, >= 0 (default 0). */
  batchDelayMs?: number | null;
}
export interface DryRunOptions {
  batchSize?: number | null;
}
export interface PassphraseOptions {
  /** Encrypts (or opens) the backup; "" means none. */
  passphrase?: string | null;
}
export interface IncrementalBackupOptions extends PassphraseOptions {
  /** The backup to compare with (default: the newest). */
  baseId?: string | null;
}
export interface RestoreOptions extends PassphraseOptions {
  /** Restore only these keys (localStorage keys or AirPromptsDB keys). */
  keys?: string[] | null;
}
export interface LogQuery {
  /** The minimum level. */
  level?: LogLevelInput | null;
  /** A case-insensitive part of the message or the context. */
  text?: string | null;
  /** Inclusive bounds: epoch milliseconds or ISO 8601 text. */
  since?: number | string | null;
  until?: number | string | null;
  /** At most this many entries (default 100; null: every match). */
  limit?: number | null;
  runId?: string | null;
}

// ---------------------------------------------------------------- results: migration

export interface PlanCollection {
  kind: CollectionName;
  sourceKey: string;
  location: Area;
  authoritative: boolean;
}

export interface Plan {
  fromVersion: SchemaVersion;
  toVersion: "3.0.0";
  steps: string[];
  collections: PlanCollection[];
  values: string[];
  legacyKeys: string[];
  recordedVersion: string | null;
  needed: boolean;
}

export interface MigrationStatus {
  needed: boolean;
  currentVersion: SchemaVersion;
  detectedVersion: SchemaVersion;
  targetVersion: "3.0.0";
  legacyKeys: string[];
  /** Records (or values) per data name, where each is authoritative. */
  counts: Partial<Record<DataName, number>>;
  plan: Plan;
  /** An interrupted run's journal exists (recover() or the next run finishes it). */
  pending: boolean;
  running: boolean;
}

export interface KindCounts {
  input: number;
  migrated: number;
  quarantined: number;
  byVersion: Record<string, number>;
}

export interface SourceReport extends KindCounts {
  kind: string;
  sourceKey: string;
  location: Area;
  status: "migrated" | "invalid-collection" | "moved-to-indexeddb" | (string & {});
}

/** A repair or a warning about one record (index -1: the whole value). */
export interface Issue {
  kind: string;
  index: number;
  id: string | null;
  code: string;
  message: string;
  source: string | null;
}

export interface QuarantinedEntry {
  kind: string;
  index: number | null;
  sourceKey: string;
  id: string | null;
  code: string;
  errors: string[];
  /** Where getQuarantine finds the record itself. */
  quarantineKey: string;
}

export interface LegacyConflict {
  targetKey: string;
  id: string | null;
  keptFrom: string;
  droppedFrom: string;
  reason: "newer-updatedAt" | "kept-existing" | (string & {});
  /** The copy that was kept, as stored. */
  kept?: unknown;
  /** The other copy, as stored: kept here, never dropped silently. */
  record: unknown;
}

export interface MigrationReport {
  runId: string;
  dryRun: boolean;
  fromVersion: SchemaVersion;
  toVersion: "3.0.0";
  startedAt: string;
  backupId: string | null;
  plan: Plan;
  counts: Partial<Record<string, KindCounts>>;
  /** By source key ("airprompts_templates", "AirPromptsDB:templates", ...). */
  sources: Record<string, SourceReport>;
  values: Record<string, string>;
  migrated: number;
  quarantinedCount: number;
  repairs: Issue[];
  warnings: Issue[];
  quarantined: QuarantinedEntry[];
  legacy: { moves: { from: string; to: string }[]; conflicts: LegacyConflict[] };
  movedToIndexedDB: string[];
  /** Milliseconds per phase (finished runs). */
  durations?: Record<string, number>;
}

export interface DryRunReport extends MigrationReport {
  needed: boolean;
  targets?: { area: Area; key: string; chars: number }[];
  remove?: string[];
}

export interface RunResult {
  success: boolean;
  fromVersion: SchemaVersion;
  toVersion: "3.0.0";
  migrated: number;
  quarantined: number;
  warnings: number;
  backupId: string | null;
  durationMs: number;
  runId: string | null;
  report: MigrationReport | null;
}

export interface HistoryEntry extends RunResult {
  startedAt: string;
  finishedAt: string;
  rolledBack?: boolean;
  error?: ErrorPayload;
  /** Values another writer stored during a failed run, kept here by the rollback. */
  displaced?: { area: Area; key: string; value: string }[];
}

export interface StartedRun {
  started: true;
  runId: string;
}

export interface MigrationProgress {
  phase: Phase;
  processed: number;
  total: number;
  percent: number;
  /** Records per second. */
  throughput: number;
  etaMs: number | null;
  running: boolean;
  paused: boolean;
  runId: string | null;
  /** Reported by another tab of the origin. */
  remote?: boolean;
}

export interface QuarantineRecord {
  kind: string;
  index: number | null;
  sourceKey: string;
  code: string;
  /** The record exactly as it was read. */
  record: unknown;
  errors: string[];
  key: string;
  runId: string;
}

export interface RecoverResult {
  resumed: string | null;
  outcome: "locked" | "completed" | "rolled-back" | "failed" | "discarded";
  reason?: string;
  error?: ErrorPayload;
  result?: Omit<RunResult, "report">;
}

// ---------------------------------------------------------------- results: compatibility layer

export interface SaveResult {
  saved: number;
  location: Area;
  key: string;
}

/** A name as it is stored, before any upgrade (compatibilityLayer.getStored). */
export interface StoredValue {
  name: DataName;
  /** "app" (AirPromptsDB), "local", "legacy" (legacy keys merged as the migration would), or null when missing. */
  location: "app" | "local" | "legacy" | null;
  sourceKey: string | null;
  /** The keys the value was read from. */
  sources: string[];
  /** The stored value, parsed, not upgraded (a raw non-JSON string stays a string). */
  value: unknown;
}

/** The app's keys stored now (compatibilityLayer.getStoredKeys), the shape of BackupMeta's keys. */
export interface StoredKeys {
  local: string[];
  /** AirPromptsDB record names. */
  app: string[];
}

export interface DualReadMode {
  enabled: boolean;
  until: number | null;
  remainingMs: number;
  source: "user" | "migration" | null;
  expired: boolean;
  backupId?: string | null;
  runId?: string | null;
}

export interface CollectionStats {
  count: number;
  migrated: boolean;
  location: Area | null;
  sourceKey: string | null;
}

export interface MigrationStats {
  storedVersion: SchemaVersion;
  recordedVersion: string | null;
  targetVersion: "3.0.0";
  migrationNeeded: boolean | null;
  migrationRunning: boolean;
  migrationPhase: string | null;
  collections: Record<DataName, CollectionStats>;
  dualRead: DualReadMode;
  transformedOnRead: number;
  skippedOnRead: number;
  reads: number;
  saves: number;
}

// ---------------------------------------------------------------- results: backups

export interface BackupMeta {
  id: string;
  type: "full" | "incremental";
  kind: "manual" | "pre-migration" | "safety" | "imported";
  createdAt: string;
  createdAtMs: number;
  description: string;
  schemaVersion: string | null;
  keys: { local: string[]; app: string[] };
  itemCount: number;
  sizeBytes: number;
  changed?: { local: number; app: number };
  deleted?: { local: string[]; app: string[] };
  chunkCount?: number;
  chunks?: { index: number; sha256: string; size: number; iv?: string }[];
  sha256?: string;
  encrypted?: boolean;
  kdf?: { name: "PBKDF2"; hash: "SHA-256"; iterations: number; salt: string } | null;
  baseId?: string | null;
  migrationId?: string | null;
  persisted?: boolean;
  complete?: true;
  originalId?: string;
  originalKind?: string | null;
  importedAt?: string;
}

export interface VerifyReport {
  ok: boolean;
  id: string;
  chain: string[];
  encrypted: boolean;
  chunks: { backupId: string; index: number; ok: boolean; error: string | null }[];
  errors: string[];
}

export interface RestoreResult {
  restored: number;
  written: number;
  removed: string[];
  removedLocal: string[];
  removedApp: string[];
  backupId: string;
  safetyBackupId: string | null;
}

// ---------------------------------------------------------------- results: logs and metrics

export interface LogEntry {
  id: string;
  time: string;
  ts: number;
  level: LogLevel;
  message: string;
  /** What the caller logged with the message, as given. */
  context: Record<string, unknown>;
  runId?: string;
}

export interface PerformanceMetrics {
  runId: string | null;
  running: boolean;
  total: number;
  phase: string | null;
  phases: Record<string, number>;
  totalMs: number;
  itemsPerSecond: number | null;
  batches: { count: number; meanMs: number | null; p95Ms: number | null; maxMs: number | null; series: number[][] };
  throughputSeries: number[][];
  longestTaskMs: number | null;
  longTasks: number;
  frameGapP95Ms: number | null;
  warmUpMs: number | null;
  memory: { current: Record<string, number>; peak: Record<string, number> };
  history: Record<string, unknown>[];
}

// ---------------------------------------------------------------- the services

export interface DataMigrationService {
  checkMigrationStatus(): Promise<MigrationStatus>;
  runPendingMigrations(options?: RunOptions | null): Promise<RunResult>;
  /** Resolves once the run holds the lock; follow it with on("progress") and on("complete"). */
  startProgressiveMigration(options?: RunOptions | null): Promise<StartedRun>;
  getMigrationProgress(): Promise<MigrationProgress>;
  getHistory(): Promise<HistoryEntry[]>;
  dryRun(options?: DryRunOptions | null): Promise<DryRunReport>;
  pauseMigration(): Promise<null>;
  resumeMigration(): Promise<null>;
  getLastReport(): Promise<MigrationReport | null>;
  getQuarantine(runId?: string | null): Promise<QuarantineRecord[]>;
  recover(): Promise<RecoverResult | null>;
  /**
   * Resolves once no tab runs a migration (the run ended, or its tab closed), after recovering
   * what a closed tab left (as recover() does): with recover()'s answer.
   */
  waitUntilIdle(): Promise<RecoverResult | null>;
}

export interface CompatibilityLayer {
  /** The 3.0.0 shape of a name, whatever the stored version; writes nothing. */
  get<K extends DataKey>(name: K): Promise<DataOf<K>>;
  /** Validate ``value`` and store its 3.0.0 shape where ``name`` lives (older shapes are upgraded first). */
  save<K extends DataKey>(name: K, value: SaveValue<K>): Promise<SaveResult>;
  isMigrated(name: DataKey): Promise<boolean>;
  getMigrationStats(): Promise<MigrationStats>;
  setDualReadMode(enabled: boolean, durationMs?: number | null): Promise<DualReadMode>;
  getDualReadMode(): Promise<DualReadMode>;
  /** ``name`` as it is stored, not upgraded, and where it was read from; writes nothing. */
  getStored(name: DataKey): Promise<StoredValue>;
  getStoredKeys(): Promise<StoredKeys>;
}

export interface BackupService {
  createFullBackup(description?: string | null, options?: PassphraseOptions | null): Promise<BackupMeta>;
  createIncrementalBackup(description?: string | null, options?: IncrementalBackupOptions | null): Promise<BackupMeta>;
  listBackups(): Promise<BackupMeta[]>;
  verifyBackup(id: string, options?: PassphraseOptions | null): Promise<VerifyReport>;
  restoreBackup(id: string, options?: RestoreOptions | null): Promise<RestoreResult>;
  deleteBackup(id: string): Promise<null>;
  /** The backup file's JSON text (full backups only). */
  exportBackup(id: string): Promise<string>;
  importBackup(text: string): Promise<BackupMeta>;
}

export interface MigrationLogger {
  setLogLevel(level: LogLevelInput): Promise<{ level: LogLevel }>;
  getLogLevel(): Promise<{ level: LogLevel }>;
  queryLogs(query?: LogQuery | null): Promise<LogEntry[]>;
  /** JSON array or CSV text, oldest first. */
  exportLogs(format?: "json" | "csv" | "JSON" | "CSV" | null, query?: LogQuery | null): Promise<string>;
  log(level: LogLevelInput, message: string, context?: Record<string, unknown> | null): Promise<LogEntry | null>;
}

export interface PerformanceMonitor {
  getMetrics(): Promise<PerformanceMetrics>;
}

// ---------------------------------------------------------------- events

export interface PhaseEvent {
  phase: Phase;
  runId: string;
  remote?: boolean;
  [context: string]: unknown;
}

export interface FailedEvent {
  runId: string;
  error: ErrorPayload;
  /** Whether the data before the run was put back. */
  restored: boolean;
  remote?: boolean;
}

/** The detail of each event, by name ("airprompts:<name>" on window). */
export interface AirpromptsEventMap {
  progress: MigrationProgress;
  phase: PhaseEvent;
  complete: RunResult & { remote?: boolean };
  failed: FailedEvent;
  log: LogEntry;
  backup: Record<string, unknown>;
}
export type EventName = keyof AirpromptsEventMap;

export interface AirpromptsApi {
  /** Resolves once Python is up (rejects when it failed to start). */
  readonly ready: Promise<unknown>;
  readonly version: "3.0.0";
  /** The DOM target of the events (window). */
  readonly eventTarget: EventTarget;
  /** Devtools switch: true turns on DEBUG logs, mirrored to the console. */
  debug: boolean;
  /** Call ``listener`` with each event's detail; return the function that stops it. */
  on<K extends EventName>(name: K, listener: (detail: AirpromptsEventMap[K]) => void): () => void;
  readonly dataMigrationService: DataMigrationService;
  readonly compatibilityLayer: CompatibilityLayer;
  readonly backupService: BackupService;
  readonly migrationLogger: MigrationLogger;
  readonly performanceMonitor: PerformanceMonitor;
}

/** Set before loader.js runs. */
export interface AirpromptsOptions {
  /** Do not load Python by itself even when a migration may be needed. */
  lazy?: boolean;
  /** false: a needed migration waits for the caller. */
  autostart?: boolean;
  /** false: no start-up warm-up of the engine. */
  warmUp?: boolean;
}

type WindowEvents = { [K in EventName as `airprompts:${K}`]: CustomEvent<AirpromptsEventMap[K]> };

declare global {
  interface Window {
    airprompts: AirpromptsApi;
    airpromptsOptions?: AirpromptsOptions;
  }
  // eslint-disable-next-line no-var
  var airprompts: AirpromptsApi;
  // eslint-disable-next-line no-var
  var airpromptsOptions: AirpromptsOptions | undefined;
  interface WindowEventMap extends WindowEvents {}
}

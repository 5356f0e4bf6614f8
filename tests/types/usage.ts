// A host app's use of the declarations; `tsc --noEmit -p tests/types` must accept it.
// Each @ts-expect-error line is a mistake the types must catch (tsc fails if it does not).
import {
  airprompts,
  loadMigration,
  migrationMayBeNeeded,
  TARGET_VERSION,
  type AirpromptsError,
  type MigrationProgress,
  type Template,
} from "../../static/js/loader.js";
import { useCompatibleStorage, useMigration, type MigrationHookStatus } from "../../static/js/react.js";

export async function hostApp(): Promise<string[]> {
  const needed: boolean = migrationMayBeNeeded();
  const target: "3.0.0" = TARGET_VERSION;
  const api = needed ? await loadMigration({ autostart: false }) : airprompts;
  await api.ready;

  const status = await api.dataMigrationService.checkMigrationStatus();
  const from: string = status.plan.fromVersion;
  const legacy: string[] = status.plan.legacyKeys;
  const sourceKey: string | undefined = status.plan.collections[0]?.sourceKey;
  // @ts-expect-error: the plan speaks camelCase
  status.plan.from_version;

  const result = await api.dataMigrationService.runPendingMigrations({ batchSize: 50, batchDelayMs: 0 });
  const backupId: string | null = result.backupId;
  const conflicts = result.report?.legacy.conflicts ?? [];
  const keptFrom: string[] = conflicts.map((c) => c.keptFrom);
  // @ts-expect-error: unknown options are refused
  await api.dataMigrationService.runPendingMigrations({ batchsize: 5 });
  // @ts-expect-error: batchSize is a number
  await api.dataMigrationService.startProgressiveMigration({ batchSize: "5" });

  const started = await api.dataMigrationService.startProgressiveMigration();
  const runId: string = started.runId;
  const progress: MigrationProgress = await api.dataMigrationService.getMigrationProgress();
  const eta: number | null = progress.etaMs;
  const quarantine = await api.dataMigrationService.getQuarantine(runId);
  const quarantinedFrom: string | undefined = quarantine[0]?.sourceKey;
  // @ts-expect-error: getQuarantine takes a run id (string), not a number
  await api.dataMigrationService.getQuarantine(123);
  const dry = await api.dataMigrationService.dryRun({ batchSize: 10 });
  const wouldMigrate: number = dry.migrated;
  const history = await api.dataMigrationService.getHistory();
  const failure: string | undefined = history[0]?.error?.name;

  const templates: Template[] = await api.compatibilityLayer.get("templates");
  const theme: string | null = await api.compatibilityLayer.get("airprompts_theme_preference");
  const performance = (await api.compatibilityLayer.get("user_settings"))?.performance.cacheSize;
  // @ts-expect-error: not a data name
  await api.compatibilityLayer.get("templatez");
  const saved = await api.compatibilityLayer.save("templates", [...templates, { id: "t-1", name: "Nouveau “modèle”", content: "新" }]);
  const savedTo: "local" | "app" = saved.location;
  // @ts-expect-error: tags are strings
  await api.compatibilityLayer.save("tags", [1, 2]);
  const mode = await api.compatibilityLayer.setDualReadMode(true, 7 * 86_400_000);
  const remaining: number = mode.remainingMs;
  const stored = await api.compatibilityLayer.getStored("airprompts_templates");
  const where: string | null = stored.sourceKey;
  const storedKeys: string[] = [...(await api.compatibilityLayer.getStoredKeys()).local, ...(where ? [where] : [])];
  // @ts-expect-error: getStored takes a data name
  await api.compatibilityLayer.getStored("templatez");
  const afterOtherTab = await api.dataMigrationService.waitUntilIdle();
  const outcome: string | undefined = afterOtherTab?.outcome;
  const stats = await api.compatibilityLayer.getMigrationStats();
  const inIdb: boolean = stats.collections.templates.location === "app";

  const backup = await api.backupService.createFullBackup("before the import", { passphrase: "mot de passe" });
  const list = await api.backupService.listBackups();
  const verified: boolean = (await api.backupService.verifyBackup(backup.id, { passphrase: "mot de passe" })).ok;
  const restored = await api.backupService.restoreBackup(list[0]!.id, { keys: ["airprompts_templates"] });
  const safety: string | null = restored.safetyBackupId;
  const file: string = await api.backupService.exportBackup(backup.id);
  const imported = await api.backupService.importBackup(file);
  const incremental = await api.backupService.createIncrementalBackup(null, { baseId: imported.id });
  await api.backupService.deleteBackup(incremental.id);
  // @ts-expect-error: restore options have no "only"
  await api.backupService.restoreBackup(backup.id, { only: [] });

  const level = (await api.migrationLogger.setLogLevel("warning")).level;
  const recording: "DEBUG" | "INFO" | "WARN" | "ERROR" | "CRITICAL" = (await api.migrationLogger.getLogLevel()).level;
  const logs = await api.migrationLogger.queryLogs({ level: "INFO", limit: 20, since: "2024-01-01T00:00:00Z", runId });
  const context: Record<string, unknown> | undefined = logs[0]?.context;
  const csv: string = await api.migrationLogger.exportLogs("csv", { limit: null });
  await api.migrationLogger.log("INFO", "imported", { count: 3 });
  // @ts-expect-error: not a log level
  await api.migrationLogger.setLogLevel("LOUD");
  // @ts-expect-error: logs export as json or csv
  await api.migrationLogger.exportLogs("xml");
  const metrics = await api.performanceMonitor.getMetrics();
  const p95: number | null = metrics.frameGapP95Ms;

  const off = api.on("progress", (detail) => {
    const percent: number = detail.percent;
    void percent;
  });
  off();
  api.on("failed", (detail) => {
    const name: string = detail.error.name;
    const argument = detail.error.details.argument;
    void name;
    void argument;
  });
  // @ts-expect-error: no such event
  api.on("finished", () => {});
  window.addEventListener("airprompts:complete", (event) => {
    const migrated: number = event.detail.migrated;
    void migrated;
  });
  window.airprompts.debug = true;

  try {
    await api.backupService.restoreBackup("bk-none");
  } catch (error) {
    const failed = error as AirpromptsError;
    const which: string | null | undefined = failed.details?.argument;
    if (failed.name === "BackupNotFound") return [failed.details?.backupId ?? "", String(which)];
  }
  void [target, from, legacy, sourceKey, backupId, keptFrom, eta, quarantinedFrom, wouldMigrate, failure, theme];
  void [performance, savedTo, remaining, inIdb, verified, safety, level, context, csv, p95, storedKeys, recording, outcome];
  return templates.map((t) => t.name);
}

// The React hooks, typed without React's own types (React is the host's).
export function useBanner(): string {
  const migration = useMigration();
  const status: MigrationHookStatus = migration.status;
  const storage = useCompatibleStorage();
  void storage.get("snippets").then((snippets) => snippets.map((s) => s.content));
  void migration.start({ batchSize: 20 });
  // @ts-expect-error: the hook's status is one of its own names
  const wrong: MigrationHookStatus = "done";
  void wrong;
  if (migration.error) return `${migration.error.name}: ${migration.error.message}`;
  return `${status} ${migration.progress?.percent ?? 0}%`;
}

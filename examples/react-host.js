// The React host's components, without a build step (React.createElement, no JSX).
// Templates are user data: React renders them as text, never as HTML.
import { createElement as h, useCallback, useEffect, useState } from "react";
import { useCompatibleStorage, useMigration } from "../static/js/react.js";

const LABELS = {
  checking: "Checking your data…",
  idle: "Your data needs an update to the current format.",
  "not-needed": "Your data is up to date.",
  running: "Updating your data…",
  paused: "Update paused.",
  complete: "Your data was updated.",
  failed: "The update failed; your data was left as it was.",
};

function MigrationBanner() {
  const migration = useMigration();
  const { status, progress, result, error } = migration;
  const percent = progress ? Math.round(progress.percent) : 0;
  const run = (action) => action().catch(() => {}); // the hook keeps the error in migration.error
  return h(
    "section",
    { className: "banner", id: "migration", "data-status": status, "data-needs": String(migration.needsMigration), "aria-live": "polite" },
    h("p", { id: "migration-status" }, LABELS[status] || status),
    status === "running" || status === "paused"
      ? h("div", null, h("progress", { max: 100, value: percent }), h("p", { id: "migration-progress" }, `${progress?.processed ?? 0} of ${progress?.total ?? "…"} records (${percent}%)`))
      : null,
    result ? h("p", { id: "migration-result" }, `${result.migrated} records updated, ${result.quarantined} set aside, backup ${result.backupId}`) : null,
    error ? h("p", { className: "error", id: "migration-error" }, `${error.name}: ${error.message}`) : null,
    h(
      "p",
      null,
      migration.needsMigration && (status === "idle" || status === "failed")
        ? h("button", { id: "start", onClick: () => run(() => migration.start({ batchSize: 10, batchDelayMs: 40 })) }, "Start the update")
        : null,
      status === "running" ? h("button", { id: "pause", onClick: () => run(migration.pause) }, "Pause") : null,
      status === "paused" ? h("button", { id: "resume", onClick: () => run(migration.resume) }, "Resume") : null,
    ),
  );
}

function Templates() {
  const storage = useCompatibleStorage();
  const { status } = useMigration();
  const [templates, setTemplates] = useState(null);
  const [message, setMessage] = useState("");
  const load = useCallback(() => storage.get("templates").then(setTemplates, (e) => setMessage(`${e.name}: ${e.message}`)), [storage]);
  // Read again once a run ends: same data, now stored in its 3.0.0 shape.
  useEffect(() => {
    if (status !== "checking" && status !== "running" && status !== "paused") load();
  }, [status, load]);
  const add = async (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const now = new Date().toISOString();
    const template = { id: `t-${Date.now()}`, name: String(form.get("name")), content: String(form.get("content")), createdAt: now, updatedAt: now };
    try {
      const saved = await storage.save("templates", [...(templates || []), template]);
      setMessage(`Saved ${saved.saved} templates to ${saved.key}`);
      await load();
    } catch (e) {
      setMessage(`${e.name}: ${e.message}`);
    }
  };
  return h(
    "section",
    null,
    h("h2", null, "Templates"),
    templates === null
      ? h("p", null, "Loading…")
      : h(
          "ul",
          { className: "templates", id: "templates", "data-count": String(templates.length) },
          templates.map((t) => h("li", { key: t.id, "data-id": t.id }, h("strong", { className: "name" }, t.name), h("pre", { className: "content" }, t.content))),
        ),
    h(
      "form",
      { id: "add-form", onSubmit: add },
      h("label", null, "Name ", h("input", { name: "name", id: "new-name", required: true, defaultValue: "New template" })),
      h("label", null, "Content ", h("textarea", { name: "content", id: "new-content", rows: 3, defaultValue: "Write about {topic}." })),
      h("button", { type: "submit", id: "add", disabled: status === "running" || status === "paused" }, "Add template"),
    ),
    h("p", { id: "save-result", role: "status" }, message),
  );
}

function App() {
  return h("main", null, h(MigrationBanner), h(Templates));
}

ReactDOM.createRoot(document.getElementById("root")).render(h(App));
document.documentElement.dataset.reactHost = "mounted";

// The host app's script: list templates, add one, show migration progress.
// Templates are shown with textContent only: their text is user data, never HTML.
import { airprompts, migrationMayBeNeeded } from "../static/js/loader.js";

const $ = (id) => document.getElementById(id);
const root = document.documentElement;

function setState(state, text) {
  root.dataset.hostState = state;
  $("status").textContent = text;
}

// Like the live app's virtualised list, the page shows the first templates and previews of their
// content: laying out thousands of prompts in full (megabytes of text in every script) froze the
// page for seconds, and held up the migration's own requests to the page meanwhile.
const SHOWN = 100;
const PREVIEW_CHARS = 600;

// The first PREVIEW_CHARS code units, never half of a surrogate pair.
function preview(text) {
  const end = /[\uD800-\uDBFF]/.test(text[PREVIEW_CHARS - 1]) ? PREVIEW_CHARS - 1 : PREVIEW_CHARS;
  return text.slice(0, end);
}

function render(templates, source) {
  const list = $("templates");
  const items = templates.slice(0, SHOWN).map((template) => {
    const item = document.createElement("li");
    item.dataset.id = String(template.id ?? "");
    const name = document.createElement("strong");
    name.className = "name";
    name.textContent = String(template.name ?? "(no name)");
    const content = document.createElement("pre");
    content.className = "content";
    const text = String(template.content ?? "");
    content.textContent = text.length > PREVIEW_CHARS ? `${preview(text)}…` : text;
    item.append(name, content);
    return item;
  });
  list.replaceChildren(...items);
  list.dataset.source = source;
  list.dataset.count = String(templates.length);
  $("more").hidden = templates.length <= SHOWN;
  $("more").textContent = `and ${templates.length - SHOWN} more templates`;
  $("empty").hidden = templates.length > 0;
}

// A 3.0.0 store pays nothing: read localStorage straight away, no Python.
function readDirect() {
  const text = localStorage.getItem("airprompts_templates");
  if (text === null) return [];
  const value = JSON.parse(text);
  return Array.isArray(value) ? value : [];
}

async function readThroughApi() {
  render(await airprompts.compatibilityLayer.get("templates"), "api");
}

async function refreshFromApi() {
  try {
    await readThroughApi();
  } catch (error) {
    setState("error", `Could not read templates: ${error.name}: ${error.message}`);
  }
}

function showProgress(detail) {
  $("progress-box").hidden = false;
  const percent = Number(detail.percent) || 0;
  $("progress").value = percent;
  const done = detail.total ? `${detail.processed ?? 0} of ${detail.total}` : `${detail.processed ?? 0}`;
  $("progress-text").textContent = `Updating your data: ${detail.phase ?? ""} ${done} (${percent.toFixed(0)} %)`;
}

addEventListener("airprompts:progress", (event) => showProgress(event.detail || {}));
addEventListener("airprompts:phase", (event) => {
  $("progress-box").hidden = false;
  $("progress-text").textContent = `Updating your data: ${event.detail?.phase ?? ""}`;
});
addEventListener("airprompts:complete", () => {
  $("progress").value = 100;
  $("progress-text").textContent = "Your data is up to date.";
  refreshFromApi();
});
addEventListener("airprompts:failed", (event) => {
  $("progress-text").textContent = `The update failed and your data was restored: ${event.detail?.message ?? ""}`;
});

$("counter").addEventListener("click", (event) => {
  const button = event.currentTarget;
  const clicks = Number(button.dataset.clicks || 0) + 1;
  button.dataset.clicks = String(clicks);
  button.textContent = `Clicked ${clicks} time${clicks === 1 ? "" : "s"}`;
});

$("add-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = $("add");
  button.disabled = true;
  $("save-result").textContent = "Saving…";
  try {
    const now = new Date().toISOString();
    const record = {
      id: `tpl-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
      name: $("new-name").value,
      content: $("new-content").value,
      createdAt: now,
      updatedAt: now,
    };
    // Read the current list through the layer (it waits out a running migration), then save.
    const current = await airprompts.compatibilityLayer.get("templates");
    const result = await airprompts.compatibilityLayer.save("templates", [...current, record]);
    $("save-result").textContent = `Saved ${result.saved} templates.`;
    await readThroughApi();
    setState("ready", "Migration app ready.");
  } catch (error) {
    $("save-result").textContent = `Not saved: ${error.name}: ${error.message}`;
  } finally {
    button.disabled = false;
  }
});

if (migrationMayBeNeeded()) {
  setState("loading", "Preparing your data…");
  // A call loads the app if the loader has not already (lazy mode).
  airprompts.ready
    .then(() => setState("ready", "Migration app ready."))
    .catch((error) => setState("error", `The migration app failed to start: ${error.message}`));
  refreshFromApi();
} else {
  try {
    render(readDirect(), "localStorage");
    setState("direct", "Your data is current.");
  } catch (error) {
    setState("error", `Stored templates are not readable: ${error.message}`);
  }
  // Should the app load anyway (unrecorded data found only in IndexedDB, or an API call),
  // list the templates through the layer from then on.
  airprompts.ready.then(() => {
    setState("ready", "Migration app ready.");
    refreshFromApi();
  }, () => {});
}

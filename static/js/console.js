// The console page's thin JavaScript side. Its Python (app/ui/console.py) runs in the
// engine's Worker like every host page's (static/js/engine.js, worker.js): the page
// realm never loads Pyodide. Python builds element trees and queues changes
// (app/ui/dom.py); they arrive here as one message per Python task and are applied
// to the page; the events Python listens to go back with the form's current values,
// the clicked action's dataset and, for a button naming file inputs in data-files,
// those files' text.
//
//   worker -> page  [op, ...] with op one of
//                   ["text", id, text]  ["children", id, [tree | text, ...]]
//                   ["prop", id, name, value]  ["attr", id, name, value | null]
//                   ["data", id, name, value]  ["call", id, method, args]
//                   ["listen", id | "window", type]  ["download", filename, mime, text]
//   page -> worker  {id, type, values, action?, files?, returnValue?, detail?}
//
// User data reaches the page only as text: trees become elements, text nodes and
// attribute values; nothing here sets innerHTML.
import { createApi } from "./api.js";
import { startEngine } from "./engine.js";
import * as perf from "./perf.js";

const PROPS = new Set(["value", "disabled", "hidden", "className", "returnValue"]);
const CALLS = new Set(["focus", "scrollIntoView", "showModal", "close"]);
const SVG_NS = "http://www.w3.org/2000/svg";
// Attribute names a tree may carry: no event handlers (on*), nothing that runs script.
const SAFE_ATTRIBUTE = /^(?!on)[a-z][a-z0-9-]*$/i;

function build(tree) {
  if (typeof tree === "string") return document.createTextNode(tree);
  const node = tree.ns === SVG_NS ? document.createElementNS(SVG_NS, tree.tag) : document.createElement(tree.tag);
  for (const [name, value] of Object.entries(tree.attrs || {})) {
    if (!SAFE_ATTRIBUTE.test(name) || (name === "href" && !String(value).startsWith("#"))) continue;
    node.setAttribute(name, value);
  }
  for (const child of tree.children || []) node.appendChild(build(child));
  return node;
}

function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the console page has no element #${id}`);
  return node;
}

/** Return every form control's current value by id (file inputs excepted: their files travel on request). */
function values() {
  const out = {};
  for (const control of document.querySelectorAll("input[id], select[id], textarea[id]")) {
    if (control.type !== "file") out[control.id] = control.value;
  }
  return out;
}

/** Return what the page knows of its elements with an id, for Python's mirror of them. */
export function snapshot() {
  const out = {};
  for (const node of document.querySelectorAll("[id]")) {
    const info = { tag: node.tagName, dataset: { ...node.dataset }, hidden: node.hidden };
    if ("disabled" in node) info.disabled = node.disabled;
    if ("value" in node && node.type !== "file") info.value = String(node.value);
    if (node.getAttribute("aria-busy") !== null) info.attributes = { "aria-busy": node.getAttribute("aria-busy") };
    out[node.id] = info;
  }
  return out;
}

function download(filename, mime, text) {
  const url = URL.createObjectURL(new Blob([text], { type: mime }));
  const link = Object.assign(document.createElement("a"), { href: url, download: filename, hidden: true });
  document.body.appendChild(link);
  try {
    link.click();
  } finally {
    link.remove();
    // Revoke after the click's navigation has started; revoking at once can cancel it.
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }
}

/** Start the console: the engine in its worker, the page's half of the remote DOM. */
export function startConsole() {
  perf.startObservers();
  if (!globalThis.airprompts) globalThis.airprompts = createApi();
  const api = globalThis.airprompts;
  const listening = new Set();
  let engine = null;

  async function forward(id, event) {
    const message = { id, type: event.type, values: values() };
    if (event.type === "close" && "returnValue" in event.target) message.returnValue = event.target.returnValue;
    if (id === "window") message.detail = event.detail ?? null;
    const origin = event.target instanceof Element ? event.target : null;
    const action = origin?.closest("[data-action]");
    if (action?.id) {
      message.action = { id: action.id, tag: action.tagName, disabled: Boolean(action.disabled), dataset: { ...action.dataset } };
    }
    const readsFiles = document.getElementById(id)?.dataset.files;
    if (readsFiles) {
      message.files = {};
      for (const inputId of readsFiles.split(/\s+/)) {
        const input = document.getElementById(inputId);
        message.files[inputId] = input?.files ? await Promise.all([...input.files].map((file) => file.text())) : [];
      }
    }
    engine.sendUi(JSON.stringify(message));
  }

  function listen(id, type) {
    const key = `${id} ${type}`;
    if (listening.has(key)) return;
    listening.add(key);
    if (id === "window") {
      // Another tab's run, relayed by static/js/api.js: this tab's own events reach Python directly.
      addEventListener(type, (event) => event.detail?.remote === true && forward(id, event));
      return;
    }
    byId(id).addEventListener(type, (event) => {
      if (type === "submit") event.preventDefault();
      forward(id, event).catch((error) => console.error("[airprompts] console event lost:", error));
    });
  }

  function apply(text) {
    for (const [op, ...args] of JSON.parse(text)) {
      try {
        if (op === "text") byId(args[0]).textContent = args[1];
        else if (op === "children") byId(args[0]).replaceChildren(...args[1].map(build));
        else if (op === "prop" && PROPS.has(args[1])) byId(args[0])[args[1]] = args[2];
        else if (op === "attr" && SAFE_ATTRIBUTE.test(args[1])) {
          if (args[2] === null) byId(args[0]).removeAttribute(args[1]);
          else byId(args[0]).setAttribute(args[1], args[2]);
        } else if (op === "data") byId(args[0]).dataset[args[1]] = args[2];
        else if (op === "call" && CALLS.has(args[1])) byId(args[0])[args[1]](...args[2]);
        else if (op === "listen") listen(args[0], args[1]);
        else if (op === "download") download(args[0], args[1], args[2]);
        else throw new Error(`unknown console operation ${op}`);
      } catch (error) {
        console.error("[airprompts] console operation failed:", op, args[0], error);
      }
    }
  }

  const boot = document.getElementById("boot");
  engine = startEngine({
    // Read by app/main.py in the worker: the console to mount, what the page's elements hold now.
    host: { search: location.search, options: { ...(globalThis.airpromptsOptions || {}) }, console: true, ui: JSON.stringify(snapshot()) },
    onReady: () => {
      document.documentElement.dataset.migrationReady = "true";
      api.__resolveReady(true);
    },
    onFail: (error) => {
      if (boot) {
        boot.textContent = `The console failed to start: ${error.message}`;
        boot.dataset.state = "failed";
      }
      api.__rejectReady(error);
    },
    onUi: apply,
  });
  globalThis.__airpromptsDispatch = engine.dispatch;
  return engine;
}

startConsole();

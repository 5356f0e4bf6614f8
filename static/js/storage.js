// Thin storage bridge for the Python side. Each IndexedDB unit of work is one
// transaction run entirely here and resolved on `complete` (an IndexedDB
// transaction does not survive a Python `await`). Native errors pass through
// with their DOMException name; Python maps them once (app/storage/browser.py).
// Only strings and arrays of strings cross the bridge; large ones as UTF-8 bytes, and
// a text the bridge holds for Python as its token (see hold).

export const APP_DB = "AirPromptsDB";
export const APP_STORE = "storage";
export const OWN_DB = "AirPromptsMigrate";
export const OWN_DB_VERSION = 1;
export const OWN_STORES = ["backups", "chunks", "staging", "journal", "logs", "quarantine", "history", "settings"];

// A test seam: end-to-end fault tests set globalThis.__airpromptsFault to a
// function that throws at a chosen operation. Storage itself stays real.
function fault(operation, detail) {
  const hook = globalThis.__airpromptsFault;
  if (typeof hook === "function") hook(operation, detail);
}

// Run the seam for one IndexedDB unit of work (`operation`) and for each of its
// `count` operations, before its transaction starts; return the index of the
// operation to abort at (-1: none). The hook lives in the page: in a worker,
// setFaultCheck() replaces this with an asynchronous call to the page's checkFaults.
export function checkFaults(operation, detail, count = 0) {
  fault(operation, detail);
  for (let index = 0; index < count; index++) {
    try {
      fault(`${operation}_op`, index);
    } catch (_) {
      return index;
    }
  }
  return -1;
}

let faultCheck = checkFaults;

export function setFaultCheck(check) {
  faultCheck = check;
}

function named(name, message) {
  const error = new Error(message);
  error.name = name;
  return error;
}

// A DOMException from localStorage or IndexedDB often carries no stack, and Pyodide then
// replaces it with an Error whose text only quotes it: rethrow it as an Error with the same
// name and message, so Python reads the name (app/core/errors.py maps it).
export function asError(error) {
  if (error instanceof Error && typeof error.stack === "string") return error;
  const name = error && typeof error.name === "string" ? error.name : "Error";
  const message = error && typeof error.message === "string" ? error.message : String(error);
  return named(name, message);
}

// Large well-formed strings cross to Python as UTF-8 bytes: Pyodide copies a
// Uint8Array several times faster than it converts a JS string. Strings with
// lone surrogates (which UTF-8 cannot hold) cross as strings, unchanged.
const FAST_TEXT_MIN = 32 * 1024;
const encoder = new TextEncoder();

export function out(text) {
  if (text === null || text === undefined) return undefined;
  if (text instanceof Uint8Array) return text; // stored as UTF-8 bytes (STORED_AS_BYTES)
  if (text.length >= FAST_TEXT_MIN && text.isWellFormed()) {
    // encodeInto a buffer of the largest size (3 bytes a UTF-16 unit) runs in half the time of
    // encode(), which sizes its result first; the slice is a plain copy of what was written.
    const buffer = new Uint8Array(text.length * 3);
    const { read, written } = encoder.encodeInto(text, buffer);
    return read === text.length ? buffer.slice(0, written) : encoder.encode(text);
  }
  return text;
}

// The other way, large non-ASCII strings arrive as UTF-8 bytes (app/storage/browser.py
// js_text): Pyodide converts such a Python str one UTF-16 unit at a time. ignoreBOM: a
// leading U+FEFF is the user's text, not a byte order mark to drop.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true, fatal: true });

// Texts this bridge handed to Python or stored for it, one per key of each area, by
// token: Python names a text it got from here by its token instead of sending it back
// (a guard's expected value, the verification's written text, the record count), which
// spares a multi-MB crossing each time. A token stands only for its own area and key;
// one this bridge no longer holds is refused (StaleText) and Python sends the text itself.
// An AirPromptsDB record is held as the object itself (read from IndexedDB, or parsed to be
// put there), its text made from it only where a comparison needs one (JSON.stringify,
// which is how appGet gave it to Python): records compare as objects first (sameRecord).
const held = new Map(); // token -> {slot, text} | {slot, record, read?, count?}
const heldAt = new Map(); // slot ("area\nkey") -> token
let lastToken = 0;

/** Hold `text` (or AirPromptsDB `record`, with `about` it) as the one of `area` `key`; return its token (0 and nothing held for an absent value). */
function hold(area, key, text, record, about) {
  const slot = `${area}\n${key}`;
  const previous = heldAt.get(slot);
  if (previous !== undefined) held.delete(previous);
  heldAt.delete(slot);
  if (record === undefined && (text === null || text === undefined)) return 0;
  const token = ++lastToken;
  held.set(token, record === undefined ? { slot, text } : { slot, record, ...about });
  heldAt.set(slot, token);
  return token;
}

// `area` undefined: any key's (the record count names a text by its identity, not its key).
function heldEntry(token, area, key) {
  const entry = held.get(token);
  if (entry === undefined || (area !== undefined && entry.slot !== `${area}\n${key}`)) {
    throw named("StaleText", `the bridge no longer holds text ${token}`);
  }
  return entry;
}

// A held entry's text: a record's JSON.stringify, made the first time it is asked for and kept.
function entryText(entry) {
  if (entry.text === undefined) entry.text = JSON.stringify(entry.record);
  return entry.text;
}

const heldText = (token, area, key) => entryText(heldEntry(token, area, key));

// In a read's answer (localGet, appGet): the key still holds the text Python holds under the
// token it sent for it, so the text does not cross again.
const STILL_HELD = false;

// `value` as it crosses to Python (out), a held text sent as UTF-8 bytes also hashed: the
// SHA-256 of those bytes, taken by crypto.subtle off this thread while Python works, is what
// the run's fingerprint asks for (textDigests) instead of hashing the text again in WebAssembly.
function sent(token, value) {
  const crossing = out(value);
  const subtle = globalThis.crypto?.subtle;
  if (token && crossing instanceof Uint8Array && subtle) {
    const digest = subtle.digest("SHA-256", crossing); // takes its own copy of the bytes
    digest.catch(() => {}); // asked for later, if at all
    held.get(token).digest = digest;
  }
  return crossing;
}

const toHex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");

/** The hex SHA-256 of the UTF-8 of each text held under tokens[i] for areas[i] keys[i], null where none was taken. */
export async function textDigests(areas, keys, tokens) {
  return Promise.all(
    tokens.map(async (token, i) => {
      const entry = held.get(token);
      if (entry?.digest === undefined || entry.slot !== `${areas[i]}\n${keys[i]}`) return null;
      try {
        return toHex(await entry.digest);
      } catch {
        return null;
      }
    }),
  );
}

/** Return a text from Python as a string: UTF-8 bytes decoded, a token as the text it holds for `area` `key`. */
export function textOf(value, area, key) {
  if (typeof value === "number") {
    if (area === undefined) throw named("DataError", "a text token needs its area and key");
    return heldText(value, area, key);
  }
  return value instanceof Uint8Array ? decoder.decode(value) : value;
}

const textsOf = (values, area, keys) => (values ? values.map((value, i) => textOf(value, area, keys?.[i])) : values);

// ---------- localStorage ----------

// Nesting deeper than this is refused before Python parses it (jsonstream.MAX_DEPTH):
// Python's parser recurses, and inside Pyodide a few thousand levels overflow the stack.
export const MAX_DEPTH = 500;

// Whether the arrays and objects of a parsed JSON value nest deeper than `limit`
// (walked without recursion, stopping at the first container too deep).
export function nestsDeeper(value, limit = MAX_DEPTH) {
  const values = [value];
  const depths = [1];
  while (values.length) {
    const v = values.pop();
    const depth = depths.pop();
    if (v === null || typeof v !== "object") continue;
    if (depth > limit) return true;
    const children = Array.isArray(v) ? v : Object.values(v);
    for (let i = 0; i < children.length; i++) {
      const child = children[i];
      if (child !== null && typeof child === "object") {
        values.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

// The length of a JSON array (with `member`, of the array that member of a JSON object
// holds: an AirPromptsDB record's "value"), or -1 when `text` is not that or nests deeper
// than MAX_DEPTH (Python then says why). V8's JSON.parse is about 5x faster than Python's
// parser inside Pyodide.
export function countArray(text, member) {
  try {
    if (typeof text === "number") {
      const entry = heldEntry(text);
      return countOf(entry.record !== undefined ? entry.record : JSON.parse(entry.text), member);
    }
    return countOf(JSON.parse(textOf(text)), member);
  } catch {
    return -1;
  }
}

function countOf(whole, member) {
  const isObject = whole !== null && typeof whole === "object" && !Array.isArray(whole);
  const value = member === undefined || member === null ? whole : isObject && Object.hasOwn(whole, member) ? whole[member] : undefined;
  return Array.isArray(value) && !nestsDeeper(whole) ? value.length : -1;
}

// The page's half of localStorage: what must run where localStorage is (the page's
// main thread), with plain strings (or the names below) in and out, since a structured clone of a string
// costs the page far less than its UTF-8 encoding, decoding or JSON.parse. Python
// calls the local* functions below, which run in Python's realm (a Worker on a
// host app's page, the page itself on the console) and reach these through `page`.
// Each is one synchronous task: a guarded write compares and writes in the same one.

// Texts the page and the worker both hold. Cloning a multi-MB localStorage value into a
// message is a task of the page's main thread of tens of ms (the first clone of a value
// loaded from disk took 12 to 63 ms for 3.3 M characters), and a run reads the same
// collections several times (its status, the compatibility layer, the plan, the
// verification). So the page names each large value it sent to or got from the worker,
// per key ({id, text}); the worker sends with each read the id of the text it holds for
// each key, and the page answers with SAME when the key still holds that very text.
// The page checks the text itself each time (`===`, at once for the same string), so a
// value changed by anyone is sent again: an id only spares a clone, it never vouches
// for a value. The other way, a text the page named crosses back as {shared: id}.
const SHARE_MIN = 32 * 1024;
const SAME = false; // in a read's answer: the text the worker holds under the id sent
const shared = new Map(); // key -> {id, text}
let lastShared = 0;

/** Name `text` as what `key` holds on both sides; return its id (0: not named). */
function share(key, text) {
  if (typeof text !== "string" || text.length < SHARE_MIN) {
    shared.delete(key);
    return 0;
  }
  const id = ++lastShared;
  shared.set(key, { id, text });
  return id;
}

// A value from the worker: a text, null (absent), or {shared: id} for the text the page named so.
function sharedText(key, value) {
  if (value === null || typeof value !== "object") return value;
  const entry = shared.get(key);
  if (entry === undefined || entry.id !== value.shared) {
    throw named("StaleText", `the page no longer holds text ${value.shared} of ${key}`);
  }
  return entry.text;
}

const sharedTexts = (keys, values) => (values ? values.map((value, i) => sharedText(keys[i], value)) : values);

function pageKeys() {
  const keys = [];
  for (let i = 0; i < localStorage.length; i++) keys.push(localStorage.key(i));
  return keys;
}

// null for an absent key. With `knownIds` (the ids of the texts the worker holds, 0: none),
// [values, ids]: SAME where the key holds the text of the id the worker sent, and each value's id.
function pageRead(keys, knownIds) {
  const values = keys.map((key) => localStorage.getItem(key));
  if (knownIds === undefined) return values;
  const ids = values.map((value, i) => {
    const entry = shared.get(keys[i]);
    if (entry === undefined || entry.text !== value) return share(keys[i], value);
    if (entry.id === knownIds[i]) values[i] = SAME;
    return entry.id;
  });
  return [values, ids];
}

// The keys whose value is not values[i] (null or undefined: absent).
function pageDiffer(keys, values) {
  const expected = sharedTexts(keys, values);
  return keys.filter((key, i) => (localStorage.getItem(key) ?? null) !== (expected[i] ?? null));
}

// Set and remove keys in one synchronous task, so a reload cannot split it; on
// failure (quota above all) put back every previous value before throwing.
// The guard: each expectKeys[i] must hold expectValues[i] (null or undefined:
// absent) or already hold what this write puts there; else nothing is written.
// Return the ids of the values set (see share).
function pageWrite(setKeys, sentSetValues, removeKeys, expectKeys, sentExpectValues) {
  // A stale {shared} name refuses the write before anything, the fault seam included: the worker sends the text instead.
  const setValues = sharedTexts(setKeys, sentSetValues);
  const expectValues = sharedTexts(expectKeys, sentExpectValues);
  fault("local_write", { set: setKeys, remove: removeKeys });
  // Each key is read once (a getItem of a multi-MB value copies it): for the guard and for the undo.
  const now = new Map();
  const current = (key) => {
    if (!now.has(key)) now.set(key, localStorage.getItem(key));
    return now.get(key);
  };
  if (expectKeys && expectKeys.length) {
    const after = new Map(removeKeys.map((key) => [key, null]));
    setKeys.forEach((key, i) => after.set(key, setValues[i]));
    guard(expectKeys, expectValues, current, after, "localStorage");
  }
  const touched = [...setKeys, ...removeKeys];
  const previous = touched.map(current);
  try {
    for (const key of removeKeys) localStorage.removeItem(key);
    for (let i = 0; i < setKeys.length; i++) localStorage.setItem(setKeys[i], setValues[i]);
  } catch (error) {
    for (let i = touched.length - 1; i >= 0; i--) {
      if (previous[i] === null) localStorage.removeItem(touched[i]);
    }
    for (let i = 0; i < touched.length; i++) {
      if (previous[i] !== null) {
        try {
          localStorage.setItem(touched[i], previous[i]);
        } catch (_) {
          // Putting back a value that was there cannot need more space than before.
        }
      }
    }
    throw asError(error);
  }
  for (const key of removeKeys) shared.delete(key);
  return setKeys.map((key, i) => share(key, setValues[i]));
}

// What the page answers (static/js/engine.js ANSWERS, asked by static/js/worker.js).
export const PAGE = { pageKeys, pageRead, pageDiffer, pageWrite };

let page = PAGE;

/** Reach the page's half through `remote` ({name: (...args) => Promise}): Python runs in a Worker. */
export function usePage(remote) {
  page = remote;
}

function guard(expectKeys, expectValues, current, after, where) {
  const changed = [];
  for (let i = 0; i < (expectKeys || []).length; i++) {
    const key = expectKeys[i];
    const now = current(key) ?? null;
    const expected = expectValues[i] ?? null;
    const next = after.has(key) ? after.get(key) : undefined;
    if (now !== expected && now !== next) changed.push(key);
  }
  if (changed.length) throw named("WriteConflict", `${where} changed under the write: ${changed.join(", ")}`);
}

// Python's side: UTF-8 bytes and their decoding, and JSON.parse, stay in Python's realm.

// The texts this side holds under the page's ids (see share): key -> {id, text}.
const known = new Map();

// Read `keys` on the page: a text this side holds under the id the page names crosses as SAME.
// Messages keep their order both ways, so SAME names what this side holds; should it ever not,
// the keys are read again with no ids, and every text crosses.
async function readPage(keys, withIds = true) {
  const [values, ids] = await page.pageRead(keys, keys.map((key) => (withIds && known.get(key)?.id) || 0));
  if (values.some((value, i) => value === SAME && known.get(keys[i])?.id !== ids[i])) return readPage(keys, false);
  return values.map((value, i) => {
    const key = keys[i];
    if (value === SAME) return known.get(key).text;
    if (ids[i]) known.set(key, { id: ids[i], text: value });
    else known.delete(key);
    return value;
  });
}

// `values` for the page: a text the page named crosses as {shared: id}.
const byName = (keys, values) =>
  values
    ? values.map((value, i) => {
        const entry = typeof value === "string" ? known.get(keys[i]) : undefined;
        return entry !== undefined && entry.text === value ? { shared: entry.id } : value;
      })
    : values;

// Ask the page with the texts it named sent by name; if it no longer holds one, with the texts themselves.
async function withNames(call, keyed) {
  try {
    return await call(keyed.map(([keys, values]) => byName(keys, values)));
  } catch (error) {
    if (error?.name !== "StaleText") throw error;
    return call(keyed.map(([, values]) => values));
  }
}

export async function localKeys() {
  return page.pageKeys();
}

// [values, tokens]: undefined, not null, reaches Python as None (token 0). `known`: the
// token of the text Python holds for each key (0: none). A key still holding that very text
// (compared with ===) answers STILL_HELD with that token: Python takes the text it holds, and
// the text is neither encoded, sent nor decoded again (tens of ms for a store of a few MB).
export async function localGet(keys, known) {
  const values = await readPage(keys);
  const texts = [];
  const tokens = [];
  values.forEach((value, i) => {
    const token = known ? known[i] : 0;
    const entry = token ? held.get(token) : undefined;
    if (typeof value === "string" && entry?.slot === `local\n${keys[i]}` && entry.text === value) {
      texts.push(STILL_HELD);
      tokens.push(token);
      return;
    }
    const now = hold("local", keys[i], value);
    texts.push(sent(now, value));
    tokens.push(now);
  });
  return [texts, tokens];
}

// The keys whose value is not values[i] (null or undefined: absent), compared
// on the page so that a large value never crosses back to Python only to be compared.
export async function localChanged(keys, encodedValues) {
  const values = textsOf(encodedValues, "local", keys);
  return withNames(([sent]) => page.pageDiffer(keys, sent), [[keys, values]]);
}

// The keys whose value JSON.parse refuses: the live app reads every key with it
// and replaces a value that fails with an empty default (its next save then wins).
// The values are read on the page and parsed here.
export async function localUnparsable(keys) {
  const values = await readPage(keys);
  return refused(keys, (key, i) => values[i]);
}

// The keys whose value (valueOf(key, i); null: absent, which parses) JSON.parse throws on.
function refused(keys, valueOf) {
  return keys.filter((key, i) => {
    const value = valueOf(key, i);
    if (value === null || value === undefined) return false;
    try {
      JSON.parse(value);
      return false;
    } catch (_) {
      return true;
    }
  });
}

// [localChanged(keys, values), localUnparsable(parseKeys)] from one read of the page:
// verify compares what the switch wrote and parses it here, off the page.
export async function localVerify(keys, encodedValues, parseKeys) {
  const expected = textsOf(encodedValues, "local", keys);
  const all = [...new Set([...keys, ...parseKeys])];
  const values = await readPage(all);
  const now = new Map(all.map((key, i) => [key, values[i] ?? null]));
  const differ = keys.filter((key, i) => now.get(key) !== (expected[i] ?? null));
  return [differ, refused(parseKeys, (key) => now.get(key))];
}

// Resolve with the tokens of the values set.
export async function localWrite(setKeys, encodedSetValues, removeKeys, expectKeys, encodedExpectValues) {
  const setValues = textsOf(encodedSetValues, "local", setKeys);
  const expectValues = textsOf(encodedExpectValues, "local", expectKeys);
  const ids = await withNames(
    ([sentSet, sentExpect]) => page.pageWrite(setKeys, sentSet, removeKeys, expectKeys, sentExpect),
    [
      [setKeys, setValues],
      [expectKeys || [], expectValues],
    ],
  );
  for (const key of removeKeys) {
    known.delete(key);
    hold("local", key, null);
  }
  setKeys.forEach((key, i) => {
    if (ids?.[i]) known.set(key, { id: ids[i], text: setValues[i] });
    else known.delete(key);
  });
  return setKeys.map((key, i) => hold("local", key, setValues[i]));
}

// ---------- IndexedDB helpers ----------

const connections = new Map();

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(asError(req.error));
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    // A failed request's error reaches the transaction before the transaction's own error is set:
    // it says why (a record IndexedDB refuses as too large is an UnknownError with its size).
    tx.onerror = (event) => {
      const error = tx.error || event?.target?.error;
      reject(error ? asError(error) : named("AbortError", "The transaction failed"));
    };
    tx.onabort = () => reject(tx.error ? asError(tx.error) : named("AbortError", "The transaction was aborted"));
  });
}

function open(name, version, upgrade) {
  const key = name;
  if (connections.has(key)) return connections.get(key);
  const promise = new Promise((resolve, reject) => {
    const req = version === undefined ? indexedDB.open(name) : indexedDB.open(name, version);
    req.onupgradeneeded = () => upgrade(req.result, req.transaction);
    req.onsuccess = () => {
      const db = req.result;
      // Another tab or a deleteDatabase() wants this database: let it go.
      db.onversionchange = () => {
        db.close();
        connections.delete(key);
      };
      db.onclose = () => connections.delete(key);
      resolve(db);
    };
    req.onerror = () => {
      connections.delete(key);
      reject(asError(req.error));
    };
    req.onblocked = () => {
      connections.delete(key);
      reject(named("TimeoutError", `Opening ${name} is blocked by another tab`));
    };
  });
  connections.set(key, promise);
  return promise;
}

export function closeAll() {
  for (const promise of connections.values()) promise.then((db) => db.close(), () => {});
  connections.clear();
}

async function appDbExists() {
  if (connections.has(APP_DB)) return true;
  if (!indexedDB.databases) return true;
  const dbs = await indexedDB.databases();
  return dbs.some((db) => db.name === APP_DB);
}

function openApp() {
  return open(APP_DB, 1, (db) => {
    if (!db.objectStoreNames.contains(APP_STORE)) db.createObjectStore(APP_STORE, { keyPath: "key" });
  });
}

function openOwn() {
  return open(OWN_DB, OWN_DB_VERSION, (db) => {
    for (const store of OWN_STORES) {
      if (!db.objectStoreNames.contains(store)) db.createObjectStore(store);
    }
  });
}

// ---------- AirPromptsDB / storage ----------

export async function appKeys() {
  if (!(await appDbExists())) return [];
  const db = await openApp();
  if (!db.objectStoreNames.contains(APP_STORE)) return [];
  const tx = db.transaction(APP_STORE, "readonly");
  const keys = await request(tx.objectStore(APP_STORE).getAllKeys());
  await done(tx);
  return keys.map(String);
}

async function appRecords(keys) {
  if (!(await appDbExists())) return keys.map(() => undefined);
  const db = await openApp();
  if (!db.objectStoreNames.contains(APP_STORE)) return keys.map(() => undefined);
  const tx = db.transaction(APP_STORE, "readonly");
  const store = tx.objectStore(APP_STORE);
  const records = await Promise.all(keys.map((key) => request(store.get(key))));
  await done(tx);
  return records;
}

const recordText = (record) => (record === undefined ? undefined : JSON.stringify(record));

// [texts, tokens, counts], as localGet, and each record's countArray(text, "value"), taken
// from the object itself (no JSON.parse): its JSON text holds the same array, nested no
// deeper (a Date, which nestsDeeper counts as a level, is a string there). Each record is
// held as the object read, for the guards and the verification to compare with.
// `known`: the token of the text Python holds for each key (0: none). A record that is
// still, as an object (sameGraph), the one appGet read under that token answers
// STILL_HELD with that token: its text would be the same, so it is neither serialised,
// encoded nor sent again (about a quarter of a second for a record of 10 MB). A record
// held from a write is never answered so: Python holds the text it wrote, which need not
// be JSON.stringify's text of the same value.
export async function appGet(keys, known) {
  await faultCheck("app_read", keys);
  const records = await appRecords(keys);
  const texts = [];
  const tokens = [];
  const counts = [];
  records.forEach((record, i) => {
    const token = known ? known[i] : 0;
    const entry = token ? held.get(token) : undefined;
    if (entry?.read && record !== undefined && entry.slot === `app\n${keys[i]}` && sameGraph(record, entry.record)) {
      texts.push(STILL_HELD);
      tokens.push(token);
      counts.push(entry.count);
      return;
    }
    const count = countOf(record, "value");
    const now = hold("app", keys[i], undefined, record, { read: true, count });
    texts.push(sent(now, recordText(record)));
    tokens.push(now);
    counts.push(count);
  });
  return [texts, tokens, counts];
}

const isPlain = (value) => {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
};

// Whether two records are one graph of plain objects and arrays: the same members in the
// same order, equal strings, numbers, booleans and nulls. True means JSON.stringify makes
// the same text of both; false only "not shown equal here" (a Date, a NaN, a member one
// of them leaves undefined), which sameRecord leaves to their texts. Walked without
// recursion; a record of several MB takes a few ms, where its JSON.stringify takes 50 to 150.
export function sameGraph(a, b) {
  const left = [a];
  const right = [b];
  while (left.length) {
    const x = left.pop();
    const y = right.pop();
    if (x === y) continue;
    if (x === null || y === null || typeof x !== "object" || typeof y !== "object") return false;
    if (Array.isArray(x)) {
      if (!Array.isArray(y) || x.length !== y.length) return false;
      for (let i = 0; i < x.length; i++) {
        left.push(x[i]);
        right.push(y[i]);
      }
      continue;
    }
    if (Array.isArray(y) || !isPlain(x) || !isPlain(y)) return false;
    const names = Object.keys(x);
    const others = Object.keys(y);
    if (names.length !== others.length) return false;
    for (let i = 0; i < names.length; i++) {
      if (names[i] !== others[i]) return false;
      left.push(x[names[i]]);
      right.push(y[names[i]]);
    }
  }
  return true;
}

// Whether `current` (JSON.stringify of a stored record, or null) is the record `text` holds.
function sameRecordText(current, text) {
  if (current === null || text === null) return current === text;
  if (current === text) return true;
  try {
    return current === JSON.stringify(JSON.parse(text));
  } catch {
    return false;
  }
}

// What a record is expected to be, from Python: null (absent), a held entry ({record} or
// {text}) for a token, or {text}.
function expectedOf(values, keys) {
  return keys.map((key, i) => {
    const value = values[i];
    if (value === null || value === undefined) return null;
    return typeof value === "number" ? heldEntry(value, "app", key) : { text: textOf(value) };
  });
}

// Whether the stored record `current` (undefined: absent) is `expected` (as expectedOf).
// Records compare as JSON.stringify of the stored object, as appGet gives them: a record
// held as an object is first compared as one, which spares both texts when they are equal.
function sameRecord(current, expected) {
  if (expected === null || current === undefined) return expected === null && current === undefined;
  if (expected.record !== undefined && sameGraph(current, expected.record)) return true;
  return sameRecordText(JSON.stringify(current), entryText(expected));
}

// The keys whose record is not texts[i] (null or undefined: absent).
export async function appChanged(keys, encodedTexts) {
  const expected = expectedOf(encodedTexts, keys);
  await faultCheck("app_read", keys);
  const records = await appRecords(keys);
  return keys.filter((key, i) => !sameRecord(records[i], expected[i]));
}

// Resolve with the tokens of the records put, held (as the objects put) under their keys.
export async function appWrite(encodedPutTexts, deleteKeys, expectKeys, encodedExpectTexts) {
  const putTexts = textsOf(encodedPutTexts);
  const records = putTexts.map((text) => JSON.parse(text));
  const expected = expectKeys ? expectedOf(encodedExpectTexts, expectKeys) : [];
  const db = await openApp();
  const abortAt = await faultCheck("app_write", { put: records.map((r) => r.key), delete: deleteKeys }, records.length);
  const tx = db.transaction(APP_STORE, "readwrite");
  const finished = done(tx);
  const store = tx.objectStore(APP_STORE);
  if (expectKeys && expectKeys.length) {
    // Read and compare inside the same transaction, so nothing can slip in between.
    const now = await Promise.all(expectKeys.map((key) => request(store.get(key))));
    const putAt = new Map(records.map((record, i) => [record.key, i]));
    const changed = expectKeys.filter((key, i) => {
      if (sameRecord(now[i], expected[i])) return false;
      if (deleteKeys.includes(key)) return now[i] !== undefined;
      // A resumed switch may find its own record already there.
      return !(putAt.has(key) && sameRecord(now[i], { record: records[putAt.get(key)] }));
    });
    if (changed.length) {
      tx.abort();
      await finished.catch(() => {});
      throw named("WriteConflict", `AirPromptsDB changed under the write: ${changed.join(", ")}`);
    }
  }
  for (const key of deleteKeys) store.delete(key);
  for (let index = 0; index < records.length; index++) {
    if (index === abortAt) {
      tx.abort();
      break;
    }
    store.put(records[index]);
  }
  await finished;
  for (const key of deleteKeys) hold("app", key, null);
  return records.map((record) => hold("app", String(record.key), undefined, record));
}

// ---------- AirPromptsMigrate (our own database) ----------

function prefixRange(prefix) {
  return prefix ? IDBKeyRange.bound(prefix, prefix + "\uffff") : undefined;
}

export async function ownGet(storeName, keys) {
  const db = await openOwn();
  const tx = db.transaction(storeName, "readonly");
  const store = tx.objectStore(storeName);
  const values = await Promise.all(keys.map((key) => request(store.get(key))));
  await done(tx);
  return values.map((value) => (value === null ? undefined : out(value)));
}

export async function ownScan(storeName, prefix, limit) {
  const db = await openOwn();
  const tx = db.transaction(storeName, "readonly");
  const store = tx.objectStore(storeName);
  const range = prefixRange(prefix);
  const count = limit === null || limit === undefined ? undefined : limit;
  const [keys, values] = await Promise.all([request(store.getAllKeys(range, count)), request(store.getAll(range, count))]);
  await done(tx);
  return [keys, values.map(out)];
}

export async function ownKeys(storeName, prefix) {
  const db = await openOwn();
  const tx = db.transaction(storeName, "readonly");
  const keys = await request(tx.objectStore(storeName).getAllKeys(prefixRange(prefix)));
  await done(tx);
  return keys;
}

// The own stores whose values are kept as the UTF-8 bytes Python sends them as: the staged
// batches and the plain backup chunks, which only Python reads back (each checked by its
// SHA-256 there). Decoding several MB of them here and storing two-byte strings cost a run
// about twice the bytes' own put. An encrypted chunk (base64) and every other value is text.
const STORED_AS_BYTES = new Set(["staging", "chunks"]);

function stored(storeName, value) {
  if (!(value instanceof Uint8Array) || !STORED_AS_BYTES.has(storeName)) return textOf(value);
  // A view into a larger buffer would store the whole buffer: keep exactly the bytes.
  return value.byteOffset === 0 && value.byteLength === value.buffer.byteLength ? value : value.slice();
}

// ops: [["put", store, key, value] | ["delete", store, key] | ["deletePrefix", store, prefix]]
export async function ownWrite(ops) {
  const db = await openOwn();
  const abortAt = await faultCheck("own_write", ops.map((op) => [op[0], op[1], op[2]]), ops.length);
  const stores = [...new Set(ops.map((op) => op[1]))];
  if (stores.length === 0) return;
  const tx = db.transaction(stores, "readwrite");
  const finished = done(tx);
  for (let index = 0; index < ops.length; index++) {
    const [kind, storeName, key, value] = ops[index];
    if (index === abortAt) {
      // A failure inside the transaction aborts it: nothing of it is applied.
      tx.abort();
      break;
    }
    const store = tx.objectStore(storeName);
    if (kind === "put") store.put(stored(storeName, value), key);
    else if (kind === "delete") store.delete(key);
    else if (kind === "deletePrefix") store.delete(prefixRange(key) ?? IDBKeyRange.lowerBound(""));
    else {
      tx.abort();
      await finished.catch(() => {});
      throw named("DataError", `unknown operation ${kind}`);
    }
  }
  await finished;
}

// ---------- quota, persistence, locks ----------

export async function estimate() {
  const { usage = 0, quota = 0 } = navigator.storage && navigator.storage.estimate ? await navigator.storage.estimate() : {};
  return [usage, quota];
}

export async function persist() {
  if (!navigator.storage || !navigator.storage.persist) return false;
  try {
    return await navigator.storage.persist();
  } catch (_) {
    return false;
  }
}

// Resolve with a handle whose release() frees the lock, or undefined when another
// tab or caller holds it. The lock lives until release() or the page goes away.
export function acquireLock(name) {
  return new Promise((resolve, reject) => {
    if (!navigator.locks) {
      resolve({ release() {} });
      return;
    }
    navigator.locks
      .request(name, { ifAvailable: true }, (lock) => {
        if (!lock) {
          resolve(undefined);
          return undefined;
        }
        return new Promise((release) => resolve({ release }));
      })
      .catch(reject);
  });
}

// Resolve once no tab holds the lock (nor waits for it ahead of us): a shared request is
// granted only then, and is let go at once. A closed tab's lock goes with its page.
export async function lockReleased(name) {
  if (!navigator.locks) return true;
  return navigator.locks.request(name, { mode: "shared" }, () => true);
}

export async function lockHeld(name) {
  if (!navigator.locks) return false;
  const state = await navigator.locks.query();
  return state.held.some((lock) => lock.name === name);
}

// What a user of the live AirPrompts app can reach in the stored data, read the way
// the app reads it (docs: ../shared/spec/data.md section 6; checked against the app's
// useFoldersQuery.js, localStorageManager.js, CollapsibleFolderTree.jsx, Homepage.jsx,
// template.types.js and ItemExecutor.jsx; none of their code is copied here).
//
// liveApp.readLocal(opts)         localStorage, as the app reads it
// liveApp.readAppDb(opts)         the collections in AirPromptsDB/storage, by the same rules
//                                 (the live app never reads them: only its unused migration
//                                 services open AirPromptsDB)
// liveApp.report(values, opts)    the report for {templates, workflows, snippets, folders}
//
// opts.mode = "live" (default): exactly the app's rules: parent_id, sort_order, ids with ===,
// steps through type + selectedTemplateId / templateOptions.
// opts.mode = "source": what the data meant to its user whatever its version (the "before"
// of a migration): parent_id else parentId, sort_order else (on a folder without parent_id)
// sortOrder, folder_id, numeric ids
// as their decimal string (the migration's own rule), 1.0.0 step fields and bare ids.
// opts.placeholders = true keeps the folders the app hides by id (its default folders).
(() => {
  const KINDS = ["templates", "workflows", "snippets", "folders"];
  const ITEM_KINDS = ["templates", "workflows", "snippets"];
  // useFoldersQuery drops folders with these ids: they are the app's own placeholders.
  const PLACEHOLDERS = new Set(["root", "projects", "writing", "school", "development", "workshop", "moods",
    "blocks", "ai-character-story", "prompt-website", "rogue-lite-game"]);
  const ROOT = "root";
  const has = (o, k) => o !== null && typeof o === "object" && Object.prototype.hasOwnProperty.call(o, k);
  const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

  // localStorageManager.loadFromStorage: an empty or missing value is the default; a parse failure too.
  function parse(key, text, failures) {
    if (text === null || text === "") return [];
    try {
      return JSON.parse(text);
    } catch (error) {
      failures.push({ key, error: String(error && error.message) });
      return [];
    }
  }

  // Returns {values, failures}: the collections in localStorage and the keys that do not parse.
  function localValues() {
    const failures = [];
    const values = {};
    for (const kind of KINDS) {
      const key = "airprompts_" + kind;
      const text = localStorage.getItem(key);
      if (text !== null) values[kind] = parse(key, text, failures);
    }
    // Every other app value the app (or its next save) parses: a failure there is a failure too.
    for (const key of Object.keys(localStorage).sort()) {
      if (!key.startsWith("airprompts") || KINDS.some((k) => key === "airprompts_" + k)) continue;
      if (key === "airprompts_theme_preference") continue; // a plain string for the app
      parse(key, localStorage.getItem(key), failures);
    }
    return { values, failures };
  }

  function appDbValues() {
    return new Promise((resolve, reject) => {
      indexedDB.databases().then((dbs) => {
        if (!dbs.some((d) => d.name === "AirPromptsDB")) return resolve({});
        const req = indexedDB.open("AirPromptsDB");
        req.onerror = () => reject(req.error);
        req.onsuccess = () => {
          const db = req.result;
          if (!db.objectStoreNames.contains("storage")) { db.close(); return resolve({}); }
          const all = db.transaction("storage").objectStore("storage").getAll();
          all.onerror = () => reject(all.error);
          all.onsuccess = () => {
            db.close();
            const values = {};
            for (const record of all.result) if (KINDS.includes(record.key)) values[record.key] = record.value;
            resolve(values);
          };
        };
      }, reject);
    });
  }

  function readLocal(opts = {}) {
    const { values, failures } = localValues();
    return report(values, { ...opts, failures, area: "localStorage" });
  }

  // The same rules over localStorage with AirPromptsDB's collections in place of their
  // localStorage copies (data.md section 1: the AirPromptsDB record is authoritative).
  async function readAppDb(opts = {}) {
    const { values, failures } = localValues();
    const db = await appDbValues();
    return report({ ...values, ...db }, { ...opts, failures, area: "AirPromptsDB", fromAppDb: Object.keys(db).sort() });
  }

  function report(values, opts = {}) {
    const source = opts.mode === "source";
    const id = (v) => (source && typeof v === "number" ? String(v) : v);
    const out = {
      area: opts.area || null,
      fromAppDb: opts.fromAppDb || [],
      mode: source ? "source" : "live",
      unparseable: (opts.failures || []).map((f) => f.key),
      failures: opts.failures || [],
      notArrays: [],
      counts: {},
      tree: {},        // parent folder id ("root" for the top) -> child folder ids in the order shown
      reachableFolders: [],
      detachedFolders: [], // in the data, not in the tree (no parent_id, or under a detached parent)
      hiddenPlaceholders: [],
      items: {},       // kind -> folder id -> item ids placed there, in stored order
      reachable: {},   // kind -> ids reachable from the tree (root included)
      unreachable: {}, // kind -> ids placed only in folders not in the tree
      favorites: [],   // [kind, item id, folder id]: folderFavorites[folder].isFavorite, in a reachable folder
      globalFavorites: {},
      steps: { resolved: [], unresolved: [] }, // [workflow id, step index, template id or reason]
    };
    const lists = {};
    for (const kind of KINDS) {
      const v = values[kind];
      if (v === undefined) { lists[kind] = []; continue; }
      // The app calls .filter/.find on it: anything but an array breaks the page.
      if (!Array.isArray(v)) { out.notArrays.push(kind); lists[kind] = []; continue; }
      lists[kind] = v.filter(isObj);
      out.counts[kind] = v.length;
    }

    // Folders: useFoldersQuery sets parentId from parent_id (null -> "root") and sortOrder from
    // sort_order; CollapsibleFolderTree lists a parent's children by parentId === parent, by
    // sortOrder (missing: 999), then by name.
    let folders = lists.folders.map((f) => {
      let parent;
      if (has(f, "parent_id")) parent = f.parent_id;
      else if (source && has(f, "parentId")) parent = f.parentId;
      else parent = undefined;
      if (parent === null || parent === ROOT) parent = ROOT;
      let order;
      if (f.sort_order !== undefined && f.sort_order !== null) order = f.sort_order;
      // A folder the live app wrote (it has parent_id) was shown by name when it had no
      // sort_order, whatever its sortOrder; one the old migration renamed kept its order there.
      else if (source && !has(f, "parent_id") && f.sortOrder !== undefined && f.sortOrder !== null) order = f.sortOrder;
      return { id: id(f.id), name: typeof f.name === "string" ? f.name : "", parent: parent === undefined ? undefined : id(parent), order, raw: f };
    });
    if (!opts.placeholders) {
      out.hiddenPlaceholders = folders.filter((f) => PLACEHOLDERS.has(f.id)).map((f) => f.id);
      folders = folders.filter((f) => !PLACEHOLDERS.has(f.id));
    }
    // Siblings none of which has a sort order are numbered by name; the others get max + 1.
    const byParent = new Map();
    for (const f of folders) {
      const p = f.parent === undefined ? ROOT : f.parent;
      if (!byParent.has(p)) byParent.set(p, []);
      byParent.get(p).push(f);
    }
    for (const siblings of byParent.values()) {
      const ordered = siblings.filter((f) => f.order !== undefined);
      if (!ordered.length) {
        [...siblings].sort((a, b) => a.name.localeCompare(b.name)).forEach((f, i) => { f.order = i; });
      } else {
        const max = Math.max(-1, ...ordered.map((f) => f.order));
        for (const f of siblings) if (f.order === undefined) f.order = max + 1;
      }
    }
    const key = (o) => (o !== undefined && o !== null ? o : 999);
    const children = (parent) =>
      folders
        .filter((f) => f.parent === parent)
        .sort((a, b) => (key(a.order) !== key(b.order) ? key(a.order) - key(b.order) : a.name.localeCompare(b.name)));
    const reachable = new Set([ROOT]);
    const visit = (parent, depth) => {
      if (depth > 64) return; // a cycle cannot be reached from the root anyway
      const kids = children(parent).filter((f) => !reachable.has(f.id));
      if (!kids.length) return;
      out.tree[parent] = kids.map((f) => f.id);
      for (const f of kids) reachable.add(f.id);
      for (const f of kids) visit(f.id, depth + 1);
    };
    visit(ROOT, 0);
    out.reachableFolders = [...reachable].filter((f) => f !== ROOT);
    out.detachedFolders = folders.filter((f) => !reachable.has(f.id)).map((f) => f.id);

    // Items: folderIds (non-empty) else folderId; the Home view takes "root", null, "" or no folder.
    for (const kind of ITEM_KINDS) {
      const placed = {};
      const reach = [];
      const unreach = [];
      for (const item of lists[kind]) {
        const itemId = id(item.id);
        let where;
        let ids = item.folderIds;
        if (source && !Array.isArray(ids) && Array.isArray(item.folder_ids)) ids = item.folder_ids;
        if (Array.isArray(ids) && ids.length > 0) where = ids.map((f) => (f === null || f === undefined || f === "" ? ROOT : id(f)));
        else {
          let single = item.folderId;
          if (source && single === undefined) single = item.folder_id;
          where = [single === undefined || single === null || single === "" ? ROOT : id(single)];
        }
        where = [...new Set(where)];
        for (const f of where) (placed[f] = placed[f] || []).push(itemId);
        (where.some((f) => reachable.has(f)) ? reach : unreach).push(itemId);
        let favs = item.folderFavorites;
        if (source && !isObj(favs) && isObj(item.folder_favorites)) favs = item.folder_favorites;
        if (isObj(favs)) {
          for (const [folderId, fav] of Object.entries(favs)) {
            const on = isObj(fav) && (fav.isFavorite === true || (source && fav.is_favorite === true));
            // Homepage lists a folder's favourites among the items it shows in that folder.
            if (on && where.includes(folderId) && reachable.has(folderId)) out.favorites.push([kind, itemId, folderId]);
          }
        }
        const fav = source && !has(item, "favorite") ? item.is_favorite : item.favorite;
        if (fav === true) (out.globalFavorites[kind] = out.globalFavorites[kind] || []).push(itemId);
      }
      out.items[kind] = placed;
      out.reachable[kind] = reach;
      out.unreachable[kind] = unreach;
    }

    // Workflow template steps: ItemExecutor runs a step of type "template" through
    // selectedTemplateId (when there are no templateOptions) or each of templateOptions,
    // found among the templates with ===.
    const templateIds = new Set(lists.templates.map((t) => id(t.id)));
    for (const wf of lists.workflows) {
      const steps = Array.isArray(wf.steps) ? wf.steps : [];
      steps.forEach((step, i) => {
        const at = [id(wf.id), i];
        let refs;
        if (source) {
          if (typeof step === "string" || typeof step === "number") refs = [id(step)];
          else if (isObj(step)) {
            const sel = step.selectedTemplateId ?? step.selected_template_id ?? step.templateId ?? step.template_id;
            const opts_ = step.templateOptions ?? step.template_options;
            if (Array.isArray(opts_) && opts_.length) refs = opts_.map((o) => id(isObj(o) ? o.id : o));
            else if (sel !== undefined && sel !== null) refs = [id(sel)];
          }
          if (!refs) return; // not a template step
        } else {
          if (!isObj(step)) {
            // A bare id: the app shows an empty step.
            if (typeof step === "string" || typeof step === "number") out.steps.unresolved.push([...at, "bare id"]);
            return;
          }
          const named = step.templateId ?? step.selectedTemplateId ?? step.templateOptions;
          if (step.type !== "template") {
            if (step.type === undefined && named !== undefined) out.steps.unresolved.push([...at, "no type"]);
            return;
          }
          if (Array.isArray(step.templateOptions) && step.templateOptions.length) {
            refs = step.templateOptions.map((o) => (isObj(o) ? o.id : o));
          } else if (step.selectedTemplateId && !step.templateOptions) refs = [step.selectedTemplateId];
          else {
            out.steps.unresolved.push([...at, "no selectedTemplateId"]);
            return;
          }
        }
        for (const ref of refs) {
          if (templateIds.has(ref)) out.steps.resolved.push([...at, ref]);
          else out.steps.unresolved.push([...at, "missing " + JSON.stringify(ref)]);
        }
      });
    }
    return out;
  }

  globalThis.liveApp = { readLocal, readAppDb, report, PLACEHOLDERS: [...PLACEHOLDERS] };
})();

// The benchmark's store: a 1.0.0 AirPrompts store of about `n` records, for localStorage
// (or AirPromptsDB when `inIdb`), as {local, records, chars}: tests/bench/run.py seeds it
// with the e2e tests' tests/e2e/seed.js, in a same-origin page.
//
// Records take the shapes of the real fixtures (/work/shared/fixtures/airprompts and
// tests/unit/core/fixtures): templates with variables, snippet tags, per-folder
// favourites and order; snippets with tags, some already half camelCase with a
// trailing `updated_at` as the real backup holds; folders with `parent_id`,
// `sort_order`, an icon and `type: "folder"`; workflows whose steps name templates,
// some by bare (numeric) id. Template content runs from 50 to 4 000 characters
// (log-uniform: most prompts are a few hundred), snippets from 10 to 600.
//
// text "multilingual" (the default) writes what users write: accents, curly quotes,
// em dashes, no-break spaces, CJK, Korean, Arabic and Hebrew (RTL marks included),
// Cyrillic, Devanagari, emoji (astral, ZWJ sequences, flags, skin tones) and Windows
// line ends in a third of the records. text "ascii" writes the same structure, the
// same lengths and the same line ends with English ASCII words only.
// Deterministic: the same (n, text) gives the same store; `chars` counts its collections' JSON.
({ n, inIdb, text }) => {
  const multilingual = text !== "ascii";
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pick = (items) => items[Math.floor(rnd() * items.length)];
  const logUniform = (lo, hi) => Math.round(lo * Math.exp(rnd() * Math.log(hi / lo)));
  const ASCII = [
    "Summarise the following text in plain words.",
    "Keep names, dates and numbers exact.",
    "Then list the open questions as bullets.",
    "Rewrite this paragraph in a friendlier tone - keep it short.",
    "Explain the code below and point out unhandled errors.",
    "Translate the text into English; keep the formatting.",
    "Write three subject lines for this email.",
    "Review the pull request for naming and tests.",
    "cd C:\\Users\\dev\\project; npm run dev",
    "Context: {input}",
  ];
  const WORLD = [
    "Summarise the \u201cfollowing\u201d text \u2014 keep names, dates and numbers exact\u2026",
    "Don\u2019t change the author\u2019s voice; list open questions as \u2022 bullets.",
    "R\u00e9sumez le texte ci\u2011dessous, s\u2019il vous pla\u00eet\u202f: \u00ab\u00a0{input}\u00a0\u00bb",
    "\u00dcbersetze den folgenden Absatz; achte auf Gro\u00df-/Kleinschreibung und \u00e4\u00f6\u00fc.",
    "\u00bfPodr\u00edas reescribir este p\u00e1rrafo con un tono m\u00e1s c\u00e1lido? \u00a1Gracias!",
    "Explique o c\u00f3digo a seguir e aponte exce\u00e7\u00f5es n\u00e3o tratadas.",
    "\u8bf7\u7528\u7b80\u6d01\u7684\u4e2d\u6587\u603b\u7ed3\u4ee5\u4e0b\u5185\u5bb9\uff0c\u5e76\u5217\u51fa\u4e09\u4e2a\u8981\u70b9\u3002",
    "\u6b21\u306e\u6587\u7ae0\u3092\u4e01\u5be7\u8a9e\u3067\u66f8\u304d\u76f4\u3057\u3066\u304f\u3060\u3055\u3044\u3002\u300c{input}\u300d",
    "\ub2e4\uc74c \uae00\uc744 \uc138 \ubb38\uc7a5\uc73c\ub85c \uc694\uc57d\ud574 \uc8fc\uc138\uc694.",
    "\u0644\u062e\u0651\u0635 \u0627\u0644\u0646\u0635 \u0627\u0644\u062a\u0627\u0644\u064a \u0641\u064a \u062b\u0644\u0627\u062b \u0646\u0642\u0627\u0637\u060c \u0645\u0639 \u0627\u0644\u062d\u0641\u0627\u0638 \u0639\u0644\u0649 \u0627\u0644\u0623\u0633\u0645\u0627\u0621.",
    "\u05e1\u05db\u05dd \u05d0\u05ea \u05d4\u05d8\u05e7\u05e1\u05d8 \u05d4\u05d1\u05d0 \u200f(\u05e9\u05dc\u05d5\u05e9 \u05e0\u05e7\u05d5\u05d3\u05d5\u05ea)\u200f \u05d5\u05e9\u05de\u05d5\u05e8 \u05e2\u05dc \u05d4\u05e9\u05de\u05d5\u05ea.",
    "\u041f\u0435\u0440\u0435\u043f\u0438\u0448\u0438 \u044d\u0442\u043e\u0442 \u0430\u0431\u0437\u0430\u0446 \u043f\u0440\u043e\u0441\u0442\u044b\u043c \u044f\u0437\u044b\u043a\u043e\u043c \u0438 \u0441\u043e\u0445\u0440\u0430\u043d\u0438 \u0432\u0441\u0435 \u0447\u0438\u0441\u043b\u0430.",
    "\u0928\u093f\u092e\u094d\u0928\u0932\u093f\u0916\u093f\u0924 \u092a\u093e\u0920 \u0915\u093e \u0938\u093e\u0930\u093e\u0902\u0936 \u0932\u093f\u0916\u0947\u0902\u0964",
    "Ship it \ud83d\ude80 \u2705 \ud83d\udc69\u200d\ud83d\udcbb \ud83c\uddf3\ud83c\uddf1 \ud83d\ude4f\ud83c\udffd \u2764\ufe0f",
    "cd C:\\Users\\Zo\u00eb\\\u9879\u76ee; bun run tauri dev",
    "Context: {input} \u2192 answer in the user\u2019s language",
  ];
  const NAMES_ASCII = ["Summary", "Code review", "Email", "Meeting notes", "Translate", "Bug report", "Blog outline"];
  const NAMES_WORLD = [
    "R\u00e9sum\u00e9 \u2014 r\u00e9union",
    "\u4ee3\u7801\u5ba1\u67e5",
    "\u0645\u0644\u062e\u0635 \u0627\u0644\u0628\u0631\u064a\u062f",
    "\u05e1\u05d9\u05db\u05d5\u05dd \u05e4\u05d2\u05d9\u05e9\u05d4",
    "\u041f\u0438\u0441\u044c\u043c\u043e \u043a\u043b\u0438\u0435\u043d\u0442\u0443",
    "\u201cQuick\u201d fix \ud83d\udee0\ufe0f",
    "\u30d6\u30ed\u30b0\u306e\u69cb\u6210",
  ];
  const phrases = multilingual ? WORLD : ASCII;
  const names = multilingual ? NAMES_WORLD : NAMES_ASCII;
  const ICONS = ["Folder", "Hammer", "Gamepad2", "Briefcase", "PenTool", "GraduationCap", "Code"];
  // Text of about `len` characters (UTF-16 units), lines of a few phrases, `eol` between lines.
  const prose = (len, eol) => {
    const out = [];
    let size = 0;
    while (size < len) {
      const line = [pick(phrases), pick(phrases)].join(" ");
      out.push(line);
      size += line.length + eol.length;
    }
    const cut = out.join(eol).slice(0, Math.max(1, len));
    // Never end on half a surrogate pair: users' text holds none.
    return /[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut;
  };
  const iso = (hours) => new Date(Date.UTC(2025, 0, 13) + hours * 3600000).toISOString();
  const stamp = (i) => 1753367717060 + i * 7919;
  const shares = { templates: 0.55, snippets: 0.25, workflows: 0.1, folders: 0.1 };
  const folderCount = Math.max(5, Math.floor(n * shares.folders));
  const folderId = (i) => `folder-${stamp(i)}-${(i * 2654435761 % 2 ** 32).toString(36)}`;
  const templateId = (i) => (i % 10 === 0 ? stamp(i) : `template-${i}-${(i * 40503).toString(16)}`);
  const store = {};

  store.folders = Array.from({ length: folderCount }, (_, i) => ({
    id: folderId(i),
    name: `${pick(names)} ${i}`,
    icon: pick(ICONS),
    type: "folder",
    is_favorite: i % 9 === 0,
    created_at: iso(i),
    updated_at: iso(i + 3),
    parent_id: i < 5 ? null : folderId(Math.floor(rnd() * i)),
    sort_order: i,
    description: i % 4 === 0 ? prose(logUniform(10, 120), "\n") : "",
  }));

  const templateCount = Math.floor(n * shares.templates);
  store.templates = Array.from({ length: templateCount }, (_, i) => {
    const eol = rnd() < 0.33 ? "\r\n" : "\n";
    const folder = folderId(Math.floor(rnd() * folderCount));
    const variables = ["input", "topic", "tone"].slice(0, 1 + Math.floor(rnd() * 3));
    const record = {
      id: templateId(i),
      name: `${pick(names)} ${i}`,
      description: prose(logUniform(20, 300), eol),
      content: `${prose(logUniform(50, 4000), eol)}${eol}${variables.map((v) => `{${v}}`).join(" ")}`,
      folder_id: folder,
      variables,
      snippet_tags: multilingual ? ["r\u00e9sum\u00e9", "\u8981\u70b9"] : ["summary", "points"],
      last_used: iso(i + 9),
      is_favorite: i % 7 === 0,
      folder_favorites: i % 5 === 0 ? { [folder]: { is_favorite: true, favorite_order: i % 3 } } : {},
      folder_order: {},
      created_at: iso(i),
      updated_at: iso(i + 5),
    };
    return record;
  });

  const snippetCount = Math.floor(n * shares.snippets);
  store.snippets = Array.from({ length: snippetCount }, (_, i) => {
    const eol = rnd() < 0.33 ? "\r\n" : "\n";
    const folder = folderId(Math.floor(rnd() * folderCount));
    if (i % 10 === 3) {
      // Half migrated by the live app, as in the real backup: camelCase plus a trailing updated_at.
      return {
        tags: ["style"],
        favorite: false,
        description: prose(logUniform(4, 80), eol),
        folderIds: [folder],
        name: `${pick(names)} ${i}`,
        content: prose(logUniform(10, 600), eol),
        updated_at: iso(i + 2),
        folderId: folder,
        id: `5d3a44c6-9ceb-4c09-${(1000 + (i % 9000)).toString(16)}-${i.toString(16).padStart(12, "0")}`,
        createdAt: iso(i),
        updatedAt: iso(i + 4),
        folderFavorites: { [folder]: { isFavorite: true, favoriteOrder: 0 } },
      };
    }
    return {
      id: `snippet-${i}`,
      name: `${pick(names)} ${i}`,
      description: prose(logUniform(10, 120), eol),
      content: prose(logUniform(10, 600), eol),
      folder_id: folder,
      tags: multilingual ? ["\u0442\u043e\u043d", "ton"] : ["tone", "style"],
      last_used: iso(i + 1),
      is_favorite: i % 11 === 0,
      folder_favorites: {},
      folder_order: {},
      created_at: iso(i),
      updated_at: iso(i + 2),
    };
  });

  const workflowCount = Math.floor(n * shares.workflows);
  store.workflows = Array.from({ length: workflowCount }, (_, i) => ({
    id: `workflow-${i}`,
    name: `${pick(names)} ${i}`,
    description: prose(logUniform(10, 200), "\n"),
    folder_id: folderId(Math.floor(rnd() * folderCount)),
    steps: [
      { id: `step-${i}-1`, type: "template", template_id: templateId(0), step_order: 1, name: pick(names) },
      { template_id: templateId(Math.min(templateCount - 1, 1 + (i % 50))), step_order: 2 },
      templateId(10 * Math.floor(rnd() * Math.max(1, templateCount / 10))),
    ],
    is_favorite: false,
    created_at: iso(i),
    updated_at: iso(i + 1),
  }));

  const local = {
    airprompts_schema_version: JSON.stringify("1.0.0"),
    airprompts_ui_preferences: JSON.stringify({ default_view: "grid", show_previews: true }),
    airprompts_user_settings: JSON.stringify({ auto_save: true, display_name: multilingual ? "Zo\u00eb \u674e" : "Zoe Li" }),
    airprompts_root_folder: JSON.stringify({ description: prose(40, "\n"), updatedAt: iso(1) }),
    airprompts_todos: "[]",
    airprompts_tags: JSON.stringify(multilingual ? ["r\u00e9sum\u00e9", "\u8981\u70b9", "\u0442\u043e\u043d"] : ["summary", "points", "tone"]),
    airprompts_theme_preference: JSON.stringify("dark"),
  };
  const chars = Object.values(store).reduce((total, records) => total + JSON.stringify(records).length, 0);
  const records = [];
  for (const [kind, items] of Object.entries(store)) {
    if (inIdb) records.push({ key: kind, value: items, timestamp: Date.now() });
    else local[`airprompts_${kind}`] = JSON.stringify(items);
  }
  return { local, records, chars };
}

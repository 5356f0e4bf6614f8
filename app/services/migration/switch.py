"""The guarded switch to the migrated data, its verify, and its undo (keeping values another writer stored).

Every write of the switch is guarded: a key that another writer changed since the
run read it is never overwritten (``WriteConflict``); the undo puts back the value
from before the run only where the switch's own value still stands.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from app.core import keys, revisions
from app.core.digest import sha256_hex
from app.core.errors import VerificationFailed, WriteConflict
from app.core.versions import version_text
from app.services import journal
from app.services.logger import MigrationLogger
from app.services.migration.report import join_array
from app.services.migration.runtime import Runtime
from app.services.migration.state import Run, Target, same
from app.storage.base import Text

Write = tuple[str, str, "Text | None"]  # (area, key, new value; None: removed)


def writes(run: Run) -> list[Write]:
    """Return every (area, key, new value) the switch writes, in write order (None: removed)."""
    found: list[Write] = [(t.area, t.key, t.text) for t in run.targets if t.area == "app"]
    found += [(t.area, t.key, t.text) for t in run.targets if t.area == "local"]
    found += [("local", key, None) for key in run.remove]
    found.append(("local", keys.SCHEMA_VERSION_KEY, version_text()))
    return found


def watched(run: Run) -> list[Write]:
    """Return the switch's writes plus the legacy keys the run read (which it never writes)."""
    planned = writes(run)
    written = {(area, key) for area, key, _ in planned}
    legacy = [("local", key, None) for key in run.plan.legacy_keys if ("local", key) not in written]
    return planned + legacy


def originals(run: Run, local: Mapping[str, str], app: Mapping[str, str]) -> dict[tuple[str, str], str | None]:
    """Return the value before the run of every key the switch watches."""
    return {(area, key): (local if area == "local" else app).get(key) for area, key, _ in watched(run)}


class Switch:
    """Write, verify and undo the switch of one run."""

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    async def rebuild(self, run: Run, record: journal.JournalRecord) -> None:
        """Rebuild the switch targets from staging; raise UnusableJournal when they do not match the journal."""
        storage = self.rt.storage
        targets = []
        try:
            for entry in record.targets:
                text: Text
                if entry["join"]:
                    pairs = await journal.scan_staged(storage, entry["staging"])
                    # The bytes the run hashed and would have written (Staged.array).
                    fragments = (value.encode("utf-8") for _, value in pairs)
                    text = join_array(fragments, entry["head"].encode("utf-8"), entry["tail"].encode("utf-8"))
                else:
                    staged = await journal.read_staged(storage, entry["staging"])
                    if staged is None:
                        raise journal.UnusableJournal(f"staged value {entry['staging']} is missing")
                    text = staged
                if sha256_hex(text) != entry["sha256"]:
                    raise journal.UnusableJournal(
                        f"staged text of {entry['area']}:{entry['key']} does not match the journal"
                    )
                targets.append(
                    Target(
                        entry["area"],
                        entry["key"],
                        text,
                        entry["staging"],
                        entry["join"],
                        entry["head"],
                        entry["tail"],
                        entry.get("records"),
                        entry.get("kind"),
                    )
                )
            run.targets = targets
            run.remove = list(record.remove)
            text = await journal.read_staged(storage, journal.report_key(run.run_id))
            if text is None:
                raise journal.UnusableJournal("the staged report is missing")
            run.report = json.loads(text)
        except (ValueError, KeyError, TypeError) as exc:
            raise journal.UnusableJournal(str(exc)) from exc

    async def write(self, run: Run) -> None:
        """Write the new data; every write is guarded so a key another writer changed is never overwritten."""
        storage, retry = self.rt.storage, self.rt.retry
        planned = writes(run)
        # localStorage first, as nothing is written yet. AirPromptsDB, written first, is checked by its
        # own guarded write, in the same transaction: a second comparison of several MB would add nothing.
        await self.check_unchanged(run, [(area, key, new) for area, key, new in watched(run) if area == "local"])
        app_put = {key: new for area, key, new in planned if area == "app" and new is not None}
        app_expect = {key: run.originals.get(("app", key)) for key in app_put}
        local_set = {t.key: t.text for t in run.targets if t.area == "local"}
        local_expect = {key: run.originals.get(("local", key)) for key in [*local_set, *run.remove]}
        if app_put:
            await retry(storage.app_write, app_put, (), app_expect)
        if local_set or run.remove:
            await retry(storage.local_write, local_set, run.remove, local_expect)
        # Last: the app reads this key to know the data is at the target version.
        schema = keys.SCHEMA_VERSION_KEY
        await retry(storage.local_write, {schema: version_text()}, (), {schema: run.originals.get(("local", schema))})

    async def current(self, planned: list[Write]) -> dict[tuple[str, str], str | None]:
        storage, retry = self.rt.storage, self.rt.retry
        local = await retry(storage.local_get, [key for area, key, _ in planned if area == "local"])
        app = await retry(storage.app_get, [key for area, key, _ in planned if area == "app"])
        return {(area, key): (local if area == "local" else app).get(key) for area, key, _ in planned}

    async def changed(self, expected: Mapping[tuple[str, str], Text | None]) -> set[tuple[str, str]]:
        """Return the (area, key) pairs not holding their expected value, compared where they are stored."""
        storage = self.rt.storage
        found: set[tuple[str, str]] = set()
        for area, compare in (("local", storage.local_changed), ("app", storage.app_changed)):
            wanted = {key: value for (where, key), value in expected.items() if where == area}
            if wanted:
                found.update((area, key) for key in await self.rt.retry(compare, wanted))
        return found

    async def foreign(self, run: Run, watching: list[Write]) -> set[tuple[str, str]]:
        """Return the watched keys holding neither their value before the run nor the one the switch writes."""
        differ = await self.changed({(area, key): run.originals.get((area, key)) for area, key, _ in watching})
        # A key the switch writes may already hold its new value (a resumed switch).
        new = {(area, key): value for area, key, value in writes(run)}
        written = {pair: new[pair] for pair in differ if pair in new}
        return (differ - set(written)) | await self.changed(written)

    async def check_unchanged(self, run: Run, watching: list[Write]) -> None:
        """Raise WriteConflict when a key holds neither its value before the run nor the new one."""
        found = await self.foreign(run, watching)
        if found:
            names = [f"{area}:{key}" for area, key, _ in watching if (area, key) in found]
            raise WriteConflict(f"changed since the migration read them: {', '.join(names)}", keys=names)

    async def undo(self, run: Run, log: MigrationLogger) -> None:
        """Put back the value from before the run wherever the switch's own value still stands."""
        storage = self.rt.storage
        planned = writes(run)
        now_holding = await self.current(planned)
        # Undo the version first, so the app reads the data as not migrated while the rest goes back.
        for area, key, new in reversed(planned):
            original = run.originals.get((area, key))
            now = now_holding[(area, key)]
            if same(now, original, area):
                continue
            if not same(now, new, area):
                log.warn(f"{area}:{key} was changed by another writer during the migration; its new value is kept")
                continue
            put = {} if original is None else {key: original}
            drop = [key] if original is None else []
            write = storage.app_write if area == "app" else storage.local_write
            try:
                await self.rt.retry(write, put, drop, {key: new})
            except WriteConflict:
                log.warn(f"{area}:{key} changed again while the migration was undone; its new value is kept")

    async def verify(self, run: Run) -> None:
        """Raise VerificationFailed unless every written key holds what was staged and parses as JSON."""
        # Equal to the staged text means equal records and counts: no re-parse, no re-validation.
        # The stores compare it where it lies, so the written data does not come back to Python.
        expected: dict[tuple[str, str], Text | None] = {(t.area, t.key): t.text for t in run.targets}
        expected.update({("local", key): None for key in run.remove})
        expected[("local", keys.SCHEMA_VERSION_KEY)] = version_text()
        # The live app reads every key with JSON.parse: prove each written value parses where it lies,
        # from the same read as the comparison. (AirPromptsDB records were parsed by the browser to be
        # stored at all.)
        written = [t.key for t in run.targets if t.area == "local"] + [keys.SCHEMA_VERSION_KEY]
        local_expected = {key: value for (area, key), value in expected.items() if area == "local"}
        local_differ, unparsable = await self.rt.retry(self.rt.storage.local_verify, local_expected, written)
        differ = {("local", key) for key in local_differ}
        differ |= await self.changed({pair: value for pair, value in expected.items() if pair[0] == "app"})
        problems = [f"{t.area}:{t.key} differs from what was staged" for t in run.targets if (t.area, t.key) in differ]
        problems += [
            f"local:{key} should have moved to IndexedDB but is still there" for key in run.remove if ("local", key) in differ
        ]
        if ("local", keys.SCHEMA_VERSION_KEY) in differ:
            problems.append(f"airprompts_schema_version is not {revisions.target()}")
        for key in unparsable:
            problems.append(f"local:{key} is not JSON the browser can parse")
        if problems:
            raise VerificationFailed(
                "The written data does not match what was staged: " + "; ".join(problems), problems=problems
            )

    async def displaced(self, run: Run, log: MigrationLogger) -> list[tuple[str, str, str]]:
        """Return (area, key, value) of each key the switch writes that holds neither its value before the
        run nor the migrated one: a write of another tab (or a storage fault) that restoring the backup
        would otherwise erase. Best effort: a failure to read leaves the restore as it was."""
        planned = writes(run)
        if not all((area, key) in run.originals for area, key, _ in planned):
            return []  # the values before the run are unknown: nothing to compare with
        try:
            found_keys = await self.foreign(run, planned)
            held = await self.current([w for w in planned if w[:2] in found_keys]) if found_keys else {}
        except Exception as exc:
            log.warn(f"could not read the live data before rolling back: {exc}")
            return []
        found = []
        for (area, key), value in held.items():
            if value is not None:  # an absent key has nothing to keep
                log.warn(f"{area}:{key} changed during the failed run; its value is kept in the run's history entry")
                found.append((area, key, value))
        return found

    async def keep_displaced(self, run: Run, log: MigrationLogger, *, known: Any = ()) -> None:
        """Add to ``run.displaced`` the values another writer stored, except those already ``known``."""
        seen = set(known)
        run.displaced += [item for item in await self.displaced(run, log) if item[:2] not in seen]



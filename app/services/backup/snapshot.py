"""The app data a backup holds: every app-owned localStorage key and AirPromptsDB record, as stored."""

from __future__ import annotations

from typing import Iterable

from app.core.keys import is_app_key
from app.services.backup.chunks import State
from app.storage.base import Storage


async def snapshot(storage: Storage, keys: Iterable[str] | None = None) -> State:
    """Return every app-owned localStorage value and AirPromptsDB record (within ``keys``), exactly as stored."""
    wanted = None if keys is None else set(keys)
    local_keys = [k for k in await storage.local_keys() if is_app_key(k)]
    app_keys = list(await storage.app_keys())
    if wanted is not None:
        local_keys = [k for k in local_keys if k in wanted]
        app_keys = [k for k in app_keys if k in wanted]
    local = {k: v for k, v in (await storage.local_get(local_keys)).items() if v is not None}
    app = {k: v for k, v in (await storage.app_get(app_keys)).items() if v is not None}
    return {"local": local, "app": app}

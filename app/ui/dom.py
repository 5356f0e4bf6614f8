"""Small DOM helpers for the console: build elements from text, listen, download.

User data only ever reaches the page as text (``textContent`` or text nodes);
nothing here sets ``innerHTML``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Callable, Iterable

import js
from pyodide.ffi import create_proxy, to_js

log = logging.getLogger(__name__)

SVG_NS = "http://www.w3.org/2000/svg"
Child = Any  # a DOM node, a string (becomes a text node) or None (skipped)


def by_id(element_id: str) -> Any:
    """Return the element with ``element_id``; raise when the page lacks it."""
    node = js.document.getElementById(element_id)
    if not node:  # a JS null arrives as a falsy JsNull, not None
        raise LookupError(f"the console page has no element #{element_id}")
    return node


def text(value: Any) -> Any:
    """Return a text node holding ``value`` as text."""
    return js.document.createTextNode("" if value is None else str(value))


def _append(node: Any, children: Iterable[Child]) -> None:
    for child in children:
        if child is None:
            continue
        node.appendChild(text(child) if isinstance(child, (str, int, float)) else child)


def el(tag: str, *children: Child, cls: str | None = None, **attrs: Any) -> Any:
    """Return a new ``tag`` element with ``children``; ``attrs`` become attributes (``data_x`` -> ``data-x``)."""
    node = js.document.createElement(tag)
    if cls:
        node.className = cls
    for name, value in attrs.items():
        if value is None or value is False:
            continue
        attr = name.rstrip("_").replace("_", "-")
        node.setAttribute(attr, "" if value is True else str(value))
    _append(node, children)
    return node


def svg(tag: str, *children: Child, **attrs: Any) -> Any:
    """Return a new SVG ``tag`` element; ``attrs`` become attributes (``stroke_width`` -> ``stroke-width``)."""
    node = js.document.createElementNS(SVG_NS, tag)
    for name, value in attrs.items():
        if value is None:
            continue
        attr = name.rstrip("_").replace("_", "-")
        node.setAttribute(attr, str(value))
    _append(node, children)
    return node


def fill(node: Any, *children: Child) -> Any:
    """Replace every child of ``node`` with ``children``."""
    node.replaceChildren()
    _append(node, children)
    return node


def set_text(element_id: str, value: Any) -> None:
    """Set the text of element ``element_id``."""
    by_id(element_id).textContent = "" if value is None else str(value)


def show(node: Any, visible: bool = True) -> None:
    """Show or hide ``node`` with the ``hidden`` attribute."""
    node.hidden = not visible


def download(filename: str, mime: str, content: str) -> None:
    """Offer ``content`` as a file download named ``filename``."""
    blob = js.Blob.new(to_js([content]), to_js({"type": mime}, dict_converter=js.Object.fromEntries))
    url = js.URL.createObjectURL(blob)
    link = el("a", href=url, download=filename, hidden=True)
    js.document.body.appendChild(link)
    try:
        link.click()
    finally:
        link.remove()
        # Revoke after the click's navigation has started; revoking at once can cancel it.
        js.setTimeout(create_once(lambda: js.URL.revokeObjectURL(url)), 1000)


def create_once(callback: Callable[[], Any]) -> Any:
    """Return a JS function that runs ``callback`` once, then frees itself."""
    holder: dict[str, Any] = {}

    def run(*_args: Any) -> None:
        try:
            callback()
        finally:
            holder["proxy"].destroy()

    holder["proxy"] = create_proxy(run)
    return holder["proxy"]


def pretty_json(value: Any) -> str:
    """Return ``value`` as indented JSON text."""
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


class Listeners:
    """Own every DOM listener and event-bus subscription of the console, so ``close`` frees them all."""

    def __init__(self) -> None:
        self._dom: list[tuple[Any, str, Any]] = []
        self._unsubscribers: list[Callable[[], None]] = []
        self._tasks: set[asyncio.Task] = set()

    def on(self, target: Any, event: str, handler: Callable[[Any], Any]) -> None:
        """Call ``handler(event)`` on every ``event`` of ``target``."""
        proxy = create_proxy(handler)
        target.addEventListener(event, proxy)
        self._dom.append((target, event, proxy))

    def subscribe(self, unsubscribe: Callable[[], None]) -> None:
        """Keep an event-bus unsubscriber for ``close``."""
        self._unsubscribers.append(unsubscribe)

    def spawn(self, coro: Any) -> asyncio.Task:
        """Run ``coro`` as a task the console keeps until it ends."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def close(self) -> None:
        """Remove every listener, destroying its proxy, and cancel running tasks."""
        for target, event, proxy in self._dom:
            target.removeEventListener(event, proxy)
            proxy.destroy()
        self._dom.clear()
        for unsubscribe in self._unsubscribers:
            unsubscribe()
        self._unsubscribers.clear()
        for task in list(self._tasks):
            task.cancel()

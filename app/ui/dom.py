"""A small remote DOM for the console: build element trees and change the page, from the worker.

The console's Python runs in the engine's Worker, away from the page's DOM. Here it
builds light element trees (``el``, ``svg``) and changes the page's elements by id
(``by_id(...).textContent = ...``, ``fill``, ``show``, ``download``); each change is an
operation queued on the ``Document`` and posted to the page in one message per Python
task, where ``static/js/console.js`` applies them. Events come back from the page as
JSON with the form's current values and the clicked element's dataset.

User data only ever reaches the page as text: a tree's strings become text nodes and
attribute values; nothing here or in console.js sets ``innerHTML``.

An element's state that the console reads back (``value``, ``disabled``, ``dataset``,
``aria-busy``, text) is mirrored here: from the page's snapshot at start, from what
the console itself set, and from the values each event carries.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Callable, Iterable

log = logging.getLogger(__name__)

SVG_NS = "http://www.w3.org/2000/svg"
Child = Any  # a Node, a string or number (becomes a text node) or None (skipped)
# Element methods the page runs when asked (static/js/console.js CALLS).
CALLS = frozenset({"focus", "scrollIntoView", "showModal", "close"})
PROPS = frozenset({"value", "disabled", "hidden", "className", "returnValue"})


class Node:
    """An element to be built on the page: its tag, namespace, attributes and children."""

    __slots__ = ("tag", "ns", "attrs", "children")

    def __init__(self, tag: str, ns: str | None = None) -> None:
        self.tag = tag
        self.ns = ns
        self.attrs: dict[str, str] = {}
        self.children: list[Any] = []

    def __repr__(self) -> str:
        return f"<Node {self.tag} children={len(self.children)}>"

    def to_json(self) -> dict[str, Any]:
        """Return the tree as plain data: ``{tag, ns?, attrs, children}``, text children as strings."""
        out: dict[str, Any] = {"tag": self.tag, "attrs": self.attrs, "children": [
            child.to_json() if isinstance(child, Node) else child for child in self.children
        ]}
        if self.ns:
            out["ns"] = self.ns
        return out

    def appendChild(self, child: Child) -> Node:  # noqa: N802 - the DOM's name
        """Add ``child`` (a Node or text) at the end; return it."""
        self.children.extend(_children([child]))
        return child

    def text(self) -> str:
        """Return the tree's text, as ``textContent`` would."""
        return "".join(child.text() if isinstance(child, Node) else child for child in self.children)


def _children(children: Iterable[Child]) -> list[Any]:
    out = []
    for child in children:
        if child is None:
            continue
        out.append(child if isinstance(child, Node) else str(child))
    return out


def _attr_name(name: str) -> str:
    return name.rstrip("_").replace("_", "-")


def el(tag: str, *children: Child, cls: str | None = None, **attrs: Any) -> Node:
    """Return a new ``tag`` element with ``children``; ``attrs`` become attributes (``data_x`` -> ``data-x``)."""
    node = Node(tag)
    if cls:
        node.attrs["class"] = cls
    for name, value in attrs.items():
        if value is None or value is False:
            continue
        node.attrs[_attr_name(name)] = "" if value is True else str(value)
    node.children = _children(children)
    if "id" in node.attrs:
        document.adopt(node)
    return node


def svg(tag: str, *children: Child, **attrs: Any) -> Node:
    """Return a new SVG ``tag`` element; ``attrs`` become attributes (``stroke_width`` -> ``stroke-width``)."""
    node = Node(tag, SVG_NS)
    for name, value in attrs.items():
        if value is None:
            continue
        node.attrs[_attr_name(name)] = str(value)
    node.children = _children(children)
    return node


def text(value: Any) -> str:
    """Return ``value`` as the text of a text node."""
    return "" if value is None else str(value)


class Dataset:
    """An element's ``data-*`` values (camelCase names, as ``element.dataset``); setting one changes the page."""

    def __init__(self, element: Element) -> None:
        object.__setattr__(self, "_element", element)
        object.__setattr__(self, "_values", {})

    def __getattr__(self, name: str) -> Any:
        return self._values.get(name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._values[name] = str(value)
        self._element.document.queue(["data", self._element.id, name, str(value)])

    def update(self, values: dict[str, str]) -> None:
        self._values.update(values)


class Element:
    """A page element with an id, as the console sees it: set its state, call its methods, read it back."""

    def __init__(self, document: Document, element_id: str, tag: str = "") -> None:
        object.__setattr__(self, "document", document)
        object.__setattr__(self, "id", element_id)
        object.__setattr__(self, "tagName", tag.upper())
        object.__setattr__(self, "state", {"value": "", "disabled": False, "hidden": False, "className": "",
                                           "returnValue": "", "textContent": ""})
        object.__setattr__(self, "attributes", {})
        object.__setattr__(self, "dataset", Dataset(self))
        object.__setattr__(self, "files", [])

    def __repr__(self) -> str:
        return f"<Element #{self.id} {self.tagName}>"

    def __getattr__(self, name: str) -> Any:
        state = object.__getattribute__(self, "state")
        if name in state:
            return state[name]
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "files":  # what the page sent of a file input's files; nothing changes on the page
            object.__setattr__(self, "files", list(value))
        elif name == "textContent":
            value = text(value)
            self.state["textContent"] = value
            self.document.queue(["text", self.id, value])
        elif name in PROPS:
            self.state[name] = value
            self.document.queue(["prop", self.id, name, value])
        else:
            raise AttributeError(f"the console does not set {name} on #{self.id}")

    def setAttribute(self, name: str, value: Any) -> None:  # noqa: N802 - the DOM's name
        self.attributes[name] = str(value)
        self.document.queue(["attr", self.id, name, str(value)])

    def getAttribute(self, name: str) -> str | None:  # noqa: N802 - the DOM's name
        return self.attributes.get(name)

    def removeAttribute(self, name: str) -> None:  # noqa: N802 - the DOM's name
        self.attributes.pop(name, None)
        self.document.queue(["attr", self.id, name, None])

    def call(self, method: str, *args: Any) -> None:
        """Run ``element.<method>(*args)`` on the page (``focus``, ``scrollIntoView``, ``showModal``, ``close``)."""
        if method not in CALLS:
            raise ValueError(f"the console does not call {method}")
        self.document.queue(["call", self.id, method, list(args)])

    def focus(self, options: dict | None = None) -> None:
        self.call("focus", *([options] if options else []))

    def scrollIntoView(self, options: dict | None = None) -> None:  # noqa: N802 - the DOM's name
        self.call("scrollIntoView", *([options] if options else []))

    def showModal(self) -> None:  # noqa: N802 - the DOM's name
        self.call("showModal")

    def replace_children(self, nodes: list[Any]) -> None:
        self.state["textContent"] = "".join(n.text() if isinstance(n, Node) else n for n in nodes)
        self.document.queue(["children", self.id, [n.to_json() if isinstance(n, Node) else n for n in nodes]])


class Event:
    """A page event as the console's handlers get it: ``type``, ``target``, ``detail``, and the clicked action."""

    def __init__(self, kind: str, target: Element | None, detail: Any = None, action: Element | None = None) -> None:
        self.type = kind
        self.target = target
        self.detail = detail
        self.action = action

    def __repr__(self) -> str:
        return f"<Event {self.type} on {self.target!r}>"

    def preventDefault(self) -> None:  # noqa: N802 - the DOM's name
        """Nothing to do: the page prevents every default of the events it forwards (console.js)."""


Handler = Callable[[Event], Any]
WINDOW = "window"


class Document:
    """The console's page as seen from Python: the elements by id, the queued changes, the listeners."""

    def __init__(self) -> None:
        self.elements: dict[str, Element] = {}
        self.ops: list[list[Any]] = []
        self.listeners: dict[tuple[str, str], list[Handler]] = {}
        self.js_post: Callable[[str], Any] | None = None
        self._flush_pending = False

    def __repr__(self) -> str:
        return f"<Document elements={len(self.elements)} queued={len(self.ops)}>"

    def connect(self, post: Callable[[str], Any], snapshot: dict[str, dict] | None = None) -> None:
        """Post queued changes with ``post(json_text)``; take the page's elements from ``snapshot``."""
        self.js_post = post
        for element_id, info in (snapshot or {}).items():
            element = self.element(element_id, info.get("tag", ""))
            for name in ("value", "disabled", "hidden", "className", "textContent"):
                if name in info:
                    element.state[name] = info[name]
            element.attributes.update(info.get("attributes") or {})
            element.dataset.update(info.get("dataset") or {})

    def element(self, element_id: str, tag: str = "") -> Element:
        found = self.elements.get(element_id)
        if found is None:
            found = self.elements[element_id] = Element(self, element_id, tag)
        return found

    def adopt(self, node: Node) -> None:
        """Mirror a new element with an id, as it will be on the page once built."""
        element_id = node.attrs["id"]
        element = Element(self, element_id, node.tag)
        element.state["disabled"] = "disabled" in node.attrs
        element.state["hidden"] = "hidden" in node.attrs
        element.state["className"] = node.attrs.get("class", "")
        element.attributes.update({k: v for k, v in node.attrs.items() if not k.startswith("data-")})
        element.dataset.update(
            {_camel(k[5:]): v for k, v in node.attrs.items() if k.startswith("data-")}
        )
        self.elements[element_id] = element

    def queue(self, op: list[Any]) -> None:
        self.ops.append(op)
        if self.js_post is not None and not self._flush_pending:
            self._flush_pending = True
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # no loop (a plain call under CPython): post at once
                self.flush()

    def flush(self) -> None:
        """Post every queued change to the page in one message."""
        self._flush_pending = False
        if not self.ops or self.js_post is None:
            return
        ops, self.ops = self.ops, []
        self.js_post(json.dumps(ops, ensure_ascii=False, allow_nan=False))

    def listen(self, element_id: str, kind: str, handler: Handler) -> Callable[[], None]:
        """Call ``handler(event)`` on every ``kind`` event of element ``element_id`` (or of ``WINDOW``)."""
        handlers = self.listeners.setdefault((element_id, kind), [])
        if not handlers:
            self.queue(["listen", element_id, kind])
        handlers.append(handler)

        def remove() -> None:
            if handler in handlers:
                handlers.remove(handler)

        return remove

    def receive(self, message_text: str) -> None:
        """Dispatch one event the page sent (``static/js/console.js``)."""
        message = json.loads(message_text)
        for element_id, value in (message.get("values") or {}).items():
            self.element(element_id).state["value"] = value
        target_id = message.get("id")
        target = self.element(target_id) if target_id and target_id != WINDOW else None
        if target is not None:
            if "returnValue" in message:
                target.state["returnValue"] = message["returnValue"]
            for input_id, texts in (message.get("files") or {}).items():
                object.__setattr__(self.element(input_id), "files", list(texts))
        action = None
        if message.get("action"):
            info = message["action"]
            action = self.element(info["id"], info.get("tag", ""))
            action.state["disabled"] = bool(info.get("disabled"))
            action.dataset.update(info.get("dataset") or {})
        event = Event(message.get("type", ""), target, message.get("detail"), action)
        for handler in list(self.listeners.get((target_id, event.type), [])):
            try:
                handler(event)
            except Exception:  # one handler failing must not stop the others
                log.exception("console handler for %s on #%s failed", event.type, target_id)


def _camel(name: str) -> str:
    head, *rest = name.split("-")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


document = Document()


def by_id(element_id: str) -> Element:
    """Return the page's element ``element_id``; raise when the page lacks it."""
    element = document.elements.get(element_id)
    if element is None:
        raise LookupError(f"the console page has no element #{element_id}")
    return element


def fill(node: Element, *children: Child) -> Element:
    """Replace every child of ``node`` with ``children``."""
    node.replace_children(_children(children))
    return node


def set_text(element_id: str, value: Any) -> None:
    """Set the text of element ``element_id``."""
    by_id(element_id).textContent = value


def show(node: Element, visible: bool = True) -> None:
    """Show or hide ``node`` with the ``hidden`` attribute."""
    node.hidden = not visible


def download(filename: str, mime: str, content: str) -> None:
    """Offer ``content`` as a file download named ``filename``."""
    document.queue(["download", filename, mime, content])


def pretty_json(value: Any) -> str:
    """Return ``value`` as indented JSON text."""
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


class Listeners:
    """Own every page listener and event subscription of the console, so ``close`` frees them all."""

    def __init__(self) -> None:
        self._removers: list[Callable[[], None]] = []
        self._tasks: set[asyncio.Task] = set()

    def on(self, target: Element | str, event: str, handler: Handler) -> None:
        """Call ``handler(event)`` on every ``event`` of ``target`` (an element, or ``WINDOW``)."""
        element_id = target if isinstance(target, str) else target.id
        self._removers.append(document.listen(element_id, event, handler))

    def subscribe(self, unsubscribe: Callable[[], None]) -> None:
        """Keep an event unsubscriber for ``close``."""
        self._removers.append(unsubscribe)

    def spawn(self, coro: Any) -> asyncio.Task:
        """Run ``coro`` as a task the console keeps until it ends."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def close(self) -> None:
        """Remove every listener and subscription, and cancel running tasks."""
        for remove in self._removers:
            remove()
        self._removers.clear()
        for task in list(self._tasks):
            task.cancel()

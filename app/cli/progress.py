"""The progress bar of a large run, on stderr."""

from __future__ import annotations

from typing import Any, TextIO

# Draw the progress bar from this many records on: smaller runs take well under a second.
PROGRESS_FROM = 2000
BAR_WIDTH = 30


class ProgressBar:
    """Draw the run's progress on stderr for large inputs: one line redrawn on a terminal, else a line per tenth."""

    def __init__(self, stream: TextIO, *, threshold: int = PROGRESS_FROM) -> None:
        self.stream = stream
        self.threshold = threshold
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.last_tenth = -1
        self.drawn = False

    def __call__(self, name: str, payload: dict[str, Any]) -> None:
        total = int(payload.get("total") or 0)
        if name != "progress" or total < self.threshold:
            return
        processed = min(int(payload.get("processed") or 0), total)
        fraction = processed / total
        filled = int(fraction * BAR_WIDTH)
        line = f"{payload.get('phase', '')[:9]:<9} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {processed}/{total} {fraction:4.0%}"
        if self.tty:
            self.stream.write("\r" + line)
        else:
            tenth = int(fraction * 10)
            if tenth == self.last_tenth:
                return
            self.last_tenth = tenth
            self.stream.write(line + "\n")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn and self.tty:
            self.stream.write("\n")
            self.stream.flush()

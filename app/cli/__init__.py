"""The command line: migrate exported AirPrompts data to 3.0.0 outside the browser.

    python -m app migrate INPUT -o OUTPUT [--dry-run] [--report REPORT.json] [--passphrase-file FILE]

INPUT is one of three forms, and OUTPUT has the same form:

* ``localStorage``: a JSON object of localStorage key to stored text (what
  ``JSON.stringify(localStorage)`` gives in devtools), optionally with an
  ``AirPromptsDB`` member mapping each ``AirPromptsDB``/``storage`` key to its value;
* ``export``: the AirPrompts app's own export, key to parsed value (a key's stored
  text is then ``JSON.stringify`` of its value, as the app stores it), optionally
  with the same ``AirPromptsDB`` member;
* ``backup``: a backup file exported by the console (``--passphrase-file`` for an
  encrypted one; the output backup is encrypted with the same passphrase).

The data runs through the browser's own code: the services of ``app.wiring`` over
the in-memory storage, which has the browser's quotas and all-or-nothing writes, so
a collection too large for localStorage moves to ``AirPromptsDB`` as it would in
Chromium. Exit 0 on success (quarantined records are in the report, whole), 1 when
the run fails (nothing written), 2 on unusable input (one line on stderr). INPUT is
only read; OUTPUT is written to a temporary file beside it, then renamed over it.

The modules: ``forms`` (INPUT read into a Store, OUTPUT's text), ``files`` (the
all-or-nothing write), ``progress`` (the bar), ``command`` (options, the run, the report).
"""


from app.cli.command import EXIT_FAILED, EXIT_OK, EXIT_UNUSABLE, PROG, Outcome, main, migrate, run
from app.cli.files import discard, stage, write_files
from app.cli.forms import APP_MEMBER, FORMS, Store, Unusable, js_text, output_text, parse, read_input
from app.cli.progress import ProgressBar

__all__ = [
    "APP_MEMBER",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_UNUSABLE",
    "FORMS",
    "PROG",
    "Outcome",
    "ProgressBar",
    "Store",
    "Unusable",
    "discard",
    "js_text",
    "main",
    "migrate",
    "output_text",
    "parse",
    "read_input",
    "run",
    "stage",
    "write_files",
]

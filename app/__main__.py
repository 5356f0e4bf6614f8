"""``python -m app migrate INPUT -o OUTPUT``: see app/cli/__init__.py."""

from app.cli import main

main()

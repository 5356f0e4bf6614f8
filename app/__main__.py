"""``python -m app migrate INPUT -o OUTPUT``: see app/cli.py."""

from app.cli import main

main()

"""``python -m httpops``: the same as the ``httpops`` command."""

from .cli import main

raise SystemExit(main())

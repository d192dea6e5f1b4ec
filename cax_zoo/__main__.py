"""``python -m cax_zoo`` is the ``cax-zoo`` command."""

from ._cli import main

raise SystemExit(main())

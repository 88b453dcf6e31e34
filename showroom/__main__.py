"""Run the command line as ``python -m showroom``."""

from showroom.cli import main

raise SystemExit(main())

"""``python -m salesmetrics.cli`` runs the command line, as the ``salesmetrics`` script does."""

from salesmetrics.cli.main import main

raise SystemExit(main())

"""``python -m flux_cli``: the same as the ``flux`` command."""

from flux_cli.launcher import main

main()

"""``python -m flux_cli``: the same as the ``flux`` command."""

from flux_cli.main import main

main()

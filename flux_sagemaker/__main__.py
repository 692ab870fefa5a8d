"""``python -m flux_sagemaker [train]``: the training image's entry point."""

from flux_sagemaker.entry import main

raise SystemExit(main())

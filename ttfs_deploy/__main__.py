"""``python -m ttfs_deploy``: the same command line as the ``ttfs-deploy`` script."""

from ttfs_deploy.cli import main

raise SystemExit(main())

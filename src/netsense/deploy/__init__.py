"""Fixed deployments: explicit TX/RX layouts (:mod:`.layout`), CRLB maps over target positions
(:mod:`~netsense.deploy.crlbmap`) and a maximum-likelihood position estimator run against the
CRLB (:mod:`~netsense.deploy.estimator`). Kernels only: the commands that read and write files
are ``netsense map`` and ``netsense estimate`` (:mod:`netsense.cli.map`,
:mod:`netsense.cli.estimate`), the figures in :mod:`netsense.analysis.figures`."""

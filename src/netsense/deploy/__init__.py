"""Fixed deployments: explicit TX/RX layouts (:mod:`.layout`), CRLB maps over target positions
(:mod:`.crlbmap`) and a maximum-likelihood position estimator run against the CRLB
(:mod:`.estimator`). Kernels only: the commands that read and write files are in
:mod:`netsense.cli.deploy`, the figures in :mod:`netsense.analysis.figures`."""

"""Figures drawn from results: the paper's Fig. 1 from a cube (:mod:`.fig1`), CRLB maps of fixed
deployments (:mod:`~netsense.analysis.figures.crlbmap`) and the estimator against the CRLB
(:mod:`~netsense.analysis.figures.estimator`). The studies draw their own figures
(:mod:`netsense.analysis.studies`) with the helpers of :mod:`.common`."""

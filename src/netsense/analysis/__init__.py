"""Analysis of results: statistics over trials come from :mod:`netsense.core.stats`; here are
the slope fits (:mod:`.fits`), cube queries (:mod:`.query`), figures (:mod:`.figures`), the
studies and their registry (:mod:`.studies`), tables (:mod:`.tables`) and the paper
reproduction's findings (:mod:`.findings`). Reads cubes; never imports the command line."""

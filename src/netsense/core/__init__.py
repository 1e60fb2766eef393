"""The numerical core: pure array functions and small frozen parameter objects, no I/O.

System constants and eta (:mod:`.system`), the Fisher information and the CRLB
(:mod:`.fisher`), the closed forms (:mod:`.closed_form`), the PPP samplers and their registry
(:mod:`.samplers`), TX beam models (:mod:`.beam`), keyed random streams (:mod:`.seeding`),
blocks of Monte Carlo trials (:mod:`.blocks`), statistics over trials (:mod:`.stats`) and the
one-point Monte Carlo estimate (:mod:`.mc`). Nothing here imports from the layers above.
"""

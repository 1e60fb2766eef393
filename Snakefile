# netsense sweep: Monte Carlo of the CRLB (eq. 18) and the bounds (eq. 23, 26) over PPP networks,
# sharded by Snakemake, computed on a Dask cluster, assembled into an xarray/zarr cube.
# Run:  snakemake --cores 2 --configfile config/config.yaml     (or: make run)
from snakemake.utils import min_version

min_version("9.0")


# The default sweep is config/config.yaml. A --configfile on the command line REPLACES it (it is
# not merged key by key, so a key left out is an error or its documented default, never a value
# silently inherited from the default sweep). See workflow/rules/common.smk.
DEFAULT_CONFIGFILE = "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/assemble.smk"
include: "workflow/rules/analyze.smk"


onstart:
    start_cluster()


onsuccess:
    stop_cluster()
    print_outputs()


onerror:
    stop_cluster()


rule all:
    default_target: True
    input:
        FINAL_OUTPUTS,

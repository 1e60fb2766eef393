# The netsense workflow lives in the package (src/netsense/workflow/Snakefile, also reachable as
# workflow/Snakefile): this file lets plain `snakemake --cores 2 --configfile my.yaml` run it
# from the top of a clone. `netsense run` runs the packaged Snakefile in any folder.


include: "workflow/Snakefile"

# All shards -> one labeled zarr v3 cube, written beside the target and renamed into place.


rule assemble:
    input:
        shards=[f"{RUN}/shards/{name}.npz" for name in SHARDS],
        repair=cube_repair,
    output:
        directory(f"{RUN}/cube.zarr"),
    log:
        f"{RUN}/logs/assemble.log",
    conda:
        "../envs/netsense.yaml"
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        cube_config=CUBE_CONFIG_JSON,
        code_version=command_version("assemble"),
    shell:
        "netsense assemble --config-json {params.cube_config:q} --out {output:q} "
        "2>&1 | tee {log:q} >&2"

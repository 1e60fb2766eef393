# One job per shard: the blocks of trials [start, stop) of one (lam, gamma) cell, run as Dask
# tasks. The cell directory name hashes everything that shapes its samples.


rule simulate:
    output:
        f"{RUN}/shards/{{cell}}/shard-{{index}}.npz",
    params:
        shard=shard_params,
    log:
        f"{RUN}/logs/simulate/{{cell}}/shard-{{index}}.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    shell:
        "{PYTHON} -m netsense shard --params '{params.shard}' --out {output} "
        "--cache-dir {RUN}/blocks/{wildcards.cell} --dask '{DASK_JSON}' --threads {threads} "
        "2>&1 | tee {log} >&2"

# One job per shard: the blocks of trials [start, stop) of one cell, run as Dask tasks. The
# cell directory name hashes everything that shapes its samples. `tee -i`: a Ctrl-C reaches the
# job's tee too, and the log should keep what the job says until it ends.


rule simulate:
    output:
        f"{RUN}/shards/{{cell}}/shard-{{index}}.npz",
    log:
        f"{RUN}/logs/simulate/{{cell}}/shard-{{index}}.log",
    conda:
        "../envs/netsense.yaml"
    threads: SHARD_THREADS
    resources:
        dask_clients=1,
        mem_mb=2000,
        runtime=60,
    params:
        shard=shard_params,
        cache_dir=lambda wc: f"{RUN}/blocks/{wc.cell}",
        code_version=command_version("shard", without_kernel=True),
    shell:
        "netsense shard --params {params.shard:q} --out {output:q} "
        "--cache-dir {params.cache_dir:q} --threads {threads} 2>&1 | tee -i {log:q} >&2"

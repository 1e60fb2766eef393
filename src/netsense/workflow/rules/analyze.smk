# Slope fits against the scaling laws, the Fig. 1 panels, the studies (tightness, gap, Section
# II-C) with the run's findings.json, and the report entries.


rule fit:
    input:
        f"{RUN}/cube.zarr",
    output:
        csv=report(
            f"{RUN}/slopes.csv",
            caption="../report/slopes.rst",
            category="Scaling laws",
        ),
        json=f"{RUN}/slopes.json",
    log:
        f"{RUN}/logs/fit.log",
    conda:
        "../envs/netsense.yaml"
    params:
        code_version=command_version("fit"),
    shell:
        "netsense fit {input:q} --csv {output.csv:q} --json {output.json:q} "
        "2>&1 | tee {log:q} >&2"


rule figure:
    input:
        cube=f"{RUN}/cube.zarr",
        slopes=f"{RUN}/slopes.json",
    output:
        png=report(
            f"{RUN}/{FIG1.files[0]}",
            caption=f"../report/{FIG1.name}.rst",
            category="Figures",
        ),
        pdf=f"{RUN}/{FIG1.files[1]}",
    log:
        f"{RUN}/logs/figure.log",
    conda:
        "../envs/netsense.yaml"
    params:
        view=VIEW_CONFIG_JSON,
        code_version=command_version("figure"),
    shell:
        "netsense figure {input.cube:q} --slopes {input.slopes:q} --config-json {params.view:q} "
        "--png {output.png:q} --pdf {output.pdf:q} 2>&1 | tee {log:q} >&2"


rule study:
    input:
        cube=f"{RUN}/cube.zarr",
        slopes=f"{RUN}/slopes.json",
    output:
        findings=f"{RUN}/findings.json",
        tables=[f"{RUN}/{s.files[1]}" for s in STUDIES],
        figures=[
            report(
                f"{RUN}/{s.files[0]}",
                caption=f"../report/{s.name}.rst",
                category="Studies",
            )
            for s in STUDIES
        ],
    log:
        f"{RUN}/logs/study.log",
    conda:
        "../envs/netsense.yaml"
    params:
        outdir=lambda wildcards, output: os.path.dirname(output.findings),
        view=VIEW_CONFIG_JSON,
        code_version=command_version("study"),
    shell:
        "netsense study {input.cube:q} --slopes {input.slopes:q} --outdir {params.outdir:q} "
        "--config-json {params.view:q} "
        "2>&1 | tee {log:q} >&2"


rule estimate:
    input:
        layout=lambda wildcards: EST_LAYOUTS[wildcards.layout],
    output:
        png=report(
            f"{RUN}/estimator/{{layout}}.png",
            caption="../report/estimator.rst",
            category="Estimator",
        ),
        csv=f"{RUN}/estimator/{{layout}}.csv",
        json=f"{RUN}/estimator/{{layout}}.json",
    log:
        f"{RUN}/logs/estimator/{{layout}}.log",
    conda:
        "../envs/netsense.yaml"
    params:
        rho=[repr(float(x)) for x in ESTIMATOR.get("rho_s_db", [])],
        trials=ESTIMATOR.get("trials"),
        seed=CFG.seed,
        code_version=command_version("estimate"),
    shell:
        "netsense estimate {input.layout:q} --rho-s-db-list {params.rho:q} "
        "--trials {params.trials:q} --seed {params.seed:q} --png {output.png:q} "
        "--csv {output.csv:q} --json {output.json:q} 2>&1 | tee {log:q} >&2"

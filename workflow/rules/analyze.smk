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
        code_version=ns_sweep.code_version(("fits.py",)),
    shell:
        "netsense fit {input} --csv {output.csv} --json {output.json} "
        "2>&1 | tee {log} >&2"


rule figure:
    input:
        cube=f"{RUN}/cube.zarr",
        slopes=f"{RUN}/slopes.json",
    output:
        png=report(
            f"{RUN}/fig1.png",
            caption="../report/fig1.rst",
            category="Figures",
        ),
        pdf=f"{RUN}/fig1.pdf",
    log:
        f"{RUN}/logs/figure.log",
    conda:
        "../envs/netsense.yaml"
    params:
        view=VIEW_CONFIG_JSON,
        code_version=ns_sweep.code_version(("plots.py",)),
    shell:
        "netsense figure {input.cube} --slopes {input.slopes} --config-json '{params.view}' "
        "--png {output.png} --pdf {output.pdf} 2>&1 | tee {log} >&2"


rule study:
    input:
        cube=f"{RUN}/cube.zarr",
        slopes=f"{RUN}/slopes.json",
    output:
        findings=f"{RUN}/findings.json",
        tables=[f"{RUN}/{STUDY_FILES[a][1]}" for a in STUDIES],
        figures=[
            report(
                f"{RUN}/{STUDY_FILES[a][0]}",
                caption=f"../report/{a}.rst",
                category="Studies",
            )
            for a in STUDIES
        ],
    log:
        f"{RUN}/logs/study.log",
    conda:
        "../envs/netsense.yaml"
    params:
        outdir=lambda wildcards, output: os.path.dirname(output.findings),
        view=VIEW_CONFIG_JSON,
        code_version=ns_sweep.code_version(("studies.py", "closed_form.py")),
    shell:
        "netsense study {input.cube} --slopes {input.slopes} --outdir {params.outdir} "
        "--config-json '{params.view}' "
        "2>&1 | tee {log} >&2"


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
        rho=" ".join(repr(float(x)) for x in ESTIMATOR.get("rho_s_db", [])),
        trials=ESTIMATOR.get("trials", 10000),
        seed=CFG.seed,
        code_version=ns_sweep.code_version(("estimator.py", "fisher.py", "system.py")),
    shell:
        "netsense estimate {input.layout} --rho-s-db-list {params.rho} --trials {params.trials} "
        "--seed {params.seed} --png {output.png} --csv {output.csv} --json {output.json} "
        "2>&1 | tee {log} >&2"

# Tables and figures of the paper, each a named target and an entry of `snakemake --report`.


rule table1:
    input:
        expand("results/c2st/real/{protein}.csv", protein=PROTEINS),
    output:
        csv=report("results/tables/table1_real_vs_real.csv", caption="../report/table1.rst", category="Tables"),
        md="results/tables/table1_real_vs_real.md",
    params:
        proteins=PROTEINS,
    log:
        log_path("tables/table1"),
    benchmark:
        benchmark_path("tables/table1")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/biogans.yaml"
    shell:
        "biogans table table1 --real {input:q} --proteins {params.proteins:q} --out {output.csv:q} > {log:q} 2>&1"


rule table2:
    input:
        fake=[fake_c2st_file(m) for m in REPORT["table2"]],
        real=expand("results/c2st/real/{protein}.csv", protein=MODELLED),
    output:
        csv=report("results/tables/table2_conditional.csv", caption="../report/table2.rst", category="Tables"),
        md="results/tables/table2_conditional.md",
    params:
        runs=named((m, fake_c2st_file(m)) for m in REPORT["table2"]),
        proteins=MODELLED,
    log:
        log_path("tables/table2"),
    benchmark:
        benchmark_path("tables/table2")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/biogans.yaml"
    shell:
        "biogans table table2 --c2st {params.runs:q} --real {input.real:q} --proteins {params.proteins:q} "
        "--out {output.csv:q} > {log:q} 2>&1"


rule table3:
    input:
        paths(reconstruction_runs("cells.csv")),
    output:
        csv=report("results/tables/table3_reconstruction.csv", caption="../report/table3.rst", category="Tables"),
        md="results/tables/table3_reconstruction.md",
    params:
        runs=named(reconstruction_runs("cells.csv")),
    log:
        log_path("tables/table3"),
    benchmark:
        benchmark_path("tables/table3")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/biogans.yaml"
    shell:
        "biogans table table3 --reconstruction {params.runs:q} --out {output.csv:q} > {log:q} 2>&1"


if SOURCE == "synthetic":

    rule table4:
        input:
            [f"results/c2st/all-proteins/{m}.csv" for m in REPORT["table4"]],
        output:
            csv=report("results/tables/table4_joint.csv", caption="../report/table4.rst", category="Tables"),
            md="results/tables/table4_joint.md",
        params:
            runs=named((m, f"results/c2st/all-proteins/{m}.csv") for m in REPORT["table4"]),
        log:
            log_path("tables/table4"),
        benchmark:
            benchmark_path("tables/table4")
        threads: 1
        resources:
            mem_mb=1000,
            runtime=5,
        conda:
            "../../envs/biogans.yaml"
        shell:
            "biogans table table4 --c2st {params.runs:q} --out {output.csv:q} > {log:q} 2>&1"

else:

    localrules:
        table4,

    rule table4:
        message:
            "Table 4 compares generated cells with the simulator's all-proteins truth (every protein's "
            "green in the same cell), which no microscope records: it is built only for dataset.source "
            "synthetic, not for {SOURCE}. Skipped."


rule figure1:
    input:
        generator=generator_file(REPORT["figure1"]),
        cells=CELLS,
    output:
        report("results/figures/figure1_teaser.png", caption="../report/figure1.rst", category="Figures"),
    params:
        model=REPORT["figure1"],
    log:
        log_path("figures/figure1"),
    benchmark:
        benchmark_path("figures/figure1")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../envs/biogans.yaml"
    shell:
        "biogans figure figure1 --generator {params.model:q}={input.generator:q} --cells {input.cells:q} "
        "--out {output:q} > {log:q} 2>&1"


rule figure3:
    input:
        generators=paths(figure3_generators()),
        cells=CELLS,
    output:
        report("results/figures/figure3_training_progress.png", caption="../report/figure3.rst", category="Figures"),
    params:
        runs=named(figure3_generators()),
    log:
        log_path("figures/figure3"),
    benchmark:
        benchmark_path("figures/figure3")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../envs/biogans.yaml"
    shell:
        "biogans figure figure3 --generator {params.runs:q} --cells {input.cells:q} --out {output:q} > {log:q} 2>&1"


rule figure4:
    input:
        [generator_file(m) for m in REPORT["figure4"]],
    output:
        report("results/figures/figure4_separable_samples.png", caption="../report/figure4.rst", category="Figures"),
    params:
        runs=named((m, generator_file(m)) for m in REPORT["figure4"]),
    log:
        log_path("figures/figure4"),
    benchmark:
        benchmark_path("figures/figure4")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../envs/biogans.yaml"
    shell:
        "biogans figure figure4 --generator {params.runs:q} --out {output:q} > {log:q} 2>&1"


rule figure6:
    input:
        paths(reconstruction_runs("examples.h5")),
    output:
        report("results/figures/figure6_reconstructions.png", caption="../report/figure6.rst", category="Figures"),
    params:
        runs=named(reconstruction_runs("examples.h5")),
    log:
        log_path("figures/figure6"),
    benchmark:
        benchmark_path("figures/figure6")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../envs/biogans.yaml"
    shell:
        "biogans figure figure6 --reconstruction {params.runs:q} --out {output:q} > {log:q} 2>&1"


rule figure7:
    input:
        generator_file(REPORT["figure7"]),
    output:
        png=report("results/figures/figure7_cell_cycle.png", caption="../report/figure7.rst", category="Figures"),
        gif=report("results/figures/figure7_cell_cycle.gif", caption="../report/figure7.rst", category="Figures"),
    params:
        model=REPORT["figure7"],
    log:
        log_path("figures/figure7"),
    benchmark:
        benchmark_path("figures/figure7")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../envs/biogans.yaml"
    shell:
        "biogans figure figure7 --generator {params.model:q}={input:q} --out {output.png:q} --gif {output.gif:q} "
        "> {log:q} 2>&1"


rule figure8:
    input:
        runs=paths(figure8_runs()),
        baseline=expand("results/c2st/real/train-vs-test/{evaluator}.csv", evaluator=C2ST["evaluators"]),
    output:
        png=report("results/figures/figure8_c2st_vs_iterations.png", caption="../report/figure8.rst", category="Figures"),
        csv=report("results/tables/figure8_c2st_vs_iterations.csv", caption="../report/figure8.rst", category="Tables"),
        md="results/tables/figure8_c2st_vs_iterations.md",
    params:
        runs=named(figure8_runs()),
    log:
        log_path("figures/figure8"),
    benchmark:
        benchmark_path("figures/figure8")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../envs/biogans.yaml"
    shell:
        "biogans figure figure8 --c2st {params.runs:q} --baseline {input.baseline:q} --out {output.png:q} "
        "--table {output.csv:q} > {log:q} 2>&1"


rule claims:
    input:
        table1=rules.table1.output.csv,
        table2=rules.table2.output.csv,
        table3=rules.table3.output.csv,
        figure8=rules.figure8.output.csv,
        table4=rules.table4.output.csv if SOURCE == "synthetic" else [],
    output:
        csv=report("results/tables/claims.csv", caption="../report/claims.rst", category="Scorecard"),
        md="results/tables/claims.md",
    params:
        table4=lambda wildcards, input: cli_options({"table4": input.table4 or None}),
    log:
        log_path("tables/claims"),
    benchmark:
        benchmark_path("tables/claims")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/biogans.yaml"
    shell:
        "biogans table claims --table1 {input.table1:q} --table2 {input.table2:q} --table3 {input.table3:q} "
        "--figure8 {input.figure8:q} {params.table4} --out {output.csv:q} > {log:q} 2>&1"

# Tables and figures of the paper, each a named target and an entry of `snakemake --report`. Each is one
# `biogans table|figure <name> ... --out FILE` command: table1 is written out, and every other rule is
# table1 with its own inputs, outputs and options.


rule table1:
    input:
        expand(rules.c2st_real.output[0], protein=PROTEINS),
    output:
        out=report(
            "results/tables/table1_real_vs_real.csv",
            caption="../report/table1.rst",
            category="Tables",
        ),
        md="results/tables/table1_real_vs_real.md",
    log:
        log_path("tables/table1"),
    benchmark:
        benchmark_path("tables/table1")
    conda:
        ENV
    threads: 1
    params:
        command="table table1",
        options=lambda wildcards, input: cli_options(
            {"real": list(input), "proteins": PROTEINS}
        ),
    shell:
        "biogans {params.command} {params.options} --out {output.out:q} > {log:q} 2>&1"


use rule table1 as table2 with:
    input:
        fake=paths(table2_runs()),
        real=expand(rules.c2st_real.output[0], protein=MODELLED),
    output:
        out=report(
            "results/tables/table2_conditional.csv",
            caption="../report/table2.rst",
            category="Tables",
        ),
        md="results/tables/table2_conditional.md",
    log:
        log_path("tables/table2"),
    benchmark:
        benchmark_path("tables/table2")
    params:
        command="table table2",
        options=lambda wildcards, input: cli_options(
            {
                "c2st": named(table2_runs()),
                "real": list(input.real),
                "proteins": MODELLED,
            }
        ),


use rule table1 as table3 with:
    input:
        paths(reconstruction_runs("cells.csv")),
    output:
        out=report(
            "results/tables/table3_reconstruction.csv",
            caption="../report/table3.rst",
            category="Tables",
        ),
        md="results/tables/table3_reconstruction.md",
    log:
        log_path("tables/table3"),
    benchmark:
        benchmark_path("tables/table3")
    params:
        command="table table3",
        options=cli_options({"reconstruction": named(reconstruction_runs("cells.csv"))}),


if SOURCE == "synthetic":

    use rule table1 as table4 with:
        input:
            paths(table4_runs()),
        output:
            out=report(
                "results/tables/table4_joint.csv",
                caption="../report/table4.rst",
                category="Tables",
            ),
            md="results/tables/table4_joint.md",
        log:
            log_path("tables/table4"),
        benchmark:
            benchmark_path("tables/table4")
        params:
            command="table table4",
            options=cli_options({"c2st": named(table4_runs())}),

else:

    localrules:
        table4,

    rule table4:
        message:
            "Table 4 compares generated cells with the simulator's all-proteins truth (every protein's "
            "green in the same cell), which no microscope records: it is built only for dataset.source "
            "synthetic, not for {SOURCE}. Skipped."


use rule table1 as table5 with:
    input:
        metrics=paths(table5_runs()),
        features=rules.features.output[0],
    output:
        out=report(
            "results/tables/table5_metrics.csv",
            caption="../report/table5.rst",
            category="Tables",
        ),
        md="results/tables/table5_metrics.md",
    log:
        log_path("tables/table5"),
    benchmark:
        benchmark_path("tables/table5")
    params:
        command="table table5",
        options=lambda wildcards, input: cli_options(
            {"metrics": named(table5_runs()), "features": input.features}
        ),


use rule table1 as figure1 with:
    input:
        generator=generator_file(REPORT["figure1"]),
        cells=CELLS,
    output:
        out=report(
            "results/figures/figure1_teaser.png",
            caption="../report/figure1.rst",
            category="Figures",
        ),
    log:
        log_path("figures/figure1"),
    benchmark:
        benchmark_path("figures/figure1")
    resources:
        **RESOURCES["figure"],
    params:
        command="figure figure1",
        options=lambda wildcards, input: cli_options(
            {
                "generator": f"{REPORT['figure1']}={input.generator}",
                "cells": input.cells,
            }
        ),


use rule figure1 as figure3 with:
    input:
        generators=paths(figure3_generators()),
        cells=CELLS,
    output:
        out=report(
            "results/figures/figure3_training_progress.png",
            caption="../report/figure3.rst",
            category="Figures",
        ),
    log:
        log_path("figures/figure3"),
    benchmark:
        benchmark_path("figures/figure3")
    params:
        command="figure figure3",
        options=lambda wildcards, input: cli_options(
            {"generator": named(figure3_generators()), "cells": input.cells}
        ),


use rule figure1 as figure4 with:
    input:
        [generator_file(m) for m in REPORT["figure4"]],
    output:
        out=report(
            "results/figures/figure4_separable_samples.png",
            caption="../report/figure4.rst",
            category="Figures",
        ),
    log:
        log_path("figures/figure4"),
    benchmark:
        benchmark_path("figures/figure4")
    params:
        command="figure figure4",
        options=cli_options(
            {"generator": named((m, generator_file(m)) for m in REPORT["figure4"])}
        ),


use rule figure1 as figure6 with:
    input:
        paths(reconstruction_runs("examples.h5")),
    output:
        out=report(
            "results/figures/figure6_reconstructions.png",
            caption="../report/figure6.rst",
            category="Figures",
        ),
    log:
        log_path("figures/figure6"),
    benchmark:
        benchmark_path("figures/figure6")
    params:
        command="figure figure6",
        options=cli_options(
            {"reconstruction": named(reconstruction_runs("examples.h5"))}
        ),


use rule figure1 as figure7 with:
    input:
        generator_file(REPORT["figure7"]),
    output:
        out=report(
            "results/figures/figure7_cell_cycle.png",
            caption="../report/figure7.rst",
            category="Figures",
        ),
        gif=report(
            "results/figures/figure7_cell_cycle.gif",
            caption="../report/figure7.rst",
            category="Figures",
        ),
    log:
        log_path("figures/figure7"),
    benchmark:
        benchmark_path("figures/figure7")
    params:
        command="figure figure7",
        options=lambda wildcards, input, output: cli_options(
            {"generator": f"{REPORT['figure7']}={input[0]}", "gif": output.gif}
        ),


use rule figure1 as figure8 with:
    input:
        runs=paths(figure8_runs()),
        baseline=expand(
            rules.c2st_train_vs_test.output[0], evaluator=C2ST["evaluators"]
        ),
    output:
        out=report(
            "results/figures/figure8_c2st_vs_iterations.png",
            caption="../report/figure8.rst",
            category="Figures",
        ),
        csv=report(
            "results/tables/figure8_c2st_vs_iterations.csv",
            caption="../report/figure8.rst",
            category="Tables",
        ),
        md="results/tables/figure8_c2st_vs_iterations.md",
    log:
        log_path("figures/figure8"),
    benchmark:
        benchmark_path("figures/figure8")
    params:
        command="figure figure8",
        options=lambda wildcards, input, output: cli_options(
            {
                "c2st": named(figure8_runs()),
                "baseline": list(input.baseline),
                "table": output.csv,
            }
        ),


use rule table1 as claims with:
    input:
        table1=rules.table1.output.out,
        table2=rules.table2.output.out,
        table3=rules.table3.output.out,
        figure8=rules.figure8.output.csv,
        table4=rules.table4.output.out if SOURCE == "synthetic" else [],
        table5=rules.table5.output.out,
    output:
        out=report(
            "results/tables/claims.csv",
            caption="../report/claims.rst",
            category="Scorecard",
        ),
        md="results/tables/claims.md",
    log:
        log_path("tables/claims"),
    benchmark:
        benchmark_path("tables/claims")
    params:
        command="table claims",
        options=lambda wildcards, input: cli_options(
            {
                "table1": input.table1,
                "table2": input.table2,
                "table3": input.table3,
                "figure8": input.figure8,
                "table4": input.table4 or None,
                "table5": input.table5,
            }
        ),

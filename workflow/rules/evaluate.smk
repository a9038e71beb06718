# Evaluation: classifier two-sample tests (C2ST) over ten splits, and latent reconstruction.


rule c2st_real:
    input:
        cells=CELLS,
        splits=SPLITS,
    output:
        "results/c2st/real/{protein}.csv",
    log:
        log_path("c2st/real/{protein}"),
    benchmark:
        benchmark_path("c2st/real/{protein}")
    wildcard_constraints:
        protein=one_of(PROTEINS),
    conda:
        ENV
    threads: C2ST["threads"]
    resources:
        **RESOURCES["c2st"],
    params:
        options=f"{cli_options({'versus': PROTEINS})} {c2st_options('wgangp')}",
    shell:
        "biogans c2st real-vs-real {input.cells:q} {input.splits:q} --protein {wildcards.protein:q} "
        "{params.options} --threads {threads} --out {output:q} > {log:q} 2>&1"


rule c2st_train_vs_test:
    input:
        cells=CELLS,
        splits=SPLITS,
    output:
        "results/c2st/real/train-vs-test/{evaluator}.csv",
    log:
        log_path("c2st/real/train-vs-test/{evaluator}"),
    benchmark:
        benchmark_path("c2st/real/train-vs-test/{evaluator}")
    wildcard_constraints:
        evaluator=one_of(EVALUATORS),
    conda:
        ENV
    threads: C2ST["threads"]
    resources:
        **RESOURCES["c2st"],
    params:
        options=lambda wildcards: f"{cli_options({'proteins': MODELLED})} {c2st_options(wildcards.evaluator)}",
    shell:
        "biogans c2st train-vs-test {input.cells:q} {input.splits:q} {params.options} --threads {threads} "
        "--out {output:q} > {log:q} 2>&1"


rule c2st_fake:
    input:
        generators=fake_c2st_generators,
        cells=CELLS,
        splits=SPLITS,
    output:
        fake_c2st_file("{model}", "{evaluator}"),
    log:
        log_path("c2st/fake/{model}/{evaluator}"),
    benchmark:
        benchmark_path("c2st/fake/{model}/{evaluator}")
    wildcard_constraints:
        model=one_of(MODELS),
        evaluator=one_of(EVALUATORS),
    conda:
        ENV
    threads: C2ST["threads"]
    resources:
        **RESOURCES["c2st"],
    params:
        options=lambda wildcards: c2st_options(wildcards.evaluator),
    shell:
        "biogans c2st fake-vs-real {input.generators:q} --cells {input.cells:q} --splits {input.splits:q} "
        "{params.options} --threads {threads} --out {output:q} > {log:q} 2>&1"


rule c2st_all_proteins:
    input:
        generator=lambda wildcards: generator_file(wildcards.model),
        truth=JOINT_TRUTH,
    output:
        "results/c2st/all-proteins/{model}.csv",
    log:
        log_path("c2st/all-proteins/{model}"),
    benchmark:
        benchmark_path("c2st/all-proteins/{model}")
    wildcard_constraints:
        model=one_of(models_of("star", "independent", "multichannel")),
    conda:
        ENV
    threads: C2ST["threads"]
    resources:
        **RESOURCES["c2st"],
    params:
        options=f"{cli_options({'n_splits': config['splits']['n_splits']})} {c2st_options('wgangp')}",
    shell:
        "biogans c2st all-proteins {input.generator:q} --truth {input.truth:q} {params.options} "
        "--threads {threads} --out {output:q} > {log:q} 2>&1"


rule reconstruct:
    input:
        generator=lambda wildcards: generator_file(wildcards.model),
        cells=CELLS,
    output:
        cells="results/reconstruction/{mode}/{model}/cells.csv",
        examples="results/reconstruction/{mode}/{model}/examples.h5",
    log:
        log_path("reconstruct/{mode}/{model}"),
    benchmark:
        benchmark_path("reconstruct/{mode}/{model}")
    wildcard_constraints:
        mode=one_of(["regular", "separable"]),
        model=one_of(MODELS),
    conda:
        ENV
    threads: RECONSTRUCTION["threads"]
    resources:
        **RESOURCES["reconstruct"],
    params:
        out_dir=subpath(output.cells, parent=True),
        options=reconstruct_options,
    shell:
        "biogans reconstruct {input.generator:q} {input.cells:q} {params.out_dir:q} {params.options} "
        "--threads {threads} > {log:q} 2>&1"

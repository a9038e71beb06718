# Evaluation: classifier two-sample tests (C2ST) over ten splits, of the trained models and of external
# sample sets; latent reconstruction; and the feature metrics of Table 5 (KID, FID, precision, recall).


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


rule c2st_external:
    input:
        samples=lambda wildcards: EXTERNAL[wildcards.name],
        cells=CELLS,
        splits=SPLITS,
    output:
        external_c2st_file("{name}"),
    log:
        log_path("c2st/external/{name}"),
    benchmark:
        benchmark_path("c2st/external/{name}")
    wildcard_constraints:
        name=one_of(EXTERNAL),
    conda:
        ENV
    threads: C2ST["threads"]
    resources:
        **RESOURCES["c2st"],
    params:
        options=c2st_options("wgangp"),
    shell:
        "biogans c2st external-vs-real {input.samples:q} --cells {input.cells:q} --splits {input.splits:q} "
        "{params.options} --threads {threads} --out {output:q} > {log:q} 2>&1"


rule c2st_external_truth:
    input:
        samples=lambda wildcards: EXTERNAL[wildcards.name],
        truth=JOINT_TRUTH,
    output:
        external_c2st_file("{name}", "truth"),
    log:
        log_path("c2st/all-proteins/external/{name}"),
    benchmark:
        benchmark_path("c2st/all-proteins/external/{name}")
    wildcard_constraints:
        name=one_of(EXTERNAL),
    conda:
        ENV
    threads: C2ST["threads"]
    resources:
        **RESOURCES["c2st"],
    params:
        options=f"{cli_options({'n_splits': config['splits']['n_splits']})} {c2st_options('wgangp')}",
    shell:
        "biogans c2st external-vs-truth {input.samples:q} --truth {input.truth:q} --if-all-proteins "
        "{params.options} --threads {threads} --out {output:q} > {log:q} 2>&1"


# Table 5: a protein classifier trained on the training cells gives the feature space of the metrics.
rule features:
    input:
        CELLS,
    output:
        "results/metrics/features.pt",
    log:
        log_path("metrics/features"),
    benchmark:
        benchmark_path("metrics/features")
    conda:
        ENV
    threads: 1
    resources:
        **RESOURCES["metrics"],
    params:
        options=cli_options({"proteins": MODELLED, **config["features"]}),
    shell:
        "biogans features {input:q} {output:q} {params.options} --threads {threads} > {log:q} 2>&1"


rule metrics_real:
    input:
        cells=CELLS,
        features=rules.features.output[0],
    output:
        metrics_file("real"),
    log:
        log_path("metrics/real"),
    benchmark:
        benchmark_path("metrics/real")
    conda:
        ENV
    threads: 1
    resources:
        **RESOURCES["metrics"],
    params:
        options=metrics_options(),
    shell:
        "biogans evaluate-samples --cells {input.cells:q} --features {input.features:q} {params.options} "
        "--threads {threads} --out {output:q} > {log:q} 2>&1"


# Table 5 rows of a trained model (its last generator file) or an external sample set.
use rule metrics_real as metrics with:
    input:
        source=lambda wildcards: EXTERNAL.get(wildcards.name)
        or generator_file(wildcards.name),
        cells=CELLS,
        features=rules.features.output[0],
    output:
        metrics_file("{name}"),
    log:
        log_path("metrics/{name}"),
    benchmark:
        benchmark_path("metrics/{name}")
    wildcard_constraints:
        name=one_of([*MODELS, *EXTERNAL]),
    params:
        options=lambda wildcards, input: f"{metrics_options()} --no-real "
        + shlex.quote(f"{wildcards.name}={input.source}"),

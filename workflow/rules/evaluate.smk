# Evaluation: classifier two-sample tests (C2ST) over ten splits, and latent reconstruction.


rule c2st_real:
    input:
        cells=CELLS,
        splits=SPLITS,
    output:
        "results/c2st/real/{protein}.csv",
    wildcard_constraints:
        protein=one_of(PROTEINS),
    params:
        options=f"{cli_options({'versus': PROTEINS})} {c2st_options('wgangp')}",
    log:
        log_path("c2st/real/{protein}"),
    benchmark:
        benchmark_path("c2st/real/{protein}")
    threads: C2ST["threads"]
    resources:
        gpu=C2ST["gpu"],
        runtime=C2ST["runtime"],
        mem_mb=C2ST["mem_mb"],
    conda:
        "../../envs/biogans.yaml"
    shell:
        "biogans c2st real-vs-real {input.cells:q} {input.splits:q} --protein {wildcards.protein:q} "
        "{params.options} --threads {threads} --out {output:q} > {log:q} 2>&1"


rule c2st_train_vs_test:
    input:
        cells=CELLS,
        splits=SPLITS,
    output:
        "results/c2st/real/train-vs-test/{evaluator}.csv",
    wildcard_constraints:
        evaluator="gan|wgan|wgangp",
    params:
        options=lambda wildcards: f"{cli_options({'proteins': MODELLED})} {c2st_options(wildcards.evaluator)}",
    log:
        log_path("c2st/real/train-vs-test/{evaluator}"),
    benchmark:
        benchmark_path("c2st/real/train-vs-test/{evaluator}")
    threads: C2ST["threads"]
    resources:
        gpu=C2ST["gpu"],
        runtime=C2ST["runtime"],
        mem_mb=C2ST["mem_mb"],
    conda:
        "../../envs/biogans.yaml"
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
    wildcard_constraints:
        model=one_of(MODELS),
        evaluator="gan|wgan|wgangp",
    params:
        options=lambda wildcards: c2st_options(wildcards.evaluator),
    log:
        log_path("c2st/fake/{model}/{evaluator}"),
    benchmark:
        benchmark_path("c2st/fake/{model}/{evaluator}")
    threads: C2ST["threads"]
    resources:
        gpu=C2ST["gpu"],
        runtime=C2ST["runtime"],
        mem_mb=C2ST["mem_mb"],
    conda:
        "../../envs/biogans.yaml"
    shell:
        "biogans c2st fake-vs-real {input.generators:q} --cells {input.cells:q} --splits {input.splits:q} "
        "{params.options} --threads {threads} --out {output:q} > {log:q} 2>&1"


rule c2st_all_proteins:
    input:
        generator=lambda wildcards: generator_file(wildcards.model),
        truth=JOINT_TRUTH,
    output:
        "results/c2st/all-proteins/{model}.csv",
    wildcard_constraints:
        model=one_of(models_of("star", "independent", "multichannel")),
    params:
        options=f"--n-splits {config['splits']['n_splits']} {c2st_options('wgangp')}",
    log:
        log_path("c2st/all-proteins/{model}"),
    benchmark:
        benchmark_path("c2st/all-proteins/{model}")
    threads: C2ST["threads"]
    resources:
        gpu=C2ST["gpu"],
        runtime=C2ST["runtime"],
        mem_mb=C2ST["mem_mb"],
    conda:
        "../../envs/biogans.yaml"
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
    wildcard_constraints:
        mode="regular|separable",
        model=one_of(MODELS),
    params:
        out_dir=subpath(output.cells, parent=True),
        options=reconstruct_options,
    log:
        log_path("reconstruct/{mode}/{model}"),
    benchmark:
        benchmark_path("reconstruct/{mode}/{model}")
    threads: RECONSTRUCTION["threads"]
    resources:
        gpu=RECONSTRUCTION["gpu"],
        runtime=RECONSTRUCTION["runtime"],
        mem_mb=RECONSTRUCTION["mem_mb"],
    conda:
        "../../envs/biogans.yaml"
    shell:
        "biogans reconstruct {input.generator:q} {input.cells:q} {params.out_dir:q} {params.options} "
        "--threads {threads} > {log:q} 2>&1"

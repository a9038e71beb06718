# Evaluation: classifier two-sample tests (C2ST) over ten splits, and latent reconstruction.


rule c2st_real:
    input:
        cells="results/data/cells.h5",
        splits="results/data/splits.h5",
    output:
        "results/c2st/real/{protein}.csv",
    wildcard_constraints:
        protein=one_of(PROTEINS),
    params:
        versus=PROTEINS,
        options=c2st_options("wgangp"),
    log:
        log_path("c2st/real/{protein}"),
    benchmark:
        benchmark_path("c2st/real/{protein}")
    threads: C2ST["threads"]
    resources:
        gpu=int(C2ST["gpu"]),
        runtime=C2ST["runtime"],
        mem_mb=C2ST["mem_mb"],
    conda:
        "../../envs/biogans.yaml"
    shell:
        "biogans c2st real-vs-real {input.cells} {input.splits} --protein {wildcards.protein} "
        "--versus {params.versus} {params.options} --threads {threads} --out {output} > {log} 2>&1"


rule c2st_fake:
    input:
        generators=fake_c2st_generators,
        cells="results/data/cells.h5",
        splits="results/data/splits.h5",
    output:
        "results/c2st/fake/{model}/{evaluator}.csv",
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
        gpu=int(C2ST["gpu"]),
        runtime=C2ST["runtime"],
        mem_mb=C2ST["mem_mb"],
    conda:
        "../../envs/biogans.yaml"
    shell:
        "biogans c2st fake-vs-real {input.generators} --cells {input.cells} --splits {input.splits} "
        "{params.options} --threads {threads} --out {output} > {log} 2>&1"


rule c2st_joint:
    input:
        generator=lambda wildcards: generator_file(wildcards.model),
        truth="results/data/joint_truth.h5",
    output:
        "results/c2st/joint/{model}.csv",
    wildcard_constraints:
        model=one_of(models_of("conditional", "multichannel", "independent")),
    params:
        n_splits=config["splits"]["n_splits"],
        options=c2st_options("wgangp"),
    log:
        log_path("c2st/joint/{model}"),
    benchmark:
        benchmark_path("c2st/joint/{model}")
    threads: C2ST["threads"]
    resources:
        gpu=int(C2ST["gpu"]),
        runtime=C2ST["runtime"],
        mem_mb=C2ST["mem_mb"],
    conda:
        "../../envs/biogans.yaml"
    shell:
        "biogans c2st joint {input.generator} --truth {input.truth} --n-splits {params.n_splits} "
        "{params.options} --threads {threads} --out {output} > {log} 2>&1"


rule reconstruct:
    input:
        generator=lambda wildcards: generator_file(wildcards.model),
        cells="results/data/cells.h5",
    output:
        cells="results/reconstruction/{mode}/{model}/cells.csv",
        examples="results/reconstruction/{mode}/{model}/examples.h5",
    wildcard_constraints:
        mode="regular|separable",
        model=one_of(MODELS),
    params:
        out_dir=subpath(output.cells, parent=True),
        n_cells=RECONSTRUCTION["n_cells"],
        steps=RECONSTRUCTION["steps"],
        restarts=RECONSTRUCTION["restarts"],
        lr=RECONSTRUCTION["lr"],
        line_search=RECONSTRUCTION["line_search"],
        seed=RECONSTRUCTION["seed"],
        device=RECONSTRUCTION["device"],
    log:
        log_path("reconstruct/{mode}/{model}"),
    benchmark:
        benchmark_path("reconstruct/{mode}/{model}")
    threads: RECONSTRUCTION["threads"]
    resources:
        runtime=RECONSTRUCTION["runtime"],
        mem_mb=RECONSTRUCTION["mem_mb"],
    conda:
        "../../envs/biogans.yaml"
    shell:
        "biogans reconstruct {input.generator} {input.cells} {params.out_dir} --mode {wildcards.mode} "
        "--n-cells {params.n_cells} --steps {params.steps} --restarts {params.restarts} "
        "--lr {params.lr} --line-search {params.line_search} --seed {params.seed} --device {params.device} --threads {threads} > {log} 2>&1"

# Training: one job per model (one per protein for independent models), generator files at the
# checkpoint iterations as outputs; resume.pt beside them survives a killed job.


rule train_joint:
    input:
        cells="results/data/cells.h5",
    output:
        expand(
            "results/models/{{model}}/generator_{iteration}.pt",
            iteration=kind_checkpoints("joint"),
        ),
    wildcard_constraints:
        model=one_of(models_of("joint")),
    params:
        proteins=MODELLED,
        options=train_options,
    log:
        log_path("train/{model}"),
    benchmark:
        benchmark_path("train/{model}")
    threads: TRAINING["threads"]
    resources:
        gpu=int(TRAINING["gpu"]),
        runtime=TRAINING["runtime"],
        mem_mb=TRAINING["mem_mb"],
    conda:
        "../../envs/biogans.yaml"
    shell:
        "biogans train {input.cells} results/models/{wildcards.model} --model {wildcards.model} "
        "--proteins {params.proteins} {params.options} --threads {threads} > {log} 2>&1"


rule train_star:
    input:
        cells="results/data/cells.h5",
    output:
        expand(
            "results/models/{{model}}/generator_{iteration}.pt",
            iteration=kind_checkpoints("conditional"),
        ),
    wildcard_constraints:
        model=one_of(models_of("conditional")),
    params:
        proteins=MODELLED,
        options=train_options,
    log:
        log_path("train/{model}"),
    benchmark:
        benchmark_path("train/{model}")
    threads: TRAINING["threads"]
    resources:
        gpu=int(TRAINING["gpu"]),
        runtime=TRAINING["runtime"],
        mem_mb=TRAINING["mem_mb"],
    conda:
        "../../envs/biogans.yaml"
    shell:
        "biogans train {input.cells} results/models/{wildcards.model} --model {wildcards.model} "
        "--proteins {params.proteins} {params.options} --threads {threads} > {log} 2>&1"


rule train_multichannel:
    input:
        cells="results/data/cells.h5",
        neighbours="results/data/red_neighbours.h5",
    output:
        expand(
            "results/models/{{model}}/generator_{iteration}.pt",
            iteration=kind_checkpoints("conditional"),
        ),
    wildcard_constraints:
        model=one_of(models_of("multichannel")),
    params:
        proteins=MODELLED,
        options=train_options,
    log:
        log_path("train/{model}"),
    benchmark:
        benchmark_path("train/{model}")
    threads: TRAINING["threads"]
    resources:
        gpu=int(TRAINING["gpu"]),
        runtime=TRAINING["runtime"],
        mem_mb=TRAINING["mem_mb"],
    conda:
        "../../envs/biogans.yaml"
    shell:
        "biogans train {input.cells} results/models/{wildcards.model} --model {wildcards.model} "
        "--proteins {params.proteins} --neighbours {input.neighbours} {params.options} "
        "--threads {threads} > {log} 2>&1"


rule train_independent:
    input:
        cells="results/data/cells.h5",
    output:
        expand(
            "results/models/{{model}}/{{protein}}/generator_{iteration}.pt",
            iteration=kind_checkpoints("conditional"),
        ),
    wildcard_constraints:
        model=one_of(models_of("independent")),
        protein=one_of(MODELLED),
    params:
        options=train_options,
    log:
        log_path("train/{model}/{protein}"),
    benchmark:
        benchmark_path("train/{model}/{protein}")
    threads: TRAINING["threads"]
    resources:
        gpu=int(TRAINING["gpu"]),
        runtime=TRAINING["runtime"],
        mem_mb=TRAINING["mem_mb"],
    conda:
        "../../envs/biogans.yaml"
    shell:
        "biogans train {input.cells} results/models/{wildcards.model}/{wildcards.protein} "
        "--model {wildcards.model} --proteins {wildcards.protein} {params.options} "
        "--threads {threads} > {log} 2>&1"


rule assemble_independent:
    input:
        expand(
            "results/models/{{model}}/{protein}/generator_{{iteration}}.pt",
            protein=MODELLED,
        ),
    output:
        "results/models/{model}/generator_{iteration}.pt",
    wildcard_constraints:
        model=one_of(models_of("independent")),
        iteration=r"\d+",
    log:
        log_path("assemble/{model}_{iteration}"),
    benchmark:
        benchmark_path("assemble/{model}_{iteration}")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/biogans.yaml"
    shell:
        "biogans assemble {input} --out {output} > {log} 2>&1"


rule models:
    input:
        all_generators(),

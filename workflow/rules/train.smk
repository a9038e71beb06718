# Training: one job per model (one per protein for independent models), generator files at the
# checkpoint iterations as outputs; resume.pt beside them survives a killed job.


rule train_joint:
    input:
        unpack(train_inputs),
    output:
        expand("results/models/{{model}}/generator_{iteration}.pt", iteration=checkpoints("joint")),
    wildcard_constraints:
        model=one_of(models_of("joint")),
    params:
        out_dir=lambda wildcards, output: Path(output[0]).parent,
        options=train_options,
    log:
        log_path("train/{model}"),
    benchmark:
        benchmark_path("train/{model}")
    threads: TRAINING["threads"]
    resources:
        gpu=TRAINING["gpu"],
        runtime=TRAINING["runtime"],
        mem_mb=TRAINING["mem_mb"],
    conda:
        "../../envs/biogans.yaml"
    shell:
        "biogans train {input.cells:q} {params.out_dir:q} --model {wildcards.model:q} {params.options} "
        "--threads {threads} > {log:q} 2>&1"


use rule train_joint as train_conditional with:
    output:
        expand("results/models/{{model}}/generator_{iteration}.pt", iteration=checkpoints("conditional")),
    wildcard_constraints:
        model=one_of(models_of("star", "multichannel")),


use rule train_joint as train_independent with:
    output:
        expand("results/models/{{model}}/{{protein}}/generator_{iteration}.pt", iteration=checkpoints("conditional")),
    wildcard_constraints:
        model=one_of(models_of("independent")),
        protein=one_of(MODELLED),
    log:
        log_path("train/{model}/{protein}"),
    benchmark:
        benchmark_path("train/{model}/{protein}")


rule assemble_independent:
    input:
        expand("results/models/{{model}}/{protein}/generator_{{iteration}}.pt", protein=MODELLED),
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
        "biogans assemble {input:q} --out {output:q} > {log:q} 2>&1"


rule model_samples:
    input:
        lambda wildcards: generator_file(wildcards.model),
    output:
        "results/models/{model}/samples.ome.tif",
    wildcard_constraints:
        model=one_of(MODELS),
    params:
        options=cli_options(
            {"n": 64, "seed": TRAINING["seed"], "pixel_size": config["preprocess"]["cell_pixel_size"]}
        ),
    log:
        log_path("samples/{model}"),
    benchmark:
        benchmark_path("samples/{model}")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/biogans.yaml"
    shell:
        "biogans sample {input:q} --out {output:q} {params.options} > {log:q} 2>&1"


rule models:
    input:
        [generator_file(m) for m in MODELS],
        [f"results/models/{m}/samples.ome.tif" for m in MODELS],

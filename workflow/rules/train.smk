# Training: one job per model (one per protein for independent models), generator files at the
# checkpoint iterations as outputs; resume.pt beside them survives a killed job.


# Trains a joint model; train_conditional and train_independent are this rule with their outputs.
rule train:
    input:
        unpack(train_inputs),
    output:
        expand(
            "results/models/{{model}}/generator_{iteration}.pt",
            iteration=checkpoint_iterations("joint"),
        ),
    log:
        log_path("train/{model}"),
    benchmark:
        benchmark_path("train/{model}")
    wildcard_constraints:
        model=one_of(models_of("joint")),
    conda:
        ENV
    threads: TRAINING["threads"]
    resources:
        **RESOURCES["train"],
    params:
        out_dir=lambda wildcards, output: Path(output[0]).parent,
        options=train_options,
    shell:
        "biogans train {input.cells:q} {params.out_dir:q} --model {wildcards.model:q} {params.options} "
        "--threads {threads} > {log:q} 2>&1"


use rule train as train_conditional with:
    output:
        expand(
            "results/models/{{model}}/generator_{iteration}.pt",
            iteration=checkpoint_iterations("conditional"),
        ),
    wildcard_constraints:
        model=one_of(models_of("star", "multichannel")),


use rule train as train_independent with:
    output:
        expand(
            "results/models/{{model}}/{{protein}}/generator_{iteration}.pt",
            iteration=checkpoint_iterations("conditional"),
        ),
    log:
        log_path("train/{model}/{protein}"),
    benchmark:
        benchmark_path("train/{model}/{protein}")
    wildcard_constraints:
        model=one_of(models_of("independent")),
        protein=one_of(MODELLED),


rule assemble_independent:
    input:
        expand(
            "results/models/{{model}}/{protein}/generator_{{iteration}}.pt",
            protein=MODELLED,
        ),
    output:
        "results/models/{model}/generator_{iteration}.pt",
    log:
        log_path("assemble/{model}_{iteration}"),
    benchmark:
        benchmark_path("assemble/{model}_{iteration}")
    wildcard_constraints:
        model=one_of(models_of("independent")),
        iteration=r"\d+",
    conda:
        ENV
    threads: 1
    shell:
        "biogans assemble {input:q} --out {output:q} > {log:q} 2>&1"


rule model_samples:
    input:
        lambda wildcards: generator_file(wildcards.model),
    output:
        "results/models/{model}/samples.ome.tif",
    log:
        log_path("samples/{model}"),
    benchmark:
        benchmark_path("samples/{model}")
    wildcard_constraints:
        model=one_of(MODELS),
    conda:
        ENV
    threads: 1
    params:
        options=cli_options(
            {
                "n": 64,
                "seed": TRAINING["seed"],
                "pixel_size": config["preprocess"]["cell_pixel_size"],
            }
        ),
    shell:
        "biogans sample {input:q} --out {output:q} {params.options} > {log:q} 2>&1"


rule models:
    input:
        [generator_file(m) for m in MODELS],
        expand(rules.model_samples.output[0], model=MODELS),

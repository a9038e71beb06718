# Data stage: fields -> aligned, normalised cells (cells.h5), splits and red-channel neighbours.


if SOURCE == "synthetic":

    rule simulate:
        output:
            directory("results/raw/{protein}"),
        params:
            root=lambda wildcards, output: str(Path(output[0]).parent),
            options=lambda wildcards: cli_options(
                {
                    "proteins": [wildcards.protein],
                    **{key: config["simulate"][key] for key in ("seed", "cells_per_protein", "field_size")},
                }
            ),
        log:
            log_path("simulate/{protein}"),
        benchmark:
            benchmark_path("simulate/{protein}")
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        conda:
            "../../envs/biogans.yaml"
        shell:
            "biogans simulate {params.root:q} {params.options} --threads {threads} > {log:q} 2>&1"

    use rule simulate as simulate_joint with:
        output:
            directory("results/raw_joint/all_proteins"),
        params:
            options=cli_options(
                {
                    "seed": config["simulate"]["seed"],
                    "cells_per_protein": config["simulate"]["joint_cells"],
                    "field_size": config["simulate"]["field_size"],
                    "all_proteins": True,
                }
            ),
        log:
            log_path("simulate_joint"),
        benchmark:
            benchmark_path("simulate_joint")


PREPROCESS_OPTIONS = cli_options(
    {
        **config["preprocess"],
        "channels": DATASET["channels"] if SOURCE == "tiff" else None,
        "pixel_size": DATASET["pixel_size"] if SOURCE == "tiff" else None,
        "masks": (DATASET["masks"] or None) if SOURCE == "tiff" else None,
    }
)


if SOURCE == "lin":

    rule import_lin:
        output:
            CELLS,
        params:
            root=DATASET["path"],
            options=cli_options(
                {"proteins": PROTEINS, **{key: config["preprocess"][key] for key in ("test_fraction", "seed")}}
            ),
        log:
            log_path("import_lin"),
        benchmark:
            benchmark_path("import_lin")
        threads: 1
        resources:
            mem_mb=2000,
            runtime=10,
        conda:
            "../../envs/biogans.yaml"
        shell:
            "biogans import-lin {params.root:q} {output:q} {params.options} > {log:q} 2>&1"

else:

    rule preprocess:
        input:
            fields=expand("results/raw/{protein}", protein=PROTEINS) if SOURCE == "synthetic" else [DATASET["path"]],
        output:
            CELLS,
        params:
            root=fields_root,
            options=f"{cli_options({'proteins': PROTEINS})} {PREPROCESS_OPTIONS}",
        log:
            log_path("preprocess"),
        benchmark:
            benchmark_path("preprocess")
        threads: 2
        resources:
            mem_mb=4000,
            runtime=30,
        conda:
            "../../envs/biogans.yaml"
        shell:
            "biogans preprocess {params.root:q} {output:q} {params.options} --threads {threads} > {log:q} 2>&1"


if SOURCE == "synthetic":

    use rule preprocess as preprocess_joint with:
        input:
            fields=["results/raw_joint/all_proteins"],
            reference=CELLS,
        output:
            JOINT_TRUTH,
        params:
            root=fields_root,
            options=f"--all-proteins --reference {CELLS} {PREPROCESS_OPTIONS}",
        log:
            log_path("preprocess_joint"),
        benchmark:
            benchmark_path("preprocess_joint")


rule splits:
    input:
        CELLS,
    output:
        SPLITS,
    params:
        options=cli_options(config["splits"]),
    log:
        log_path("splits"),
    benchmark:
        benchmark_path("splits")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    conda:
        "../../envs/biogans.yaml"
    shell:
        "biogans splits {input:q} {output:q} {params.options} > {log:q} 2>&1"


rule neighbours:
    input:
        CELLS,
    output:
        NEIGHBOURS,
    params:
        options=f"-k {config['neighbours']['k']}",
    log:
        log_path("neighbours"),
    benchmark:
        benchmark_path("neighbours")
    threads: 2
    resources:
        mem_mb=4000,
        runtime=10,
    conda:
        "../../envs/biogans.yaml"
    shell:
        "biogans neighbours {input:q} {output:q} {params.options} --threads {threads} > {log:q} 2>&1"


rule data:
    input:
        data_targets(),

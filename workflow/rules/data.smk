# Data stage: fields -> aligned, normalised cells (cells.h5), splits and red-channel neighbours.


if SOURCE == "synthetic":

    rule simulate:
        output:
            directory("results/raw/{protein}"),
        log:
            log_path("simulate/{protein}"),
        benchmark:
            benchmark_path("simulate/{protein}")
        conda:
            ENV
        threads: 1
        params:
            root=lambda wildcards, output: str(Path(output[0]).parent),
            options=lambda wildcards: cli_options(
                {
                    "proteins": [wildcards.protein],
                    **{
                        key: config["simulate"][key]
                        for key in ("seed", "cells_per_protein", "field_size")
                    },
                }
            ),
        shell:
            "biogans simulate {params.root:q} {params.options} --threads {threads} > {log:q} 2>&1"

    use rule simulate as simulate_joint with:
        output:
            directory("results/raw_joint/all_proteins"),
        log:
            log_path("simulate_joint"),
        benchmark:
            benchmark_path("simulate_joint")
        params:
            options=cli_options(
                {
                    "seed": config["simulate"]["seed"],
                    "cells_per_protein": config["simulate"]["joint_cells"],
                    "field_size": config["simulate"]["field_size"],
                    "all_proteins": True,
                }
            ),


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
        log:
            log_path("import_lin"),
        benchmark:
            benchmark_path("import_lin")
        conda:
            ENV
        threads: 1
        resources:
            **RESOURCES["import_lin"],
        params:
            root=DATASET["path"],
            options=cli_options(
                {
                    "proteins": PROTEINS,
                    **{
                        key: config["preprocess"][key]
                        for key in ("test_fraction", "seed")
                    },
                }
            ),
        shell:
            "biogans import-lin {params.root:q} {output:q} {params.options} > {log:q} 2>&1"

else:

    rule preprocess:
        input:
            fields=(
                expand("results/raw/{protein}", protein=PROTEINS)
                if SOURCE == "synthetic"
                else [DATASET["path"]]
            ),
        output:
            CELLS,
        log:
            log_path("preprocess"),
        benchmark:
            benchmark_path("preprocess")
        conda:
            ENV
        threads: 2
        resources:
            **RESOURCES["preprocess"],
        params:
            root=fields_root,
            options=f"{cli_options({'proteins': PROTEINS})} {PREPROCESS_OPTIONS}",
        shell:
            "biogans preprocess {params.root:q} {output:q} {params.options} --threads {threads} > {log:q} 2>&1"


if SOURCE == "synthetic":

    use rule preprocess as preprocess_joint with:
        input:
            fields=["results/raw_joint/all_proteins"],
            reference=CELLS,
        output:
            JOINT_TRUTH,
        log:
            log_path("preprocess_joint"),
        benchmark:
            benchmark_path("preprocess_joint")
        params:
            root=fields_root,
            options=f"--all-proteins --reference {CELLS} {PREPROCESS_OPTIONS}",


rule splits:
    input:
        CELLS,
    output:
        SPLITS,
    log:
        log_path("splits"),
    benchmark:
        benchmark_path("splits")
    conda:
        ENV
    threads: 1
    resources:
        **RESOURCES["splits"],
    params:
        options=cli_options(config["splits"]),
    shell:
        "biogans splits {input:q} {output:q} {params.options} > {log:q} 2>&1"


rule neighbours:
    input:
        CELLS,
    output:
        NEIGHBOURS,
    log:
        log_path("neighbours"),
    benchmark:
        benchmark_path("neighbours")
    conda:
        ENV
    threads: 2
    resources:
        **RESOURCES["neighbours"],
    params:
        options=f"-k {config['neighbours']['k']}",
    shell:
        "biogans neighbours {input:q} {output:q} {params.options} --threads {threads} > {log:q} 2>&1"


rule data:
    input:
        data_targets(),

# Data stage: fields -> aligned, normalised cells (cells.h5), splits and red-channel neighbours.


if SOURCE == "synthetic":

    rule simulate:
        output:
            directory("results/raw/{protein}"),
        params:
            seed=config["simulate"]["seed"],
            cells=config["simulate"]["cells_per_protein"],
            field_size=config["simulate"]["field_size"],
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
            "biogans simulate results/raw --proteins {wildcards.protein} --seed {params.seed} "
            "--cells-per-protein {params.cells} --field-size {params.field_size} "
            "--threads {threads} > {log} 2>&1"

    rule simulate_joint:
        output:
            directory("results/raw_joint/all_proteins"),
        params:
            seed=config["simulate"]["seed"],
            cells=config["simulate"]["joint_cells"],
            field_size=config["simulate"]["field_size"],
        log:
            log_path("simulate_joint"),
        benchmark:
            benchmark_path("simulate_joint")
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        conda:
            "../../envs/biogans.yaml"
        shell:
            "biogans simulate results/raw_joint --all-proteins --seed {params.seed} "
            "--cells-per-protein {params.cells} --field-size {params.field_size} "
            "--threads {threads} > {log} 2>&1"

    rule preprocess_joint:
        input:
            fields="results/raw_joint/all_proteins",
            reference="results/data/cells.h5",
        output:
            "results/data/joint_truth.h5",
        params:
            options=preprocess_options(),
        log:
            log_path("preprocess_joint"),
        benchmark:
            benchmark_path("preprocess_joint")
        threads: 2
        resources:
            mem_mb=2000,
            runtime=10,
        conda:
            "../../envs/biogans.yaml"
        shell:
            "biogans preprocess results/raw_joint {output} --all-proteins "
            "--reference {input.reference} {params.options} --threads {threads} > {log} 2>&1"


if SOURCE == "lin":

    rule import_lin:
        output:
            "results/data/cells.h5",
        params:
            root=DATASET["path"],
            proteins=PROTEINS,
            test_fraction=config["preprocess"]["test_fraction"],
            seed=config["preprocess"]["seed"],
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
            "biogans import-lin {params.root:q} {output} --proteins {params.proteins} "
            "--test-fraction {params.test_fraction} --seed {params.seed} > {log} 2>&1"

else:

    rule preprocess:
        input:
            field_folders,
        output:
            "results/data/cells.h5",
        params:
            root=fields_root(),
            proteins=PROTEINS,
            options=preprocess_options(),
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
            "biogans preprocess {params.root:q} {output} --proteins {params.proteins} "
            "{params.options} --threads {threads} > {log} 2>&1"


rule splits:
    input:
        "results/data/cells.h5",
    output:
        "results/data/splits.h5",
    params:
        n_splits=config["splits"]["n_splits"],
        seed=config["splits"]["seed"],
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
        "biogans splits {input} {output} --n-splits {params.n_splits} --seed {params.seed} "
        "> {log} 2>&1"


rule neighbours:
    input:
        "results/data/cells.h5",
    output:
        "results/data/red_neighbours.h5",
    params:
        k=config["neighbours"]["k"],
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
        "biogans neighbours {input} {output} -k {params.k} --threads {threads} > {log} 2>&1"


rule data:
    input:
        data_targets(),

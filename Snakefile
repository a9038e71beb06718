# biogans: "GANs for Biological Image Synthesis" (Osokin et al., ICCV 2017) as a workflow.
#   snakemake --cores all                    every table and figure (demo scale, synthetic data)
#   snakemake --cores all data               the cell store only
# See README.md for presets, real data and the cluster profile.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        rules.data.input,
        rules.models.input,
        report_targets(),

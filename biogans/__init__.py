"""biogans: GANs for biological image synthesis (Osokin et al., ICCV 2017), as a Snakemake workflow."""

__version__ = "0.1.0"

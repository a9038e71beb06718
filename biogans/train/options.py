"""Options of ``biogans train`` and ``biogans sample``, declared once (see :mod:`biogans.options`).

The defaults are the paper's: a value left at None takes the named model's (widths, latent size,
red portion) or its objective's (learning rate, critic steps).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from biogans.errors import BiogansError
from biogans.options import (
    REQUIRED,
    check_options,
    cuda_graphs_option,
    device_option,
    option,
    precision_option,
    seed_option,
)
from biogans.validation import MAX_LATENT, MAX_WIDTH

#: The paper's checkpoint iterations.
PAPER_CHECKPOINTS = (100, 1_000, 2_000, 3_000, 5_000, 10_000, 30_000, 50_000, 100_000, 300_000, 500_000)
#: The paper's generator iterations per kind of model: joint (proteins merged) and conditional.
PAPER_ITERATIONS = {"joint": 500_000, "conditional": 50_000}
MAX_ITERATIONS = 100_000_000


@dataclass(frozen=True, kw_only=True)
class TrainOptions:
    """Everything that defines one training run (stored in train_options.json and resume.pt)."""

    model: str = option(REQUIRED, "paper model name (gan, wgan, wgangp, gan-sep, ..., wgangp-star)")
    proteins: tuple[str, ...] = option(REQUIRED, "proteins to model (joint models merge them; one protein "
                                       "for an independent part)", metavar="P", config="dataset.modelled")
    iterations: int = option(REQUIRED, "generator iterations", minimum=1, maximum=MAX_ITERATIONS, metavar="N",
                             config="training.iterations.*")
    checkpoints: tuple[int, ...] | None = option(
        None, "iterations at which to write generator_<I>.pt; the last iteration is always written "
        "(default: the paper's list up to N)", minimum=1, maximum=MAX_ITERATIONS, metavar="I",
        config="training.checkpoints.*")
    batch_size: int = option(64, "batch size (per protein for star-shaped models)", minimum=1, maximum=4096,
                             metavar="B", config="training.batch_size")
    nz: int | None = option(None, "latent size (default: the model's, 100 or 350)", minimum=2, maximum=MAX_LATENT,
                            config="models.*.nz")
    ngf: int | None = option(None, "generator width (default: the model's, 64 or 224)", minimum=1,
                             maximum=MAX_WIDTH, config="training.ngf")
    ndf: int | None = option(None, "critic width (default: the model's, 64 or 224)", minimum=1,
                             maximum=MAX_WIDTH, config="training.ndf")
    red_portion: float | None = option(None, "red share of a separable model's channels (default: the "
                                       "model's, 0.5 or 0.143)", minimum=0, maximum=1, exclusive_minimum=True,
                                       exclusive_maximum=True, metavar="F", config="models.*.red_portion")
    critic_steps: int | None = option(None, "critic updates per generator update (default: the objective's, "
                                      "1 or 5)", minimum=1, maximum=1000, metavar="K", config="models.*.critic_steps")
    lr: float | None = option(None, "learning rate of both networks (default: the objective's, 2e-4 gan, 5e-5 "
                              "wgan, 1e-4 wgangp)", minimum=0, maximum=1, exclusive_minimum=True,
                              config="training.lr.*")
    seed: int = seed_option("training seed", config="training.seed")
    device: str = device_option(config="training.device")
    precision: str = precision_option("arithmetic of the networks", config="training.precision")
    cuda_graphs: str = cuda_graphs_option("each training iteration")
    channels_last: bool = option(False, "channels-last memory format", config="training.channels_last")
    compile: bool = option(False, "torch.compile the generator, and the critic where the objective needs no "
                           "double backward (not WGAN-GP); eager, with a logged reason, where compiling fails",
                           config="training.compile")
    resume_every: int = option(1000, "write resume.pt every N iterations (a killed run loses at most N)",
                               minimum=1, maximum=MAX_ITERATIONS, metavar="N", config="training.resume_every")
    log_every: int = option(10, "append to train_log.csv every N iterations", minimum=1, maximum=MAX_ITERATIONS,
                            metavar="N")

    def __post_init__(self) -> None:
        check_options(self)
        beyond = [c for c in self.checkpoints or () if c > self.iterations]
        if beyond:
            raise BiogansError(f"--checkpoints: {', '.join(map(str, beyond))} beyond the {self.iterations} iterations")

    @property
    def checkpoint_iterations(self) -> list[int]:
        """Where generator files are written: the given (or the paper's) iterations, and always the last."""
        chosen = self.checkpoints if self.checkpoints is not None else PAPER_CHECKPOINTS
        return sorted({c for c in chosen if c <= self.iterations} | {self.iterations})

    def identity(self) -> dict:
        """The options a resume state must share with this run (training longer is allowed)."""
        skip = {"iterations", "checkpoints", "device", "resume_every", "log_every", "precision", "compile",
                "cuda_graphs"}
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items() if k not in skip}


@dataclass(frozen=True, kw_only=True)
class SampleOptions:
    """What ``biogans sample`` draws from a generator."""

    n: int = option(REQUIRED, "number of latent vectors", minimum=1, maximum=1_000_000)
    seed: int = seed_option("seed of the latent vectors")
    protein: str | None = option(None, "conditional models: only this protein", metavar="P")
    all_proteins: bool = option(False, "conditional models: every protein's green for the same red")
    pixel_size: float = option(0.19, "micrometres per pixel of the cells, for the OME-TIFF's scale (the cell "
                               "store's: preprocess.cell_pixel_size)", minimum=0.001, maximum=100, metavar="UM")
    device: str = device_option()

    def __post_init__(self) -> None:
        check_options(self)
        if self.protein is not None and self.all_proteins:
            raise BiogansError("--protein and --all-proteins: give one or the other")


@dataclass(frozen=True, kw_only=True)
class FeatureOptions:
    """How ``biogans features`` trains the metrics' feature network (on training cells only)."""

    proteins: tuple[str, ...] | None = option(None, "proteins to tell apart (default: every protein of the store)",
                                              metavar="P")
    epochs: int = option(10, "passes over the training cells", minimum=1, maximum=10_000, metavar="N",
                         config="features.epochs")
    width: int = option(16, "width of the first convolution (each of the 4 blocks doubles it)", minimum=1,
                        maximum=MAX_WIDTH // 8, metavar="W")
    features: int = option(32, "size of the penultimate layer: the metrics' feature space (at most the test cells "
                           "per protein keeps FID's covariances of full rank)", minimum=2,
                           maximum=MAX_WIDTH, metavar="F", config="features.features")
    batch_size: int = option(64, "cells per update", minimum=1, maximum=4096, metavar="B")
    lr: float = option(2e-3, "Adam learning rate", minimum=0, maximum=1, exclusive_minimum=True)
    seed: int = seed_option("seed of the initial weights, batches and flips", config="features.seed")
    device: str = device_option()

    def __post_init__(self) -> None:
        check_options(self)

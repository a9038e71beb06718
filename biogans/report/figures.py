"""The paper's figures: generated and real cells (red Bgs4, green protein, on black) and C2ST curves.

Every figure function takes explicit input paths and an output path, writes a PNG (200 dpi) atomically
and raises a one-line BiogansError for a missing or unsuitable input. Matplotlib is used through
``matplotlib.figure.Figure`` (the Agg canvas, no pyplot state); cell pictures come from
:mod:`biogans.report.montage`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from PIL import Image, ImageDraw, ImageFont

from biogans.data.loaders import cell_tensor
from biogans.data.store import CellSet, read_store, to_unit_range
from biogans.errors import BiogansError
from biogans.evaluate.reconstruct import EXAMPLES_FORMAT
from biogans.files import atomic_path
from biogans.hdf5 import open_hdf5, read_array
from biogans.images import cell_rows, grid, grid_centres, save_gif, to_rgb
from biogans.models.latent import fixed_noise, interpolate, sample_noise
from biogans.report.canvas import DPI, check_png, save_figure
from biogans.train.checkpoints import load_generator

#: Inches per cell-image pixel: an 80-pixel-wide cell is ~0.9 in, ~180 px at 200 dpi.
INCHES_PER_PIXEL = 1 / 90
#: Red intensity ([0, 1] units) above which a pixel counts as cell when measuring a generated cell's length.
CELL_THRESHOLD = 0.05
#: Architectures whose proteins share one red channel (the star-shaped view of a conditional model).
SHARED_RED = ("star", "multichannel")


# --------------------------------------------------------------------------- figure 1

@torch.no_grad()
def figure1_teaser(generator: str | Path, cells: str | Path, out: str | Path, *, model: str = "star-shaped model",
                   latents: int = 8, real_cells: int = 4, seed: int = 0) -> None:
    """Real test cells of each protein (left) beside a star-shaped model's samples (right): one latent,
    hence one red, per column and one row per protein (that protein's green on the shared red)."""
    check_png(out)
    generator_model = _shared_red_model(generator, "figure 1")
    real = _real_cells(read_store(cells, generator_model.proteins), generator_model.proteins, real_cells, seed, cells)
    fake = generator_model.cells(fixed_noise(generator_model, latents, group=1, seed=seed)).transpose(0, 1)
    figure, (left, right) = _panels([real, fake], direction="horizontal")
    _show_cells(left, real, "real cells (test set)", row_labels=generator_model.proteins)
    _show_cells(right, fake, f"{model}: one latent (one red) per column",
                column_labels=[f"z{i + 1}" for i in range(latents)])
    save_figure(figure, out)


# --------------------------------------------------------------------------- figure 3

@torch.no_grad()
def figure3_training_progress(generators: Mapping[str, Sequence[str | Path]], cells: str | Path, out: str | Path, *,
                              samples: int = 8, seed: int = 0) -> None:
    """Samples of joint models at several checkpoints (one row per iteration, the same latents in every
    row of a model) below a row of real cells of the models' proteins."""
    check_png(out)
    if not generators:
        raise BiogansError("figure 3: no generator files given")
    panels, titles, labels = [], [], []
    proteins = None
    for name, paths in generators.items():
        loaded = sorted(((path, _joint_model(path, "figure 3")) for path in paths), key=lambda pm: pm[1].iteration)
        if not loaded:
            raise BiogansError(f"figure 3: no generator files for model {name}")
        first_path, first = loaded[0]
        for path, model in loaded[1:]:
            if model.nz != first.nz or model.proteins != first.proteins:
                raise BiogansError(f"{path}: not a checkpoint of the same model {name} as {first_path} "
                                   f"(latent size {model.nz} vs {first.nz}, proteins {', '.join(model.proteins)} "
                                   f"vs {', '.join(first.proteins)})")
        models = [model for _, model in loaded]
        z = fixed_noise(models[0], samples, group=1, seed=seed)
        panels.append(torch.stack([model.cells(z)[:, 0] for model in models]))
        titles.append(name)
        labels.append([f"iteration {model.iteration:,}" for model in models])
        proteins = proteins or models[0].proteins
    real = _merged_real_cells(read_store(cells, proteins), proteins, samples, seed, cells)
    figure, axes = _panels([real[None], *panels], direction="vertical")
    _show_cells(axes[0], real[None], f"real cells ({', '.join(proteins)})", row_labels=["real"])
    for ax, panel, title, row_labels in zip(axes[1:], panels, titles, labels, strict=True):
        _show_cells(ax, panel, f"{title}: the same latents at each checkpoint", row_labels=row_labels)
    save_figure(figure, out)


# --------------------------------------------------------------------------- figure 4

@torch.no_grad()
def figure4_separable_samples(generators: Mapping[str, str | Path], out: str | Path, *, groups: int = 4,
                              group_size: int = 8, seed: int = 0) -> None:
    """Separable joint models: each row ``group_size`` samples sharing the red part of z (so one red
    cell); the greens should vary along a row (identical greens are mode collapse)."""
    check_png(out)
    if not generators:
        raise BiogansError("figure 4: no generator files given")
    panels = {}
    for name, path in generators.items():
        model = _joint_model(path, "figure 4")
        if not model.nz_red:
            raise BiogansError(f"{path}: figure 4 needs a separable model (a red part of z); "
                               f"this {model.spec['architecture']} model has none")
        z = fixed_noise(model, groups * group_size, group=group_size, seed=seed)
        samples = model.cells(z)[:, 0]
        panels[name] = samples.reshape(groups, group_size, *samples.shape[1:])
    figure, axes = _panels(list(panels.values()), direction="vertical")
    for ax, (name, panel) in zip(axes, panels.items(), strict=True):
        _show_cells(ax, panel, f"{name}: each row shares the red part of z",
                    row_labels=[f"red z{i + 1}" for i in range(groups)])
    save_figure(figure, out)


# --------------------------------------------------------------------------- figure 6

def figure6_reconstructions(examples: Mapping[tuple[str, str], str | Path], out: str | Path, *,
                            cells_per_protein: int = 3) -> None:
    """Per protein, a few held-out cells: the target, its nearest training cell and each model's
    reconstruction (``examples`` maps (mode, model) to the examples.h5 of that reconstruction)."""
    check_png(out)
    if not examples:
        raise BiogansError("figure 6: no reconstruction example files given")
    loaded = {key: read_examples(path) for key, path in examples.items()}
    first_key = next(iter(examples))
    proteins = [p for p in loaded[first_key] if all(p in data for data in loaded.values())]
    if not proteins:
        raise BiogansError(f"{', '.join(map(str, examples.values()))}: no protein is in every file")
    blocks = []
    for protein in proteins:
        rows = [r for r in loaded[first_key][protein]["row"]
                if all(r in data[protein]["row"] for data in loaded.values())][:cells_per_protein]
        if not rows:
            raise BiogansError(f"{', '.join(map(str, examples.values()))}: no {protein} cell is reconstructed "
                               "in every file (run the reconstructions with the same --seed and --n-cells)")
        columns = [_pick(loaded[first_key][protein], "target", rows),
                   _pick(loaded[first_key][protein], "nearest", rows)]
        columns += [_pick(data[protein], "reconstruction", rows) for data in loaded.values()]
        blocks.append(np.stack(columns, 1))  # [cells, columns, 2, H, W] uint8
    cells = [torch.from_numpy(to_unit_range(block)) for block in blocks]
    figure, axes = _panels(cells, direction="vertical")
    # long model names wrap at their hyphens so that neighbouring column titles do not overlap
    names = ["target", "nearest\ntraining cell"] + [f"{textwrap.fill(model, 12)}\n({mode})" for mode, model in loaded]
    for i, (ax, protein, block) in enumerate(zip(axes, proteins, cells, strict=True)):
        _show_cells(ax, block, None, row_labels=[protein] + [""] * (len(block) - 1),
                    column_labels=names if i == 0 else None)
    save_figure(figure, out)


def read_examples(path: str | Path) -> dict[str, dict[str, np.ndarray]]:
    """A reconstruction examples.h5: per protein, target / nearest / reconstruction images and rows."""
    with open_hdf5(path, EXAMPLES_FORMAT, "reconstruction examples file") as f:
        data = {}
        for protein, group in f.items():
            missing = [k for k in ("target", "nearest", "reconstruction", "row") if k not in group]
            if missing:
                raise BiogansError(f"{path}: protein {protein} lacks {', '.join(missing)}")
            data[protein] = {k: read_array(group[k], f"{path}: {protein}/{k}")
                             for k in ("target", "nearest", "reconstruction", "row")}
    if not data:
        raise BiogansError(f"{path}: no proteins")
    for protein, arrays in data.items():
        shapes = {arrays[k].shape for k in ("target", "nearest", "reconstruction")}
        if len(shapes) != 1 or arrays["target"].ndim != 4 or arrays["target"].shape[1] != 2 \
                or len(arrays["row"]) != len(arrays["target"]):
            raise BiogansError(f"{path}: protein {protein}'s images are not matching [n, 2, H, W] arrays")
    return data


def _pick(arrays: dict[str, np.ndarray], name: str, rows: Sequence[int]) -> np.ndarray:
    index = [int(np.flatnonzero(arrays["row"] == r)[0]) for r in rows]
    return arrays[name][index]


# --------------------------------------------------------------------------- figure 7

@torch.no_grad()
def figure7_cell_cycle(generator: str | Path, out: str | Path, gif: str | Path | None = None, *,
                       model: str = "star-shaped model", steps: int = 11, frames: int = 40,
                       candidates: int = 512, percentiles: tuple[float, float] = (10, 95),
                       threshold: float = CELL_THRESHOLD, seed: int = 0) -> None:
    """A slerp path through a star-shaped model's latent space from a short cell to a long (dividing)
    one, every protein's green on the shared red: a PNG strip of ``steps`` and a looping GIF of ``frames``.

    The ends are found from the model: of ``candidates`` seeded latents ranked by the length of their
    generated red cell, those at the two ``percentiles``.
    """
    check_png(out)
    gif = animation_path(out, gif)
    if gif.suffix != ".gif":
        raise BiogansError(f"{gif}: the animation must end in .gif")
    if steps < 2 or frames < 2 or candidates < 2:
        raise BiogansError(f"figure 7 needs at least 2 steps, frames and candidates "
                           f"(got {steps}, {frames}, {candidates})")
    generator_model = _shared_red_model(generator, "figure 7")
    z0, z1, lengths = cell_cycle_ends(generator_model, candidates, percentiles, threshold, seed)
    strip = generator_model.cells(interpolate(z0, z1, steps, "slerp")).transpose(0, 1)  # [P, steps, 2, H, W]
    measured = red_length(strip[0, :, 0], threshold)
    figure, (ax,) = _panels([strip], direction="vertical")
    _show_cells(ax, strip, f"{model}: latent path from a short to a long cell (red length "
                f"{lengths[0]:.0f} → {lengths[1]:.0f} px), one red for all proteins",
                row_labels=generator_model.proteins, column_labels=[f"{x:.0f} px" for x in measured.tolist()])
    path_cells = generator_model.cells(interpolate(z0, z1, frames, "slerp"))  # [frames, P, 2, H, W]
    animation = _gif_frames(path_cells, generator_model.proteins)
    with atomic_path(gif) as gif_tmp:
        save_gif(gif_tmp, animation + animation[-2:0:-1], duration_ms=100)
        save_figure(figure, out)


def animation_path(out: str | Path, gif: str | Path | None) -> Path:
    """Figure 7's GIF: ``gif``, or by default ``out`` with the suffix .gif."""
    return Path(gif) if gif is not None else Path(out).with_suffix(".gif")


def red_length(red: torch.Tensor, threshold: float = CELL_THRESHOLD, min_pixels: int = 2) -> torch.Tensor:
    """Length in pixels along the long (horizontal) axis of generated red cells [B, H, W] in [-1, 1]:
    the extent of the columns holding at least ``min_pixels`` pixels brighter than ``threshold``."""
    columns = (((red + 1) / 2 > threshold).sum(-2) >= min_pixels)  # [B, W]
    width = columns.shape[-1]
    first = columns.float().argmax(-1)
    last = width - 1 - columns.flip(-1).float().argmax(-1)
    return torch.where(columns.any(-1), last - first + 1, torch.zeros_like(first)).float()


def cell_cycle_ends(model: torch.nn.Module, candidates: int, percentiles: tuple[float, float],
                    threshold: float, seed: int) -> tuple[torch.Tensor, torch.Tensor, tuple[float, float]]:
    """The latents of a short and of a long generated cell: of ``candidates`` seeded latents ranked by
    red length, those at the two ``percentiles`` of the ranking (distinct latents even where lengths
    tie); with their two lengths."""
    z = sample_noise(candidates, model.nz, torch.Generator().manual_seed(seed))
    lengths = torch.cat([red_length(model(chunk)[:, 0], threshold) for chunk in z.split(256)])
    order = torch.argsort(lengths, stable=True)
    picks = [int(order[round(p / 100 * (candidates - 1))]) for p in percentiles]
    return z[picks[0]], z[picks[1]], (float(lengths[picks[0]]), float(lengths[picks[1]]))


def _gif_frames(cells: torch.Tensor, proteins: Sequence[str], scale: int = 2) -> list[np.ndarray]:
    """One frame per step: the proteins' cells in a column, upscaled, with their names on the left."""
    labels = _label_strip(proteins, cells.shape[-2], scale)
    frames = []
    for step in cells:
        column = grid(to_rgb(step), columns=1, background=0.0)
        column = np.asarray(Image.fromarray((column * 255).round().astype(np.uint8)).resize(
            (column.shape[1] * scale, column.shape[0] * scale), Image.NEAREST)) / 255.0
        frames.append(np.concatenate([labels, column], 1))
    return frames


def _label_strip(proteins: Sequence[str], height: int, scale: int, pad: int = 2) -> np.ndarray:
    """A black strip with each protein's name at the height of its row in a one-column grid."""
    total = (len(proteins) * (height + pad) + pad) * scale
    image = Image.new("RGB", (76, total))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=14)
    for protein, centre in zip(proteins, grid_centres(len(proteins), height, pad) * scale, strict=True):
        draw.text((6, centre), protein, fill=(255, 255, 255), anchor="lm", font=font)
    return np.asarray(image) / 255.0


# --------------------------------------------------------------------------- shared helpers

def _shared_red_model(path: str | Path, figure: str) -> torch.nn.Module:
    """A conditional generator whose proteins share one red (star-shaped or multi-channel)."""
    model = load_generator(path)
    architecture = model.spec["architecture"]
    if not model.conditional or architecture not in SHARED_RED:
        raise BiogansError(f"{path}: {figure} needs a star-shaped model (one red shared by every protein's "
                           f"green); this is a{'n' if architecture[0] in 'aeiou' else ''} {architecture} model")
    return model


def _joint_model(path: str | Path, figure: str) -> torch.nn.Module:
    """A joint (two-channel, proteins merged) generator."""
    model = load_generator(path)
    if model.conditional:
        raise BiogansError(f"{path}: {figure} shows joint models (proteins merged); this is a conditional "
                           f"{model.spec['architecture']} model")
    return model


def _real_cells(store: dict[str, CellSet], proteins: Sequence[str], n: int, seed: int,
                source: str | Path) -> torch.Tensor:
    """[P, n, 2, H, W]: ``n`` random test cells of each protein (seeded), in [-1, 1]."""
    rng = np.random.default_rng(seed)
    per_protein = []
    for protein in proteins:
        rows = _test_rows(store[protein], protein, source)
        per_protein.append(cell_tensor(store[protein], np.sort(rng.choice(rows, min(n, len(rows)), replace=False))))
    if len({len(cells) for cells in per_protein}) > 1:
        raise BiogansError(f"{source}: some protein has fewer than {n} test cells")
    return torch.stack(per_protein)


def _merged_real_cells(store: dict[str, CellSet], proteins: Sequence[str], n: int, seed: int,
                       source: str | Path) -> torch.Tensor:
    """[n, 2, H, W]: ``n`` random test cells of the proteins merged (seeded), in [-1, 1]."""
    pool = [(protein, row) for protein in proteins for row in _test_rows(store[protein], protein, source)]
    picks = np.random.default_rng(seed).choice(len(pool), min(n, len(pool)), replace=False)
    return torch.cat([cell_tensor(store[pool[i][0]], np.array([pool[i][1]])) for i in sorted(picks)])


def _test_rows(cells: CellSet, protein: str, source: str | Path) -> np.ndarray:
    rows = cells.role_indices("test")
    if not len(rows):
        raise BiogansError(f"{source}: protein {protein} has no test cells")
    if cells.images.shape[1] != 2:
        raise BiogansError(f"{source}: protein {protein} has {cells.images.shape[1]} channels, expected 2")
    return rows


def _panels(blocks: Sequence[torch.Tensor], direction: str) -> tuple[Figure, list]:
    """A figure with one axis per block of cells [R, C, 2, H, W], stacked ``vertical``ly or side by
    side (``horizontal``), each sized to its cells."""
    pad = 2
    heights = [b.shape[0] * (b.shape[-2] + pad) + pad for b in blocks]
    widths = [b.shape[1] * (b.shape[-1] + pad) + pad for b in blocks]
    margin_w, margin_h = 1.6, 0.5  # inches for labels and titles
    if direction == "vertical":
        size = (max(widths) * INCHES_PER_PIXEL + margin_w,
                sum(heights) * INCHES_PER_PIXEL + margin_h * len(blocks) + 0.3)
        figure = Figure(figsize=size, dpi=DPI, layout="constrained")
        axes = figure.subplots(len(blocks), 1, squeeze=False, height_ratios=heights)[:, 0]
    else:
        size = (sum(widths) * INCHES_PER_PIXEL + margin_w * len(blocks), max(heights) * INCHES_PER_PIXEL + margin_h)
        figure = Figure(figsize=size, dpi=DPI, layout="constrained")
        axes = figure.subplots(1, len(blocks), squeeze=False, width_ratios=widths)[0]
    return figure, list(axes)


def _show_cells(ax, cells: torch.Tensor, title: str | None, row_labels: Sequence[str] | None = None,
                column_labels: Sequence[str] | None = None) -> None:
    """Draw cells [R, C, 2, H, W] (in [-1, 1]) as one picture, with optional row and column labels."""
    rows, columns, _, height, width = cells.shape
    ax.imshow(cell_rows(cells), interpolation="nearest")
    ax.set_yticks(grid_centres(rows, height) if row_labels else [], row_labels or [])
    ax.set_xticks(grid_centres(columns, width) if column_labels else [], column_labels or [], fontsize="small")
    ax.tick_params(length=0)
    if column_labels:
        ax.xaxis.tick_top()
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title, fontsize="medium")

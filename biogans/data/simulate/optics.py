"""The microscope and camera: PSF blur, out-of-focus haze, background, bleaching, noise, 16 bits.

The renderer hands over, per channel, the in-focus light (photons per field pixel) and the
light from structures away from the focal plane (photons per coarse haze bin);
``optical_image`` blurs and combines them, ``expose`` turns the result into a camera image.
Imaging facts and their sources are in docs/biology.md (keys such as [WAT] refer to its
references); the numbers that are modelling choices are marked there.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import ndimage

from biogans.proteins import RED

#: Field pixel size: 6.45 um camera pixel behind a 100x objective with 2x2 binning [WAT].
PIXEL_SIZE_UM = 0.13

#: Gaussian PSF sigma: ~0.21 lambda / NA for NA 1.4 (77 nm for GFP at 510 nm, 92 nm for a red
#: protein at 610 nm [ZHA][WAT]), widened by 20% for a real objective's aberrations.
PSF_SIGMA_UM: dict[str, float] = {"red": 0.11, "green": 0.092}
#: Depth of field: light from z um away from the focal plane is weighted exp(-z^2 / 2 s^2). A
#: single confocal section would have s ~ 0.4 um; screens of 3-4 um thick yeast cells record a few
#: planes and project them [RINES], which this wider in-focus window stands for, so that SPBs,
#: patches and MT ends anywhere in the cell's depth stay visible. The rest of the light is haze,
#: of which a fraction reaches the camera (the confocal pinholes reject most of it), spread by a
#: wide blur: the glow around and over a 3-4 um thick cell.
SECTION_SIGMA_UM = 0.9
HAZE_FRACTION = 0.3
HAZE_SIGMA_UM = 1.0
#: The haze is collected on a grid HAZE_BIN times coarser than the field: it is blurred over
#: ~2 such bins anyway, and the coarse grid makes it cheap.
HAZE_BIN = 4

#: Background photons per pixel (medium and autofluorescence; higher in the green) and the
#: illumination fall-off towards the field corners (flat-field).
BACKGROUND_PHOTONS: dict[str, float] = {"red": 8.0, "green": 15.0}
FLAT_FIELD_FALLOFF = 0.15
#: Mild photobleaching: each field and channel keeps this fraction of its brightness, uniformly
#: drawn (the exposure history of the region before the snapshot is unknown) [RINES].
BLEACH_RANGE = (0.85, 1.0)
#: CCD camera (6.45 um pixels): offset, gain and read noise [WAT][MOH].
CAMERA_OFFSET_ADU = 100.0
CAMERA_GAIN_ADU_PER_E = 1.0
READ_NOISE_E = 6.0
#: Shot noise is drawn exactly (Poisson) below this many photons; above it, by the normal
#: approximation N(photons, photons), merged with the read noise into one draw. With 6 e- read
#: noise the exact sum's skewness, lambda / (lambda + 36)^1.5, stays below 0.07 at any photon
#: count, invisible after 8-bit normalisation, while the exact draw costs ~5x more (it dominated
#: the simulator's run time).
POISSON_EXACT_BELOW = 5.0


def channel_kind(channel: str) -> str:
    """'red' for the Bgs4 channel, 'green' for any tagged protein."""
    return "red" if channel == RED else "green"


def psf_sigma_px(channel: str) -> float:
    """The channel's PSF sigma in field pixels."""
    return PSF_SIGMA_UM[channel_kind(channel)] / PIXEL_SIZE_UM


@lru_cache(maxsize=8)
def flat_field(shape: tuple[int, int]) -> np.ndarray:
    """Illumination profile of a field: 1 at the centre, 1 - FLAT_FIELD_FALLOFF at the corners."""
    y = (np.arange(shape[0]) - (shape[0] - 1) / 2) / (shape[0] / 2)
    x = (np.arange(shape[1]) - (shape[1] - 1) / 2) / (shape[1] / 2)
    r2 = (y[:, None] ** 2 + x[None, :] ** 2) / 2
    field = (1.0 - FLAT_FIELD_FALLOFF * r2).astype(np.float32)
    field.flags.writeable = False
    return field


def haze_grid(shape: tuple[int, int]) -> tuple[int, int]:
    """Shape of the coarse grid (HAZE_BIN x HAZE_BIN field pixels per bin) that collects haze."""
    return -(-shape[0] // HAZE_BIN), -(-shape[1] // HAZE_BIN)


def _upsample(coarse: np.ndarray, factor: int, axis: int) -> np.ndarray:
    """Linear interpolation from block centres back to pixel centres, ``factor`` times along ``axis``.

    Output pixel ``factor * i + j`` lies at coarse position i + (j + 0.5) / factor - 0.5, between
    coarse pixels i and i +- 1 (edges clamped); each phase j is one vectorised slice operation.
    """
    coarse = np.moveaxis(coarse, axis, 0)
    padded = np.concatenate([coarse[:1], coarse, coarse[-1:]])  # clamp at the edges
    out = np.empty((len(coarse), factor, *coarse.shape[1:]), coarse.dtype)
    for j in range(factor):
        offset = (j + 0.5) / factor - 0.5
        if offset < 0:
            out[:, j] = padded[1:-1] * (1 + offset) + padded[:-2] * -offset
        else:
            out[:, j] = padded[1:-1] * (1 - offset) + padded[2:] * offset
    return np.moveaxis(out.reshape(len(coarse) * factor, *coarse.shape[1:]), 0, axis)


def spread_haze(binned: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Out-of-focus light reaching each field pixel, from the photons collected per haze bin.

    The haze is blurred on the coarse grid (sigma of ~2 bins) and interpolated back linearly:
    within ~1.5% of a full-resolution Gaussian blur, at a fraction of its cost.
    """
    per_pixel = binned.astype(np.float32) * np.float32(HAZE_FRACTION / HAZE_BIN**2)
    blurred = ndimage.gaussian_filter(per_pixel, HAZE_SIGMA_UM / PIXEL_SIZE_UM / HAZE_BIN, mode="constant")
    return _upsample(_upsample(blurred, HAZE_BIN, 0), HAZE_BIN, 1)[: shape[0], : shape[1]]


def optical_image(sharp: np.ndarray, binned_haze: np.ndarray, channel: str) -> np.ndarray:
    """Photons per pixel reaching the camera from the specimen: PSF blur plus the wide haze."""
    image = ndimage.gaussian_filter(sharp, psf_sigma_px(channel), mode="constant", truncate=3.5)
    image += spread_haze(binned_haze, sharp.shape)
    return image


def camera_electrons(photons: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Photo-electrons plus read noise for mean ``photons`` per pixel (float32).

    Poisson shot noise (exact below POISSON_EXACT_BELOW photons, normal approximation above)
    and Gaussian read noise of READ_NOISE_E electrons.
    """
    photons = photons.astype(np.float32, copy=False)
    noise = rng.standard_normal(photons.shape, dtype=np.float32)
    electrons = photons + np.float32(READ_NOISE_E**2)
    np.sqrt(electrons, out=electrons)
    electrons *= noise
    electrons += photons
    dim = photons < POISSON_EXACT_BELOW
    if dim.any():
        electrons[dim] = rng.poisson(photons[dim]) + noise[dim] * np.float32(READ_NOISE_E)
    return electrons


def expose(specimen: np.ndarray, channel: str, rng: np.random.Generator) -> np.ndarray:
    """One camera exposure of ``specimen`` photons: bleaching, background, shot and read noise.

    The result is offset, rounded and clipped to unsigned 16 bits.
    """
    photons = specimen * np.float32(rng.uniform(*BLEACH_RANGE))
    photons += np.float32(BACKGROUND_PHOTONS[channel_kind(channel)])
    photons *= flat_field(specimen.shape)
    adu = camera_electrons(photons, rng)
    adu *= np.float32(CAMERA_GAIN_ADU_PER_E)
    adu += np.float32(CAMERA_OFFSET_ADU)
    np.rint(adu, out=adu)
    np.clip(adu, 0, np.iinfo(np.uint16).max, out=adu)
    return adu.astype(np.uint16)

"""Walking through the latent space: interpolation between latent points."""

from __future__ import annotations

import numpy as np


def interpolate(start, end, steps: int, spherical: bool = True) -> np.ndarray:
    """``steps`` latent points from ``start`` to ``end`` (both included), ``[steps, dim]``.

    Spherical interpolation (slerp; White 2016, "Sampling Generative Networks") follows the
    great circle between the two points. Gaussian latents of high dimension concentrate near a
    sphere of radius sqrt(dim); a straight line cuts through the inside, where the generator
    saw no training inputs, while slerp keeps the norm typical.
    """
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    if start.shape != end.shape or start.ndim != 1:
        raise ValueError(f"start and end must be vectors of one shape, got {start.shape} and {end.shape}")
    if steps < 2:
        raise ValueError(f"steps must be at least 2, got {steps}")
    weights = np.linspace(0.0, 1.0, steps)[:, None]
    cosine = np.dot(start, end) / (np.linalg.norm(start) * np.linalg.norm(end))
    angle = np.arccos(np.clip(cosine, -1.0, 1.0))
    if not spherical or angle < 1e-6:  # (nearly) parallel vectors: slerp tends to lerp
        points = (1.0 - weights) * start + weights * end
    else:
        points = (np.sin((1.0 - weights) * angle) * start + np.sin(weights * angle) * end) / np.sin(angle)
    return points.astype(np.float32)


def truncate(noise, threshold: float, seed: int = 0) -> np.ndarray:
    """The truncation trick (Brock et al. 2019, BigGAN): every value of the N(0, 1) ``noise``
    whose magnitude exceeds ``threshold`` is drawn again, until none does. The result is
    distributed as N(0, 1) cut to [-threshold, threshold]: the generator sees only the inputs
    it saw most often, which trades variety for typical-looking samples. Values already within
    the threshold are kept, so the same noise at a larger threshold changes less.
    """
    if not threshold > 0:
        raise ValueError(f"the truncation threshold must be positive, got {threshold}")
    noise = np.array(noise, dtype=np.float32)
    rng = np.random.default_rng([seed, 0x7472756E])  # salted: 'trun'
    outside = np.abs(noise) > threshold
    while outside.any():
        noise[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(noise) > threshold
    return noise

"""The loss-against-quality study on hand-made histories."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from gankit import study


def history(fd, **series):
    epochs = []
    for index, value in enumerate(fd):
        epoch = {"epoch": index + 1, "step": 10 * (index + 1), "frechet_distance_raw": value}
        epoch.update({name: values[index] for name, values in series.items()})
        epochs.append(epoch)
    return {"steps": {}, "epochs": epochs}


def test_a_loss_that_falls_with_the_fd_has_rank_correlation_one():
    h = history([90, 50, 40, 30, 28], generator_loss=[3.0, 2.0, 1.5, 1.4, 1.39], discriminator_loss=[0.1, 0.2, 0.3, 0.5, 0.6])
    assert study.rank_correlation(h, "generator_loss").spearman == pytest.approx(1.0)
    assert study.rank_correlation(h, "discriminator_loss").spearman == pytest.approx(-1.0)


def test_ranks_not_values():
    # Monotone but far from linear: Spearman is still exactly 1; a shuffled series is not.
    h = history([100, 10, 9, 8.5, 8.4], generator_loss=[1e6, 5, 4, 3, 2], discriminator_loss=[1, 3, 2, 5, 4])
    assert study.rank_correlation(h, "generator_loss").spearman == pytest.approx(1.0)
    # rank differences 4, 1, 1, -3, -3: 1 - 6 * 36 / (5 * 24) = -0.8
    assert study.rank_correlation(h, "discriminator_loss").spearman == pytest.approx(-0.8)


def test_wasserstein_estimate_is_minus_the_critic_loss():
    h = history([50, 40, 30], discriminator_loss=[-3.0, -2.0, -1.0])
    np.testing.assert_allclose(study.epoch_series(h, "wasserstein_estimate"), [3.0, 2.0, 1.0])
    row = study.rank_correlation(h, "wasserstein_estimate", model="wgan")
    assert (row.model, row.epochs, row.spearman) == ("wgan", 3, pytest.approx(1.0))
    assert "critic's W estimate" in study.format_correlations([row])


def test_first_epoch_leaves_out_the_early_epochs():
    # Falls with the FD over the first three epochs, then rises while the FD falls: the early
    # epochs make the whole run look well correlated (rank differences 0, 0, 0, -2, 0, 2:
    # 1 - 6 * 8 / (6 * 35) = 0.771), the late ones alone are exactly opposite.
    h = history([90, 60, 40, 35, 30, 25], generator_loss=[9, 8, 7, 1, 2, 3])
    assert study.rank_correlation(h, "generator_loss").spearman == pytest.approx(1 - 48 / 210)
    late = study.rank_correlation(h, "generator_loss", "dcgan", first_epoch=4)
    assert (late.epochs, late.first_epoch, late.spearman) == (3, 4, pytest.approx(-1.0))
    assert "4-6" in study.format_correlations([late])
    with pytest.raises(ValueError, match="from epoch 5 on"):
        study.rank_correlation(h, "generator_loss", first_epoch=5)


def test_second_half_starts_after_the_first_half_of_the_epochs():
    assert study.second_half_start(history(range(20, 0, -1))) == 11  # epochs 11-20
    assert study.second_half_start(history(range(19, 0, -1))) == 10  # epochs 10-19: the middle one counts
    assert study.second_half_start(history([5.0])) == 1
    with pytest.raises(ValueError, match="no finished epoch"):
        study.second_half_start({"steps": {}, "epochs": []})


def test_missing_series_and_too_few_epochs_are_clear_errors():
    h = history([50, 40, 30], generator_loss=[1, 2, 3])
    with pytest.raises(ValueError, match="'penalty' is missing"):
        study.epoch_series(h, "penalty")
    with pytest.raises(ValueError, match="at least 3 epochs"):
        study.rank_correlation(history([50, 40], generator_loss=[1, 2]), "generator_loss")
    with pytest.raises(ValueError, match="no finished epoch"):
        study.epoch_series({"steps": {}, "epochs": []}, "generator_loss")


def test_plot_has_one_panel_per_model_with_rho_in_the_legend():
    a = history([50, 40, 30], generator_loss=[3, 2, 1], discriminator_loss=[1, 2, 3])
    b = history([60, 45, 35], discriminator_loss=[-3.0, -2.0, -1.5])
    figure = study.plot_loss_against_quality([("dcgan", a, ["discriminator_loss", "generator_loss"]),
                                              ("wgan", b, ["wasserstein_estimate"])])
    axes = figure.axes
    assert [axis.get_title() for axis in axes] == ["dcgan", "wgan"]
    labels = [text.get_text() for text in axes[0].get_legend().get_texts()]
    assert labels == ["discriminator loss: ρ = -1.00", "generator loss: ρ = +1.00"]

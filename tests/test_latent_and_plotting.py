import numpy as np
import pytest
from PIL import Image

from gankit import latent, plotting
from gankit.models import dcgan
from gankit.models.dcgan import DCGANConfig
from gankit.summary import layer_table


def test_interpolation_ends_at_both_points_and_keeps_the_norm_on_the_sphere():
    rng = np.random.default_rng(0)
    start, end = rng.standard_normal(64), rng.standard_normal(64)
    path = latent.interpolate(start, end, steps=9)
    assert path.shape == (9, 64)
    np.testing.assert_allclose(path[0], start, rtol=1e-5)
    np.testing.assert_allclose(path[-1], end, rtol=1e-5)
    # Two unit vectors at 90 degrees: slerp stays on the unit circle, lerp dips to 1/sqrt(2).
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    np.testing.assert_allclose(np.linalg.norm(latent.interpolate(a, b, 5), axis=1), 1.0, rtol=1e-6)
    middle = latent.interpolate(a, b, 3, spherical=False)[1]
    assert np.linalg.norm(middle) == pytest.approx(np.sqrt(0.5))


def test_interpolation_rejects_bad_input():
    with pytest.raises(ValueError):
        latent.interpolate(np.zeros(3), np.zeros(4), 5)
    with pytest.raises(ValueError):
        latent.interpolate(np.ones(3), np.ones(3), 1)


def test_image_grid_places_each_image_in_its_cell():
    images = np.stack([np.full((28, 28), value, np.uint8) for value in (10, 20, 30, 40, 50)])
    grid = plotting.image_grid(images, columns=3, padding=2)
    assert grid.shape == (2 * 30 + 2, 3 * 30 + 2)
    assert grid[2, 2] == 10 and grid[2, 32] == 20 and grid[32, 32] == 50
    assert grid[32, 62] == 0  # the empty sixth cell
    assert grid[0, 0] == 0  # padding


def test_gif_has_every_frame_and_holds_the_last_one(tmp_path):
    frames = [np.full((10, 10), value, np.uint8) for value in (0, 100, 200)]
    path = plotting.make_gif(frames, tmp_path / "t.gif", seconds_per_frame=0.1, hold_last=2)
    durations = []
    with Image.open(path) as gif:
        assert gif.n_frames == 3 and gif.info["loop"] == 0
        for index in range(3):
            gif.seek(index)
            durations.append(gif.info["duration"])
            assert gif.convert("L").getpixel((5, 5)) == frames[index][5, 5]
    assert durations == [100, 100, 300]


def test_loss_plot_draws_each_loss():
    steps = list(range(1, 101))
    history = {
        "steps": {"step": steps, "generator_loss": [1.0] * 100, "discriminator_loss": [0.5] * 100, "real_score": [0.0] * 100},
        "epochs": [{"epoch": 1, "step": 50}, {"epoch": 2, "step": 100}],
    }
    figure = plotting.plot_losses(history, smooth=10)
    labels = [line.get_label() for line in figure.axes[0].get_lines()]
    assert "generator loss (10-step mean)" in labels and "discriminator loss (10-step mean)" in labels
    assert not any("real score" in label for label in labels)


def test_layer_table_lists_shapes_and_total():
    table = layer_table(dcgan.build_generator(DCGANConfig()))
    assert "(None, 7, 7, 128)" in table and "(None, 28, 28, 1)" in table
    assert table.splitlines()[-1].split()[-1] == "706,817"


def test_quality_plot_needs_and_draws_the_frechet_distance():
    history = {
        "steps": {"step": [1, 2]},
        "epochs": [
            {"epoch": 1, "step": 1, "generator_loss": 1.0, "discriminator_loss": 1.2, "frechet_distance": 80.0, "frechet_distance_raw": 60.0},
            {"epoch": 2, "step": 2, "generator_loss": 1.1, "discriminator_loss": 1.1, "frechet_distance": 40.0, "frechet_distance_raw": 45.0},
        ],
    }
    figure = plotting.plot_losses_and_quality(history)
    top, bottom = figure.axes
    assert [line.get_label() for line in bottom.get_lines()] == ["moving average of G", "raw G weights"]
    assert list(bottom.get_lines()[0].get_ydata()) == [80.0, 40.0]
    assert len(top.get_lines()) == 2
    with pytest.raises(ValueError, match="frechet_distance"):
        plotting.plot_losses_and_quality({"steps": {}, "epochs": [{"epoch": 1, "step": 1}]})


def test_quality_plot_can_show_the_critics_wasserstein_estimate():
    history = {
        "steps": {},
        "epochs": [
            {"epoch": 1, "step": 5, "generator_loss": 2.0, "discriminator_loss": -4.0, "frechet_distance": 80.0},
            {"epoch": 2, "step": 10, "generator_loss": 1.0, "discriminator_loss": -2.5, "frechet_distance": 40.0},
        ],
    }
    figure = plotting.plot_losses_and_quality(history, names=["wasserstein_estimate"], ylabel="W")
    top = figure.axes[0]
    assert [line.get_label() for line in top.get_lines()] == ["critic's W estimate (epoch mean)"]
    assert list(top.get_lines()[0].get_ydata()) == [4.0, 2.5]
    assert top.get_ylabel() == "W"


def test_show_epoch_grids_spreads_the_chosen_epochs(tmp_path):
    for epoch in range(1, 8):
        plotting.save_image(np.full((10, 10), epoch * 30, np.uint8), tmp_path / f"epoch_{epoch:03d}.png", scale=1)
    figure = plotting.show_epoch_grids(sorted(tmp_path.glob("epoch_*.png")), count=4)
    assert [axis.get_title() for axis in figure.axes] == ["after epoch 1", "after epoch 3", "after epoch 5", "after epoch 7"]
    with pytest.raises(ValueError, match="no grid"):
        plotting.show_epoch_grids([])


def test_time_to_quality_plots_fd_against_cumulative_minutes():
    from gankit.plotting import plot_time_to_quality, training_minutes

    history = {"epochs": [{"seconds": 60.0, "frechet_distance": 100.0}, {"seconds": 120.0, "frechet_distance": 40.0}]}
    assert training_minutes(history) == [1.0, 3.0]
    figure = plot_time_to_quality({"a": history})
    line = figure.axes[0].lines[0]
    assert list(line.get_xdata()) == [1.0, 3.0] and list(line.get_ydata()) == [100.0, 40.0]
    assert line.get_label() == "a (40.0 after 3 min)"
    with pytest.raises(ValueError, match="no frechet_distance"):
        plot_time_to_quality({"b": {"epochs": [{"seconds": 1.0}]}})


def test_runs_side_by_side_keep_their_own_loss_scale_and_share_the_quality_scale():
    def history(scale, distances):
        return {"epochs": [{"epoch": i + 1, "step": 10 * (i + 1), "discriminator_loss": -scale / (i + 1),
                            "frechet_distance": fd} for i, fd in enumerate(distances)]}

    figure = plotting.plot_runs_side_by_side({"clip": history(0.01, [300.0, 200.0]), "gp": history(10.0, [90.0, 60.0])},
                                             "wasserstein_estimate", ylabel="W")
    clip_top, gp_top, clip_bottom, gp_bottom = figure.axes  # row by row
    assert [clip_top.get_title(), gp_top.get_title()] == ["clip", "gp"]
    assert list(clip_top.get_lines()[0].get_ydata()) == [0.01, 0.005]
    assert list(gp_top.get_lines()[0].get_ydata()) == [10.0, 5.0]
    assert clip_top.get_ylim() != gp_top.get_ylim()  # each estimate on its own scale
    assert clip_bottom.get_ylim() == gp_bottom.get_ylim()  # the distances on one scale
    assert list(gp_bottom.get_lines()[0].get_ydata()) == [90.0, 60.0]
    assert clip_top.get_yscale() == "linear" and clip_bottom.get_yscale() == "log"
    logged = plotting.plot_runs_side_by_side({"clip": history(0.01, [300.0, 200.0])}, "wasserstein_estimate",
                                             ylabel="W", log_series=True)
    assert logged.axes[0].get_yscale() == "log"
    with pytest.raises(ValueError, match="frechet_distance"):
        plotting.plot_runs_side_by_side({"x": {"epochs": [{"epoch": 1, "step": 1, "discriminator_loss": 0.0}]}},
                                        "wasserstein_estimate", ylabel="W")

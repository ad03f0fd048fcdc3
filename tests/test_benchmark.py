"""The throughput benchmark: what it times and what it reports (no timing is asserted)."""

import numpy as np

from gankit import benchmark
from gankit.__main__ import main


def test_compare_with_bare_loop_reports_interleaved_rounds(tiny_config):
    result = benchmark.compare_with_bare_loop("dcgan", steps=4, rounds=3, warmup=2, config=tiny_config)
    assert len(result["kit"]) == len(result["bare"]) == len(result["ratios"]) == 3
    assert all(rate > 0 for rate in result["kit"] + result["bare"])
    np.testing.assert_allclose(result["ratios"], np.divide(result["kit"], result["bare"]))
    assert result["ratio"] == np.median(result["ratios"])


def test_images_per_second_times_fit_runs(tiny_config):
    best, rates = benchmark.images_per_second("wgan", steps=3, warmup=2, repeats=2,
                                              config=benchmark.get_architecture("wgan").make_config(
                                                  dict(latent_dim=8, filters=4, discriminator_filters=4, batch_size=16)))
    assert len(rates) == 2 and best == max(rates) > 0


def test_a_conditional_model_is_timed_on_labelled_batches():
    config = benchmark.get_architecture("acgan").make_config(dict(noise_dim=8, filters=4, discriminator_filters=4,
                                                                 batch_size=16))
    result = benchmark.compare_with_bare_loop("acgan", steps=2, rounds=2, warmup=1, config=config)
    assert len(result["ratios"]) == 2 and all(rate > 0 for rate in result["kit"] + result["bare"])


def test_the_command_prints_the_ratio(capsys):
    assert main(["benchmark", "dcgan", "--compare-bare", "--steps", "3", "--repeats", "1"]) == 0
    line = capsys.readouterr().out
    assert line.startswith("dcgan: fit() ") and "ratio " in line and "median of 1 interleaved rounds of 3 steps" in line


def test_the_command_measures_xla_and_other_settings(capsys):
    assert main(["benchmark", "dcgan", "--steps", "2", "--repeats", "1", "--jit", "--set", "batch_size=16"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("dcgan, XLA, batch_size=16: ") and "images/s" in out
    assert main(["benchmark", "dcgan", "--compare-bare", "--jit"]) == 2
    assert "--compare-bare" in capsys.readouterr().err


def test_xla_is_what_the_benchmark_compiles(tiny_config):
    from gankit import benchmark

    gan, per_step, _ = benchmark._setup("dcgan", 2, tiny_config, jit_compile=True)
    assert gan.jit_compile is True and per_step == tiny_config.batch_size

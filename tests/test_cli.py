"""The command line, in-process (fast) and once as a real subprocess on the committed model."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gankit import training
from gankit.checkpoints import read_config
from gankit.__main__ import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def model_dir(tmp_path, tiny_images, tiny_config):
    directory = tmp_path / "tiny"
    training.train("dcgan", directory, tiny_images, epochs=1, config=tiny_config, verbose=0)
    return directory


def test_sample_writes_a_png_grid(model_dir, tmp_path):
    out = tmp_path / "samples.png"
    assert main(["sample", str(model_dir), "--n", "16", "--seed", "3", "--out", str(out)]) == 0
    with Image.open(out) as picture:
        assert picture.size == (2 * (4 * 30 + 2),) * 2  # 4x4 cells of 28+2 pixels, doubled


def test_sample_writes_raw_images_as_npz(model_dir, tmp_path):
    out = tmp_path / "samples.npz"
    assert main(["sample", str(model_dir), "--n", "5", "--out", str(out)]) == 0
    with np.load(out) as archive:
        assert archive["images"].shape == (5, 28, 28) and archive["images"].dtype == np.uint8


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["sample", "pixelgan", "--out", "x.png"], "unknown model 'pixelgan'"),
        (["sample", "{tmp}", "--out", "x.png"], "config.json"),
        (["sample", "{model}", "--out", "x.jpg"], "must end in .png or .npz"),
    ],
)
def test_sample_errors_are_one_clear_line(arguments, message, model_dir, tmp_path, capsys):
    arguments = [a.format(tmp=tmp_path / "empty", model=model_dir) for a in arguments]
    (tmp_path / "empty").mkdir()
    assert main(arguments) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and message in error


def test_train_command_trains_into_a_directory(tmp_path, tiny_images):
    data_file = tmp_path / "mnist.npz"
    np.savez(data_file, x_train=tiny_images, y_train=np.zeros(64, np.uint8))
    out = tmp_path / "run"
    code = main(["train", "dcgan", "--epochs", "1", "--out", str(out), "--data", str(data_file), "--batch-size", "32", "--tensorboard"])
    assert code == 0
    assert (out / "ckpt-1.index").is_file() and (out / "grids" / "epoch_001.png").is_file()
    assert list((out / "logs").rglob("events.out.tfevents.*"))  # TensorBoard logs were asked for


def test_train_command_sets_config_fields(tmp_path, tiny_images):
    data_file = tmp_path / "mnist.npz"
    np.savez(data_file, x_train=tiny_images, y_train=np.zeros(64, np.uint8))
    out = tmp_path / "clip"
    code = main(["train", "wgan", "--epochs", "1", "--out", str(out), "--data", str(data_file), "--fd-every", "0",
                 "--set", "variant=clip", "--set", "critic_steps=2", "--set", "filters=4", "--batch-size", "16"])
    assert code == 0
    name, config = read_config(out)
    assert name == "wgan" and (config.variant, config.critic_steps, config.filters, config.batch_size) == ("clip", 2, 4, 16)


@pytest.mark.parametrize("setting, message", [("variant", "FIELD=VALUE"), ("colour=red", "unknown wgan config field")])
def test_train_command_rejects_bad_settings(tmp_path, setting, message, capsys):
    assert main(["train", "wgan", "--epochs", "1", "--out", str(tmp_path / "x"), "--set", setting]) == 2
    assert message in capsys.readouterr().err


def test_committed_model_samples_from_a_fresh_process_without_data(tmp_path):
    if not (ROOT / "saved_models" / "dcgan" / "config.json").is_file():
        pytest.skip("no committed DCGAN checkpoint")
    # No data set, and no TF_CPP_MIN_LOG_LEVEL of the user's: the command must still be quiet.
    environment = {k: v for k, v in os.environ.items() if k not in ("GANKIT_MNIST", "TF_CPP_MIN_LOG_LEVEL")}
    out = tmp_path / "dcgan.npz"
    result = subprocess.run(
        [sys.executable, "-m", "gankit", "sample", "dcgan", "--n", "8", "--seed", "0", "--out", str(out)],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no TensorFlow C++ log lines
    assert result.stdout == f"8 dcgan samples (epoch 80) -> {out}\n"
    with np.load(out) as archive:
        images = archive["images"]
    assert images.shape == (8, 28, 28)
    # Digits: mostly dark background with some bright strokes.
    assert 0.05 < (images > 128).mean() < 0.35


@pytest.mark.skipif(not (ROOT / "saved_models" / "classifier" / "ckpt.index").is_file(), reason="no committed classifier")
def test_evaluate_prints_a_table_row_per_model(model_dir, capsys):
    assert main(["evaluate", "noise", str(model_dir), "--n", "300", "--seeds", "2", "--markdown"]) == 0
    printed = capsys.readouterr()
    lines = printed.out.strip().splitlines()  # the table alone: the progress goes to stderr
    assert len(lines) == 4
    assert lines[0].startswith("| model | samples × seeds | FD | CS |")
    assert lines[2].startswith("| noise (uniform pixels) | 300 × 2 |")
    assert lines[3].startswith(f"| {model_dir} | 300 × 2 |")
    assert "noise (uniform pixels): drawing and scoring 2 seeds" in printed.err
    assert "4/4" in printed.err and f"scored {model_dir}: 300 samples x 2 seeds" in printed.err


def test_truncation_is_refused_for_a_model_without_it(model_dir, tmp_path, capsys):
    assert main(["sample", str(model_dir), "--psi", "0.7", "--out", str(tmp_path / "x.png")]) == 2
    assert "no truncation trick" in capsys.readouterr().err


def test_verbose_leaves_tensorflow_logging_to_the_user(monkeypatch):
    from gankit.__main__ import quiet_tensorflow

    monkeypatch.delitem(sys.modules, "tensorflow")  # as before the first import
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    quiet_tensorflow(verbose=True)
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "1")  # the user's own level is kept
    quiet_tensorflow()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "1"


def test_the_command_line_is_quiet_for_a_user_who_set_the_quiet_level(tmp_path):
    # A user who set TF_CPP_MIN_LOG_LEVEL=3 asked for quiet: absl's start-up lines, which
    # TensorFlow writes before it reads the variable, must not reach the terminal either.
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-m", "gankit", "sample", str(tmp_path / "none"), "--out",
                             str(tmp_path / "x.png")], cwd=ROOT, env=environment, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error: "), result.stderr

"""The command line: ``python -m gankit train|sample ...``.

    python -m gankit train dcgan --epochs 25 --out saved_models/dcgan
    python -m gankit train wgan --epochs 10 --out runs/wgan_clip --set variant=clip
    python -m gankit sample dcgan --n 64 --seed 0 --out img/dcgan_samples.png
    python -m gankit sample dcgan --n 1000 --out samples.npz     # raw uint8 images
    python -m gankit sample stylegan --psi 0.7 --out img/stylegan_truncated.png
    python -m gankit sample cgan --label 3 --n 100 --out threes.npz  # a conditional model's digit
    python -m gankit benchmark dcgan                               # training images/s
    python -m gankit progress dcgan wgan --out img/time_to_quality.png   # FD against minutes
    python -m gankit truncation dcgan --out img/dcgan_truncation.png   # quality against T

TensorFlow's C++ log lines (CUDA, oneDNN, CPU features) are kept off the terminal unless
``--verbose`` is given or the user's ``TF_CPP_MIN_LOG_LEVEL`` is below 3.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path


def quiet_tensorflow(verbose: bool = False) -> None:
    """Import TensorFlow without its C++ start-up log lines, unless asked for them.

    ``TF_CPP_MIN_LOG_LEVEL=3`` silences most of them, but some are written before TensorFlow
    reads that variable (absl's "log messages before InitializeLog", the CUDA probe), so the
    process's stderr is also pointed at a temporary file while TensorFlow loads and looks for
    devices. Whatever it caught is replayed if the import fails.

    A level the user set is kept: 0, 1 or 2 (errors at least wanted) turns the redirect off, like
    ``--verbose``; 3 asks for quiet, and gets the redirect too.
    """
    if verbose or "tensorflow" in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3").strip() != "3":
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # the device probe logs too
        except BaseException:
            os.dup2(saved, 2)
            caught.seek(0)
            sys.stderr.write(caught.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    quiet_tensorflow(verbose="--verbose" in argv)
    from gankit.models import ARCHITECTURES

    parser = argparse.ArgumentParser(prog="python -m gankit", description=__doc__.splitlines()[0])
    # Every command takes --verbose (TensorFlow's C++ log lines on stderr).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", action="store_true", help="show TensorFlow's C++ log lines")
    commands = parser.add_subparsers(dest="command", required=True)
    add_command = lambda name, **kwargs: commands.add_parser(name, parents=[common], **kwargs)  # noqa: E731

    train = add_command("train", help="train an architecture (resumes an existing run)")
    train.add_argument("architecture", choices=sorted(ARCHITECTURES))
    train.add_argument("--epochs", type=int, required=True, help="total epochs to reach")
    train.add_argument("--out", required=True, help="model directory (checkpoints, history, grids)")
    train.add_argument("--data", default=None, help="MNIST .npz (default: $GANKIT_MNIST, else download)")
    train.add_argument("--limit", type=int, default=None, help="train on the first N images only")
    train.add_argument("--batch-size", type=int, default=None)
    train.add_argument("--seed", type=int, default=None)
    train.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                       help="override a config field, e.g. --set variant=clip (repeatable)")
    train.add_argument("--tensorboard", action="store_true", help="also write TensorBoard logs")
    train.add_argument("--fd-every", type=int, default=1,
                       help="Fréchet distance of 2,000 samples every N epochs, into the history (0: off)")
    train.add_argument("--continue-from", metavar="DIR",
                       help="start a new run (--out) from DIR's last checkpoint and history; --set may "
                            "change how it trains (rates, batch size, EMA decay), not the networks")
    train.add_argument("--distribute", choices=("mirrored", "multiworker"), default=None,
                       help="train under a tf.distribute strategy: mirrored (all local GPUs, or --replicas "
                            "logical CPU devices) or multiworker (the cluster in TF_CONFIG)")
    train.add_argument("--replicas", type=int, default=None,
                       help="mirrored: the number of GPUs to use, or of logical CPU devices without GPUs")

    sample = add_command("sample", help="draw digits from a trained model")
    sample.add_argument("model", help="a model name in saved_models/ (e.g. dcgan) or a directory")
    sample.add_argument("--n", type=int, default=64, help="number of digits")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--out", required=True, help=".png for a grid, .npz for raw uint8 images")
    sample.add_argument("--architecture", default=None, help="fail unless the checkpoint is of this one")
    sample.add_argument("--no-ema", action="store_true", help="use the raw generator weights")
    sample.add_argument("--psi", type=float, default=None, help="truncation psi (StyleGAN only; 1: off)")
    sample.add_argument("--truncation", type=float, default=None, metavar="T",
                        help="draw z again wherever |z| > T (the truncation trick; every model fed N(0, I) noise)")
    sample.add_argument("--label", type=int, default=None,
                        help="the digit (0-9) to draw, for a conditional model (cgan, cgan_maxout, acgan)")

    classify = add_command("classifier", help="train the MNIST classifier behind the metrics")
    classify.add_argument("--epochs", type=int, default=4)
    classify.add_argument("--out", default="saved_models/classifier")
    classify.add_argument("--data", default=None, help="MNIST .npz (default: $GANKIT_MNIST, else download)")

    evaluate = add_command("evaluate", help="score a model (or 'real', 'noise') by the metrics")
    evaluate.add_argument("models", nargs="+", help="model names or directories; 'real', 'real-by-label' (for conditional "
                          "models) and 'noise' for the reference rows")
    evaluate.add_argument("--n", type=int, default=10_000, help="samples per seed")
    evaluate.add_argument("--seeds", type=int, default=3, help="how many sampling seeds")
    evaluate.add_argument("--data", default=None, help="MNIST .npz, for the 'real' row")
    evaluate.add_argument("--markdown", action="store_true", help="print a Markdown table")
    evaluate.add_argument("--no-ema", action="store_true", help="score the raw generator weights, not their moving average")
    evaluate.add_argument("--psi", type=float, default=None, help="truncation psi (StyleGAN only; 1: off)")
    evaluate.add_argument("--truncation", type=float, default=None, metavar="T",
                          help="sample with z drawn again wherever |z| > T")

    truncation = add_command("truncation", help="quality against the truncation threshold T: a table and a figure")
    truncation.add_argument("model", help="a model name in saved_models/ or a model directory")
    truncation.add_argument("--thresholds", type=float, nargs="+", default=[0.5, 1.0, 1.5, 2.0, 3.0], metavar="T",
                            help="thresholds to score, besides no truncation")
    truncation.add_argument("--n", type=int, default=10_000, help="samples per seed")
    truncation.add_argument("--seeds", type=int, default=3, help="how many sampling seeds")
    truncation.add_argument("--out", required=True, help="the figure (.png)")

    progress = add_command("progress", help="plot Fréchet distance against training minutes (from history.json)")
    progress.add_argument("models", nargs="+", help="model names in saved_models/ or model directories")
    progress.add_argument("--out", required=True, help="the figure (.png)")

    bench = add_command("benchmark", help="measure training images per second")
    bench.add_argument("architecture", choices=sorted(ARCHITECTURES))
    bench.add_argument("--steps", type=int, default=100, help="steps per timed run")
    bench.add_argument("--repeats", type=int, default=3, help="timed runs (rounds, with --compare-bare)")
    bench.add_argument("--jit", action="store_true", help="compile the train step with XLA (jit_compile)")
    bench.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                       help="override a config field, e.g. --set batch_size=128 (repeatable)")
    bench.add_argument("--compare-bare", action="store_true",
                       help="also time a bare tf.function loop, interleaved, and print the kit's ratio to it")
    bench.add_argument("--replicas", type=int, default=None,
                       help="time fit() on one device, mirrored on 1 and mirrored on N devices (GPUs, or "
                            "logical CPU devices), taking turns")

    args = parser.parse_args(argv)
    try:
        return {
            "train": _train,
            "sample": _sample,
            "benchmark": _benchmark,
            "classifier": _classifier,
            "evaluate": _evaluate,
            "truncation": _truncation,
            "progress": _progress,
        }[args.command](args)
    except (ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _train(args) -> int:
    from gankit.data import load_mnist
    from gankit.models import get_architecture
    from gankit.training import train

    strategy = None
    if args.distribute:  # first: logical CPU devices exist only if made before TensorFlow starts
        from gankit.replicas import make_strategy

        strategy = make_strategy(args.distribute, args.replicas)
    elif args.replicas is not None:
        raise ValueError("--replicas needs --distribute mirrored")
    spec = get_architecture(args.architecture)
    overrides = {k: v for k, v in (("batch_size", args.batch_size), ("seed", args.seed)) if v is not None}
    overrides.update(_parse_settings(args.set))
    base = None
    if args.continue_from:  # the settings apply to the run continued from
        from gankit.checkpoints import read_config

        base = read_config(args.continue_from)[1]
    config = _config_with(spec, overrides, base)
    images, labels = load_mnist("train", args.data)
    if args.limit:
        images, labels = images[: args.limit], labels[: args.limit]
    evaluator = None
    if args.fd_every > 0:
        from gankit.evaluation import Evaluator

        evaluator = Evaluator()
    started = time.perf_counter()
    train(
        args.architecture, args.out, images, args.epochs, config=config, tensorboard=args.tensorboard,
        evaluator=evaluator, evaluate_every=max(args.fd_every, 1), continue_from=args.continue_from,
        labels=labels, strategy=strategy,
    )
    print(f"trained in {time.perf_counter() - started:.0f} s; model in {args.out}")
    return 0


def _config_with(spec, settings: dict, base=None):
    """``base`` (default: the architecture's defaults) with ``settings`` applied; None when there
    are no settings (the trainer then takes the stored or the default config)."""
    if not settings:
        return None
    return spec.make_config({**dataclasses.asdict(base or spec.make_config()), **settings})


def _parse_settings(settings) -> dict:
    """``["variant=clip", "critic_steps=5"]`` -> ``{"variant": "clip", "critic_steps": 5}``
    (values read as JSON where they parse, else kept as strings)."""
    import json

    values = {}
    for setting in settings:
        field, sep, text = setting.partition("=")
        if not sep or not field:
            raise ValueError(f"--set expects FIELD=VALUE, got {setting!r}")
        try:
            values[field] = json.loads(text)
        except json.JSONDecodeError:
            values[field] = text
    return values


def _sample(args) -> int:
    import numpy as np

    from gankit.checkpoints import load_generator
    from gankit.plotting import image_grid, save_image

    out = Path(args.out)
    if out.suffix not in (".png", ".npz"):
        raise ValueError(f"--out must end in .png or .npz, got {out}")
    generator = load_generator(args.model, architecture=args.architecture, use_ema=not args.no_ema,
                               truncation_psi=args.psi)
    images = generator.sample(args.n, args.seed, label=args.label, truncation=args.truncation)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".npz":
        np.savez_compressed(out, images=images)
    else:
        save_image(image_grid(images), out)
    drawn = "" if args.label is None else f" of the digit {args.label}"
    print(f"{args.n} {generator.architecture} samples{drawn} (epoch {generator.epochs}) -> {out}")
    return 0


def _classifier(args) -> int:
    from gankit.data import load_mnist
    from gankit.evaluation import train_classifier

    train_images, train_labels = load_mnist("train", args.data)
    test_images, test_labels = load_mnist("test", args.data)
    summary = train_classifier(args.out, train_images, train_labels, test_images, test_labels, epochs=args.epochs)
    print(f"test accuracy {summary['test_accuracy']:.2%} after {args.epochs} epochs ({summary['seconds']:.0f} s); saved in {args.out}")
    return 0


def _evaluate(args) -> int:
    from gankit.evaluation import Evaluator, format_label_table, format_table

    evaluator = Evaluator(progress=True)
    seeds = tuple(range(args.seeds))
    rows = []
    for name in args.models:
        with contextlib.redirect_stdout(sys.stderr):  # the progress bar; stdout keeps the table alone
            started = time.perf_counter()
            rows.append(_score_row(name, args, evaluator, seeds))
            print(f"scored {name}: {args.n:,} samples x {len(seeds)} seeds in {time.perf_counter() - started:.1f} s")
    print(format_table(rows, markdown=args.markdown))
    per_label = format_label_table(rows, markdown=args.markdown)
    if per_label:
        print("\n" + per_label)
    return 0


def _score_row(name, args, evaluator, seeds):
    """The results-table row of one name given to ``evaluate``."""
    from gankit.checkpoints import load_generator
    from gankit.data import load_mnist
    from gankit.evaluation import evaluate_generator, evaluate_noise, evaluate_real, evaluate_real_by_label

    if name == "real":
        return evaluate_real(load_mnist("train", args.data)[0], evaluator, args.n, seeds)
    if name == "real-by-label":
        return evaluate_real_by_label(*load_mnist("train", args.data), evaluator, args.n, seeds)
    if name == "noise":
        return evaluate_noise(evaluator, args.n, seeds)
    label = (str(name) + (" (raw weights)" if args.no_ema else "")
             + (f" psi={args.psi:g}" if args.psi is not None else "")
             + (f" truncation={args.truncation:g}" if args.truncation is not None else ""))
    generator = load_generator(name, use_ema=not args.no_ema, truncation_psi=args.psi)
    return evaluate_generator(generator, evaluator, args.n, seeds, name=label, truncation=args.truncation)


def _truncation(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from gankit.checkpoints import load_generator
    from gankit.evaluation import format_table, truncation_sweep
    from gankit.plotting import plot_truncation

    out = Path(args.out)
    if out.suffix != ".png":
        raise ValueError(f"--out must end in .png, got {out}")
    generator = load_generator(args.model)
    thresholds = sorted(set(args.thresholds)) + [None]
    results = truncation_sweep(generator, thresholds, count=args.n, seeds=tuple(range(args.seeds)))
    print(format_table(list(results.values())))
    figure = plot_truncation(results, title=f"{generator.architecture}: quality against the truncation of z "
                                            f"({args.n:,} samples x {args.seeds} seeds)")
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=100)
    print(f"-> {out}")
    return 0


def _progress(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from gankit.callbacks import HISTORY_FILE, load_history
    from gankit.checkpoints import resolve_model_directory
    from gankit.plotting import plot_time_to_quality

    histories = {str(name): load_history(resolve_model_directory(name) / HISTORY_FILE) for name in args.models}
    figure = plot_time_to_quality(histories, title="Time to quality: each committed model's training run")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, dpi=100)
    for name, history in histories.items():
        last = history["epochs"][-1]
        print(f"{name}: FD {last.get('frechet_distance', float('nan')):.2f} after "
              f"{sum(e['seconds'] for e in history['epochs']) / 60:.0f} min ({len(history['epochs'])} epochs)")
    print(f"-> {args.out}")
    return 0


def _benchmark(args) -> int:
    import numpy as np

    from gankit import benchmark

    cores = f"{os.cpu_count()} CPU cores"
    if args.compare_bare and (args.jit or args.set):
        raise ValueError("--jit and --set apply to the plain benchmark, not to --compare-bare")
    if args.replicas is not None:
        if args.compare_bare or args.jit:
            raise ValueError("--replicas times fit() alone: not with --compare-bare or --jit")
        from gankit.models import get_architecture

        config = _config_with(get_architecture(args.architecture), _parse_settings(args.set))
        rates = benchmark.replica_throughput(args.architecture, args.replicas, steps=args.steps,
                                             repeats=args.repeats, config=config)
        for name, runs in rates.items():
            print(f"{args.architecture}, {name}: {np.median(runs):.0f} images/s (median of {args.repeats} rounds "
                  f"of {args.steps} steps: {', '.join(f'{rate:.0f}' for rate in runs)}; {cores})")
        return 0
    if args.compare_bare:
        result = benchmark.compare_with_bare_loop(args.architecture, steps=args.steps, rounds=args.repeats)
        listing = lambda rates: ", ".join(f"{rate:.0f}" for rate in rates)  # noqa: E731
        print(f"{args.architecture}: fit() {np.median(result['kit']):.0f} images/s, bare tf.function loop "
              f"{np.median(result['bare']):.0f} images/s; ratio {result['ratio']:.3f} (median of {args.repeats} "
              f"interleaved rounds of {args.steps} steps: {', '.join(f'{r:.3f}' for r in result['ratios'])}; "
              f"fit {listing(result['kit'])}; bare {listing(result['bare'])}; {cores})")
        return 0
    from gankit.models import get_architecture

    spec = get_architecture(args.architecture)
    config = _config_with(spec, _parse_settings(args.set))
    best, rates = benchmark.images_per_second(args.architecture, steps=args.steps, repeats=args.repeats,
                                              config=config, jit_compile=args.jit)
    runs = ", ".join(f"{rate:.0f}" for rate in rates)
    variant = "".join([", XLA" if args.jit else ""] + [f", {setting}" for setting in args.set])
    print(f"{args.architecture}{variant}: {best:.0f} images/s (best of {args.repeats} runs of {args.steps} steps: "
          f"{runs}; {cores})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

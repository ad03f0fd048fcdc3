"""How well InfoGAN's categorical code finds the digits, for one or more model directories.

    python tools/infogan_codes.py saved_models/infogan runs/infogan_paper ...

For each: the epochs trained, the share of generated digits (1,000 per code value, labelled by
the evaluation classifier) and of the 10,000 real MNIST test digits (read by Q, against the true
labels) that agree with a one-to-one matching of code values to digits. Needs MNIST's test set
($GANKIT_MNIST).
"""

from __future__ import annotations

import argparse

from gankit import analysis, checkpoints, data
from gankit.evaluation import Evaluator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directories", nargs="+")
    parser.add_argument("--no-ema", action="store_true",
                        help="generate with the raw weights (early in training the average lags far behind)")
    args = parser.parse_args()
    evaluator = Evaluator()
    test_images, test_labels = data.load_mnist("test")
    for directory in args.directories:
        model = checkpoints.load_generator(directory, architecture="infogan", use_ema=not args.no_ema)
        _, generated = analysis.generated_code_accuracy(model, evaluator)
        digit_of_code, real = analysis.real_code_accuracy(analysis.load_q(directory), model.config,
                                                         test_images, test_labels)
        print(f"{directory}: epoch {model.epochs}, generated {generated:.1%}, real test digits {real:.1%}, "
              f"code -> digit {digit_of_code.tolist()}")


if __name__ == "__main__":
    main()

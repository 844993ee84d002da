"""Which two trained runs make the best mirror-member pair: every ordered pair scored on one split.

Usage: python benchmarks/mirror_pairs.py DATA RUN RUN [RUN ...] [--split val] [--ferplus-mode seven] [--top 10] [--sets K]

A mirror-member file (``edgefer quantize A --with B --mirror-members``) averages network A on the
face and network B on its mirror image, at the cost of one flip-averaged network. Each run's
Keras model predicts the faces and their mirror images once; every ordered pair (A, B) is then
scored from those predictions, beside each run's own flip average; with ``--sets K`` also every
set of two to K runs, each flip-averaged (what a teacher set, or an ensemble beyond the latency
budget, would score). Choices belong on validation
(FER2013 PublicTest, FER+ Valid), so ``val`` is the default split.
"""

import itertools
import os

from ensemble import accuracy, scoring_parser

from edgefer.data.datasets import load_dataset
from edgefer.training.model import load_model, predict
from edgefer.training.runs import resolve_run


def main():
    parser = scoring_parser(__doc__.splitlines()[0], "runs")
    parser.add_argument("--top", type=int, default=10, help="How many of the best pairs (and sets) to print.")
    parser.add_argument("--sets", type=int, default=0, help="Also score every set of 2 to K runs, each flip-averaged.")
    args = parser.parse_args()
    part = load_dataset(args.data, (args.split,), args.ferplus_mode).split(args.split)
    names = [os.path.basename(os.path.normpath(run)) for run in args.runs]
    on_face, on_mirror = {}, {}
    for name, run in zip(names, args.runs):
        model = load_model(resolve_run(run)[0])
        on_face[name] = predict(model, part.images)
        on_mirror[name] = predict(model, part.images, mirrored=True)

    flip_average = {name: on_face[name] + on_mirror[name] for name in names}

    def score(probs):
        return accuracy(probs, part.labels)

    print(f"{args.data} {args.split}, n = {len(part)}")
    for name in names:
        print(f"{name}: face {score(on_face[name]):.4f}, flip average {score(flip_average[name]):.4f}")
    pairs = sorted(((score(on_face[a] + on_mirror[b]), a, b) for a, b in itertools.permutations(names, 2)),
                   reverse=True)
    print(f"best {min(args.top, len(pairs))} of {len(pairs)} ordered pairs (first on the face, second on the mirror image):")
    for pair_accuracy, a, b in pairs[:args.top]:
        print(f"  {a} + {b}: {pair_accuracy:.4f}")
    if args.sets >= 2:
        sets = sorted(((score(sum(flip_average[n] for n in chosen)), chosen)
                       for size in range(2, args.sets + 1) for chosen in itertools.combinations(names, size)),
                      reverse=True)
        print(f"best {min(args.top, len(sets))} of {len(sets)} sets of 2 to {args.sets} runs, each flip-averaged:")
        for set_accuracy, chosen in sets[:args.top]:
            print(f"  {' + '.join(chosen)}: {set_accuracy:.4f}")


if __name__ == "__main__":
    main()

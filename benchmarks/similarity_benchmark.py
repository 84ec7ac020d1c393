"""How well the similarity report finds copies, and how fast, on a labelled class.

    python benchmarks/similarity_benchmark.py [--n 1000] [--threshold 0.5]

builds the labelled corpus of ``benchmarks/similarity_corpus.py`` (ten correct
solutions written independently of each other, and disguised copies of them: renamed
names, reordered functions, changed comments and docstrings, ``tf.keras`` for ``keras``,
dead code, converted to a notebook, one to four disguises at once), compares every pair
as ``grader similarity`` does, and prints:

- precision and recall at the threshold over every pair (a pair is a true copy when both
  submissions come from the same original), and recall per disguise;
- the highest score of two independently written solutions, and whether any pair of them
  is flagged (none may be);
- the time to compare a class of ``--n`` submissions (the target: 1,000 in under a
  minute), and to write its report.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from similarity_corpus import make_corpus, true_pairs  # noqa: E402

from grader.paths import package_templates  # noqa: E402
from grader.similarity import DEFAULT_THRESHOLD, compare_class, given_code, write_report  # noqa: E402
from grader.submissions import discover  # noqa: E402

ASSIGNMENT = ROOT / "assignments" / "regularization"


def scored(folder: Path, threshold: float):
    found = discover(folder, "regularization")
    given = given_code(ASSIGNMENT, ASSIGNMENT / "regularization.py")
    return found, compare_class(found.submissions, given, threshold=threshold)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="class size for the timing")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="similarity-") as tmp:
        folder = Path(tmp) / "class"
        labels = make_corpus(folder)
        truth = true_pairs(labels)
        by_name = {label["name"]: label for label in labels}
        found, report = scored(folder, args.threshold)
        flagged = {frozenset((p.a, p.b)) for p in report.pairs}
        hits = flagged & truth
        precision = len(hits) / len(flagged) if flagged else 1.0
        recall = len(hits) / len(truth) if truth else 1.0
        print(
            f"corpus: {len(labels)} submissions, {len(truth)} copy pairs among "
            f"{len(labels) * (len(labels) - 1) // 2}; {len(report.not_compared)} not compared"
        )
        print(
            f"threshold {args.threshold:g}: precision {precision:.3f} "
            f"({len(hits)}/{len(flagged)}), recall {recall:.3f} ({len(hits)}/{len(truth)})"
        )
        per: dict[str, list[bool]] = defaultdict(list)
        for pair in truth:
            for name in pair:
                for kind in by_name[name]["disguises"]:
                    per[kind].append(pair in flagged)
        for kind, found_ in sorted(per.items()):
            print(
                f"  recall, pairs with a copy disguised by {kind}: {sum(found_) / len(found_):.3f}"
            )
        missed = sorted(tuple(sorted(p)) for p in truth - flagged)
        for a, b in missed[:10]:
            print(
                f"  missed: {a} ({'+'.join(by_name[a]['disguises']) or 'original'}) ~ "
                f"{b} ({'+'.join(by_name[b]['disguises']) or 'original'})"
            )
        wrong = sorted(tuple(sorted(p)) for p in flagged - truth)
        for a, b in wrong[:10]:
            print(f"  flagged, not a copy: {a} ~ {b}")

        # The originals alone: independently written, none may be flagged.
        originals = [label for label in labels if not label["disguises"]]
        _, everything = scored(folder, 0.0)
        independent = [
            p
            for p in everything.pairs
            if not by_name[p.a]["disguises"]
            and not by_name[p.b]["disguises"]
            and by_name[p.a]["origin"] != by_name[p.b]["origin"]
        ]
        top = max((p.score for p in independent), default=0.0)
        flagged_independent = [p for p in independent if p.score >= args.threshold]
        print(
            f"independent solutions ({len(originals)}): highest score {top:.3f}; "
            f"flagged at the threshold: {len(flagged_independent)} -> "
            f"{'met' if not flagged_independent else 'NOT met'}"
        )

        big = Path(tmp) / "big"
        big_labels = make_corpus(big, seed=1, n=args.n)
        started = time.monotonic()
        found_big, report_big = scored(big, args.threshold)
        compared = time.monotonic() - started
        big_truth = true_pairs(big_labels)
        big_flagged = {frozenset((p.a, p.b)) for p in report_big.pairs}
        big_hits = big_flagged & big_truth
        per_original = len(big_labels) // len({b["origin"] for b in big_labels})
        print(
            f"class of {len(big_labels)} ({per_original} per original): precision "
            f"{len(big_hits) / max(len(big_flagged), 1):.4f} "
            f"({len(big_hits)}/{len(big_flagged)}), recall "
            f"{len(big_hits) / max(len(big_truth), 1):.4f} ({len(big_hits)}/{len(big_truth)})"
        )
        started = time.monotonic()
        write_report(report_big, Path(tmp) / "out", package_templates(), "benchmark")
        written = time.monotonic() - started
        print(
            f"target {args.n} submissions compared in under a minute: measured "
            f"{compared:.1f} s -> {'met' if compared < 60 else 'NOT met'} "
            f"({len(report_big.pairs)} pairs flagged; report written in {written:.1f} s)"
        )
        del found, found_big


if __name__ == "__main__":
    main()

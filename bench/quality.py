"""Identity transfer against wall-clock time, per pair and recipe: how soon does a swap look like B?

For each pair of ../shared/data clips (prepared with --every 1, cached in WORK/data/), each recipe trains
with `faceswap-gan train` for --minutes of wall-clock time (from scratch, or from the recipe's
prior, as `--recipe fast` does: the prior's own pretraining time is not counted), the only work on
the machine; its held-out identity transfer both ways (training/held_out.py: the held-out faces
converted as `convert` would, written to losses.csv at every display interval) is stamped with the
time it appeared. Prints, per run, the curve and the time to identity transfer 0.8 and 0.9 in both
directions; then what `faceswap-gan evaluate` makes of the final model
on each person's clip: identity transfer (dlib and the HOG second opinion), expression error and stability.

Recipes are names of `train --recipe` (original, fast) or YAML files of `train --config` (model:,
train:, losses: sections).
Pick recipes on some pairs and report on others (the README's rule): the pairs the issue reports on
are d6:d18, d3:d9 and d10:d19.

    .venv/bin/python bench/quality.py --pairs d14:d20 --recipes original,fast --minutes 12 --work /tmp/q
"""

from __future__ import annotations

import argparse
import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from faceswap_gan.benchmark import cpu_line
from faceswap_gan.training.run_folder import RECIPES

CLIPS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "clips"
CLI = [sys.executable, "-m", "faceswap_gan"]
LEVELS = (0.5, 0.8, 0.9)


def prepare(pair: str, work: Path) -> Path:
    a, b = pair.split(":")
    data = work / "data" / f"{a}_{b}"
    if not (data / "face_dst").is_dir():
        subprocess.run([*CLI, "prepare", str(CLIPS / f"{a}.mp4"), str(CLIPS / f"{b}.mp4"), "--out", str(data),
                        "--every", "1", "--quiet"], check=True)  # fmt: skip
    return data


def recipe_args(name: str) -> list[str]:
    """`train`'s options for a recipe: a name of `train --recipe`, or a YAML file of `--config` sections."""
    if Path(name).is_file():
        return ["--config", name]
    if name not in RECIPES:
        raise SystemExit(f"unknown recipe {name!r}: give one of {', '.join(RECIPES)} or a YAML file")
    return ["--recipe", name]


def run(data: Path, recipe: list[str], out: Path, minutes: float, display_every: int) -> list[dict]:
    """Train for ``minutes``; the rows of losses.csv, each with the seconds after start it appeared."""
    args = [*CLI, "train", "--data", str(data), "--out", str(out), *recipe,
            "--display-every", str(display_every), "--quiet"]  # fmt: skip
    began = time.monotonic()
    process = subprocess.Popen(args)
    rows: list[dict] = []
    csv_path = out / "losses.csv"
    while process.poll() is None:
        time.sleep(1.0)
        elapsed = time.monotonic() - began
        if csv_path.exists():
            with open(csv_path, newline="") as f:
                found = list(csv.DictReader(f))
            for row in found[len(rows) :]:
                rows.append(row | {"seconds": elapsed})
        if elapsed > minutes * 60:
            process.send_signal(signal.SIGTERM)  # saves the last iteration, like Ctrl-C
            process.wait()
    return rows


def converted(pair: str, data: Path, run_dir: Path) -> dict[str, dict]:
    """`faceswap-gan evaluate` of the final model on each person's clip (its first 48 frames, converted
    with the default settings): what a viewer gets, beside the held-out figures of training."""
    a, b = pair.split(":")
    reports = {}
    for direction, clip in (("AtoB", a), ("BtoA", b)):
        out = run_dir / f"evaluation-{direction}"
        subprocess.run([*CLI, "evaluate", str(CLIPS / f"{clip}.mp4"), "--model", str(run_dir), "--a",
                        str(data / "face_src"), "--b", str(data / "face_dst"), "--direction", direction,
                        "--out", str(out)], check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        reports[direction] = json.loads((out / "report.json").read_text())
    return reports


def reached(rows: list[dict], level: float) -> float | None:
    for row in rows:
        if min(float(row["id_a2b"]), float(row["id_b2a"])) >= level:
            return row["seconds"]
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", default="d14:d20", help="Comma-separated A:B clip names.")
    parser.add_argument("--recipes", default="original,fast", help=f"Names ({', '.join(RECIPES)}) or YAML files.")
    parser.add_argument("--minutes", type=float, default=30.0, help="Wall-clock budget of each run.")
    parser.add_argument("--display-every", type=int, default=100, help="Iterations between measurements.")
    parser.add_argument("--work", type=Path, default=Path("bench_quality"), help="Data and run folders.")
    args = parser.parse_args()
    print(f"{cpu_line()}; {args.minutes:g} min per run")
    for pair in args.pairs.split(","):
        data = prepare(pair, args.work)
        for name in args.recipes.split(","):
            out = args.work / "runs" / f"{pair.replace(':', '_')}-{Path(name).stem}-{int(time.time())}"
            rows = run(data, recipe_args(name), out, args.minutes, args.display_every)
            print(f"\n{pair} {name}: {len(rows)} measurements, run folder {out}")
            print("  (identity transfer: share of held-out faces that, converted as `convert` would, are closer")
            print("  to the other person; margin < 0: still the input person; alpha: the model's mean mask)")
            print("  (raw: the same share for the decoder's own face at its resolution, alpha = 1: what it")
            print("  learned, before the conversion shows it)")
            print("  min   iteration  id A->B  id B->A  margin A->B  margin B->A  alpha A->B  alpha B->A", end="")
            print("  raw A->B  raw B->A")
            keys = ("id_a2b", "id_b2a", "margin_a2b", "margin_b2a", "alpha_a2b", "alpha_b2a", "raw_a2b", "raw_b2a")
            for row in rows:
                f = [float(row.get(k) or "nan") for k in keys]
                print(f"  {row['seconds'] / 60:5.1f} {row['iteration']:>9} {f[0]:8.2f} {f[1]:8.2f} {f[2]:12.2f} "
                      f"{f[3]:12.2f} {f[4]:11.2f} {f[5]:11.2f} {f[6]:9.2f} {f[7]:9.2f}")  # fmt: skip
            for level in LEVELS:
                seconds = reached(rows, level)
                print(
                    f"  identity transfer {level} both ways: "
                    + (f"{seconds / 60:.1f} min" if seconds else "not reached")
                )
            print("  converted, the final model on each person's clip (evaluate: dlib identity, HOG second")
            print("  opinion, expression error / inter-ocular, stability vs the source; reconstruction PSNR of")
            print("  each decoder on its own person's faces: how sharp what it draws is):")
            for direction, r in converted(pair, data, out).items():
                psnr = r["reconstruction"]
                print(f"  {direction}: identity {r['identity_transfer']:.2f} (HOG {r['identity_transfer_hog']:.2f}), "
                      f"expression {r['expression_error']:.3f}, stability {r['stability_ratio']:.2f}, "
                      f"PSNR A {psnr['a']['psnr']:.1f} dB, B {psnr['b']['psnr']:.1f} dB")  # fmt: skip


if __name__ == "__main__":
    main()

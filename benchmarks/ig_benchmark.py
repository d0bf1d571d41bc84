"""iglib against Captum on EfficientNet-Lite0 (224x224), in one process, side by side.

    python benchmarks/ig_benchmark.py [--mode fast|full] [--sections speed,accuracy,steps,memory,bfloat16]
                                      [--out benchmarks/results_<mode>_<device>.json]

Prints four tables and writes them as JSON:

1. speed: wall time of IG at equal n_steps and method for a batch of 1 and of 8 images,
   iglib / Captum, and iglib against the floor (forward+backward passes of the bare model over
   the same path points, at the same chunk size); repetitions alternate, medians are reported;
2. accuracy per gradient evaluation: the relative completeness error |delta| / |F(x) - F(x')|
   of every rule (and of adaptive_integrated_gradients) against the number of gradient evaluations, and
   the per-feature error ||a - a_ref||_1 / ||a_ref||_1 against a 2000-step Gauss-Legendre
   reference; then the evaluations Gauss-Legendre (Captum's default) and adaptive need for 1%,
   and the evaluations Gauss-Legendre needs for adaptive's per-feature error;
2b. (steps) completeness only, so the Gauss-Legendre grid can reach 512 steps: the evaluations each
   rule needs for 1% on each image (the first count that meets it, and the count from which on
   every larger one does), adaptive with a budget of 512;
3. peak memory against internal_batch_size (each setting in a fresh process);
4. bfloat16 autocast against float32 (attribution error), with channels-last on CUDA.

fast: 8 images for accuracy, 3 elsewhere, fewer repetitions (a laptop CPU, about an hour, most of it
the accuracy section); full: all 62 images. The same code runs on CUDA when present. A run of some
sections updates those in the JSON and keeps the others; ``measured_on`` says when each was measured.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

import iglib
from iglib import data, settings
from iglib.adaptive import adaptive_simpson
from iglib.experiments import imagenet
from iglib.quadrature import METHODS, alphas_and_weights

ROOT = Path(__file__).resolve().parent


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def load(n_images: int, device: torch.device, channels_last: bool):
    model = imagenet.load_classifier(device, channels_last=channels_last)
    names = imagenet.paper_images()[:n_images]
    x = torch.cat([imagenet.preprocess(data.fetch(n)) for n in names]).to(device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        target = model(x).argmax(-1)

    def probabilities(v):
        return model(v).softmax(-1)

    return model, probabilities, names, x, target


# ----------------------------------------------------------------------------------- 1. speed
def speed(forward, x, target, n_steps: int, method: str, chunk: int, repeats: int, device) -> dict:
    from captum.attr import IntegratedGradients

    base = imagenet.black(x)
    captum = IntegratedGradients(forward)

    def run_iglib():
        iglib.integrated_gradients(forward, x, base, target=target, n_steps=n_steps, method=method,
                                   internal_batch_size=chunk)

    def run_captum():
        captum.attribute(x, base, target=target, n_steps=n_steps, method=method, internal_batch_size=chunk)

    # the floor: the same points IG visits, through the bare model, chunk by chunk
    alphas, _ = alphas_and_weights(method, n_steps)
    points = torch.cat([base + float(a) * (x - base) for a in alphas])
    targets = target.repeat(n_steps)

    def run_floor():
        for start in range(0, len(points), chunk):
            p = points[start : start + chunk].detach().requires_grad_(True)
            torch.autograd.grad(forward(p)[torch.arange(len(p)), targets[start : start + chunk]].sum(), p)

    times = {"iglib": [], "captum": [], "floor": []}
    for r in range(repeats + 1):  # the first round warms up and is dropped
        for name, fn in (("iglib", run_iglib), ("captum", run_captum), ("floor", run_floor)):
            sync(device)
            start = time.perf_counter()
            fn()
            sync(device)
            if r:
                times[name].append(time.perf_counter() - start)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"batch": len(x), "n_steps": n_steps, "method": method, "chunk": chunk, "repeats": repeats,
            "seconds": med, "iglib/captum": med["iglib"] / med["captum"], "iglib/floor": med["iglib"] / med["floor"]}


# -------------------------------------------------------------------------------- 2. accuracy
def accuracy(forward, x, target, steps: list[int], fine_steps: list[int], tols: list[float], reference_steps: int,
             chunk: int) -> dict:
    """Every rule at ``steps`` evaluations, Gauss-Legendre also at ``fine_steps`` (its error is not monotone in m),
    and adaptive_integrated_gradients at each tolerance, on each image; errors against a ``reference_steps`` reference."""
    rows = []
    for i in range(len(x)):
        xi, ti = x[i : i + 1], int(target[i])
        base = imagenet.black(xi)
        ref = iglib.integrated_gradients(forward, xi, base, target=ti, n_steps=reference_steps,
                                         internal_batch_size=chunk)
        with torch.no_grad():
            rise = (forward(xi)[0, ti] - forward(base)[0, ti]).item()

        def errors(a, delta, rise=rise, ref=ref):
            return abs(delta) / abs(rise), ((a - ref).abs().sum() / ref.abs().sum()).item()

        for method in METHODS:
            for m in sorted(set(steps) | set(fine_steps)) if method == "gausslegendre" else steps:
                if method == "riemann_trapezoid" and m < 2:
                    continue
                a, d = iglib.integrated_gradients(forward, xi, base, target=ti, n_steps=m, method=method,
                                                  internal_batch_size=chunk, return_convergence_delta=True)
                completeness, feature = errors(a, d.item())
                rows.append({"image": i, "rule": method, "evaluations": m, "completeness": completeness,
                             "per_feature": feature})
        for tol in tols:
            a, d, used = adaptive_simpson(forward, xi, base, ti, None, n_steps=max(steps), tol=tol,
                                          internal_batch_size=chunk)
            completeness, feature = errors(a, d.item())
            rows.append({"image": i, "rule": f"adaptive tol={tol:g}", "evaluations": used[0],
                         "completeness": completeness, "per_feature": feature})
        print(f"  accuracy: image {i + 1}/{len(x)} done", file=sys.stderr, flush=True)
    return {"reference_steps": reference_steps, "rows": rows}


def needed(rows: list[dict], rule: str, image: int, level: float = 0.01, error: str = "completeness",
           stable: bool = False) -> int | None:
    """Fewest evaluations at which ``rule`` reaches ``level`` of ``error`` on ``image`` (None: not within the grid).

    ``stable``: the fewest from which on every larger count in the grid stays within ``level`` too. A fixed
    rule's completeness error is not monotone in m (Gauss-Legendre on the fireboat: 0.5% at m=32, 4% at m=40),
    so the first m that happens to meet it is luck a user cannot know in advance; the stable count is what
    choosing ``n_steps`` ahead of time needs."""
    sel = sorted((r["evaluations"], r[error]) for r in rows if r["rule"] == rule and r["image"] == image)
    if stable:
        fine = [m for k, (m, _) in enumerate(sel) if all(e <= level for _, e in sel[k:])]
    else:
        fine = [m for m, e in sel if e <= level]
    return min(fine) if fine else None


# ---------------------------------------------------------------------------------- 3. memory
MEMORY_CHILD = """
import sys, torch, iglib
from iglib import data, imagenet
device = torch.device(sys.argv[1]); n_steps = int(sys.argv[2]); chunk = sys.argv[3]
chunk = chunk if chunk == "auto" else int(chunk)
model = imagenet.load_classifier(device)
x = imagenet.preprocess(data.fetch(imagenet.paper_images()[0])).to(device)
forward = lambda v: model(v).softmax(-1)
if device.type == "cuda":
    torch.cuda.reset_peak_memory_stats(device)
iglib.integrated_gradients(forward, x, imagenet.black(x), target=554, n_steps=n_steps, internal_batch_size=chunk)
if device.type == "cuda":
    print(torch.cuda.max_memory_allocated(device))
else:  # the process's own high-water mark (ru_maxrss would include the parent's, kept across exec)
    status = open("/proc/self/status").read()
    print(int(next(l.split()[1] for l in status.splitlines() if l.startswith("VmHWM:"))) * 1024)
"""


def memory(device: torch.device, n_steps: int, chunks: list) -> list[dict]:
    rows = []
    for chunk in chunks:
        out = subprocess.run([sys.executable, "-c", MEMORY_CHILD, device.type, str(n_steps), str(chunk)],
                             capture_output=True, text=True, check=True)
        rows.append({"internal_batch_size": chunk, "peak_bytes": int(out.stdout.split()[-1])})
    return rows


# -------------------------------------------------------------------------------- 4. bfloat16
def bfloat16(forward, x, target, n_steps: int, chunk: int, device) -> dict:
    base = imagenet.black(x)
    a32, d32 = iglib.integrated_gradients(forward, x, base, target=target, n_steps=n_steps,
                                          internal_batch_size=chunk, return_convergence_delta=True)
    with torch.autocast(device.type, dtype=torch.bfloat16):
        a16, _ = iglib.integrated_gradients(lambda v: forward(v).float(), x, base, target=target, n_steps=n_steps,
                                            internal_batch_size=chunk, return_convergence_delta=True)
    rel = ((a16.float() - a32).abs().flatten(1).sum(1) / a32.abs().flatten(1).sum(1)).tolist()
    with torch.no_grad():
        rise = forward(x)[torch.arange(len(x)), target] - forward(base)[torch.arange(len(x)), target]
    d16 = a16.float().flatten(1).sum(1) - rise
    return {"n_steps": n_steps, "relative_L1_error_bf16_vs_fp32": rel,
            "completeness_fp32": (d32.abs() / rise.abs()).tolist(), "completeness_bf16": (d16.abs() / rise.abs()).tolist()}


# ------------------------------------------------------------------------------------- report
SECTIONS = ("speed", "accuracy", "steps", "memory", "bfloat16")


def median_ratios(per_image: list[dict], keys: tuple[str, ...]) -> dict:
    """For each key, the median over the images that have a value (None: no image has one)."""
    values = {key: [r[key] for r in per_image if r[key] is not None] for key in keys}
    return {key: statistics.median(v) if v else None for key, v in values.items()}


def report_speed(forward, x, target, chunk: int, pick, device) -> list[dict]:
    print("## 1. speed at equal n_steps (gausslegendre), medians of alternating repetitions")
    print(f"{'batch':>5} {'n_steps':>7} {'chunk':>5} {'iglib s':>8} {'captum s':>9} {'floor s':>8} {'iglib/captum':>13} {'iglib/floor':>12}")
    rows = []
    for batch in (1, 8):
        row = speed(forward, x[:batch], target[:batch], pick(fast=32, full=300) if batch == 1 else pick(fast=8, full=50),
                    "gausslegendre", chunk, pick(fast=3, full=5), device)
        rows.append(row)
        s = row["seconds"]
        print(f"{batch:>5} {row['n_steps']:>7} {chunk:>5} {s['iglib']:>8.2f} {s['captum']:>9.2f} {s['floor']:>8.2f} "
              f"{row['iglib/captum']:>13.3f} {row['iglib/floor']:>12.3f}", flush=True)
    return rows


def report_accuracy(forward, x, target, chunk: int, pick) -> dict:
    steps = pick(fast=[8, 16, 32, 64, 128], full=[8, 16, 32, 64, 128, 256, 512])
    fine_steps = pick(fast=[12, 20, 24, 40, 48, 96], full=[12, 20, 24, 40, 48, 96, 192, 384])
    tols = [0.05, 0.02, 0.01, 0.005]
    acc = accuracy(forward, x, target, steps, fine_steps, tols, 2000, chunk)
    rows, n = acc["rows"], len(x)
    print(f"\n## 2. accuracy per gradient evaluation ({n} images; medians over images)")
    print(f"{'rule':<22}" + "".join(f"{m:>9}" for m in steps) + "   (relative completeness error / per-feature L1 error)")
    for rule in METHODS:
        for label, key in ((rule, "completeness"), ("  per-feature", "per_feature")):
            cells = []
            for m in steps:
                sel = [r[key] for r in rows if r["rule"] == rule and r["evaluations"] == m]
                cells.append(f"{statistics.median(sel):>9.2g}" if sel else f"{'-':>9}")
            print(f"{label:<22}" + "".join(cells))
    print(f"\n{'adaptive':<22}{'evaluations':>12}{'completeness':>14}{'per-feature':>13}   (medians over images)")
    for tol in tols:
        sel = [r for r in rows if r["rule"] == f"adaptive tol={tol:g}"]
        print(f"{f'tol={tol:g}':<22}{statistics.median(r['evaluations'] for r in sel):>12.0f}"
              f"{statistics.median(r['completeness'] for r in sel):>14.2g}{statistics.median(r['per_feature'] for r in sel):>13.2g}")

    # evaluations for 1% completeness: Gauss-Legendre (first m that meets it; m from which on it always does)
    # against adaptive_integrated_gradients with tol=0.01; then Gauss-Legendre for adaptive's per-feature error
    per_image = []
    for i in range(n):
        adaptive = next(r for r in rows if r["rule"] == "adaptive tol=0.01" and r["image"] == i)
        per_image.append({
            "image": i,
            "gausslegendre_first": needed(rows, "gausslegendre", i),
            "gausslegendre_stable": needed(rows, "gausslegendre", i, stable=True),
            "adaptive": adaptive["evaluations"] if adaptive["completeness"] <= 0.01 else None,
            "adaptive_per_feature": adaptive["per_feature"],
            "gausslegendre_same_per_feature": needed(rows, "gausslegendre", i, adaptive["per_feature"], "per_feature",
                                                     stable=True),
        })
    top = max(steps + fine_steps)
    print(f"\nevaluations for 1% relative completeness error (-: more than {top}), and for adaptive's per-feature error")
    print(f"{'image':>5} {'GL first':>9} {'GL stable':>10} {'adaptive':>9} {'stable/adaptive':>16} "
          f"{'adaptive per-feature':>21} {'GL for it':>10} {'GL/adaptive':>12}")

    def ratio(a, b):
        return a / b if a and b else (float("inf") if b and not a else None)

    def show(v):
        return "-" if v is None else (f"{v:.2f}" if isinstance(v, float) else str(v))

    for row in per_image:
        row["ratio_stable"] = ratio(row["gausslegendre_stable"], row["adaptive"])
        row["ratio_first"] = ratio(row["gausslegendre_first"], row["adaptive"])
        row["ratio_per_feature"] = ratio(row["gausslegendre_same_per_feature"], row["adaptive"])
        print(f"{row['image']:>5} {show(row['gausslegendre_first']):>9} {show(row['gausslegendre_stable']):>10} "
              f"{show(row['adaptive']):>9} {show(row['ratio_stable']):>16} {row['adaptive_per_feature']:>21.3f} "
              f"{show(row['gausslegendre_same_per_feature']):>10} {show(row['ratio_per_feature']):>12}")
    summary = median_ratios(per_image, ("ratio_stable", "ratio_first", "ratio_per_feature"))
    print(f"median ratios, Gauss-Legendre / adaptive: stable {show(summary['ratio_stable'])}, "
          f"first {show(summary['ratio_first'])}, same per-feature error {show(summary['ratio_per_feature'])}"
          f" (inf: Gauss-Legendre did not get there within {top})")
    acc["evaluations_for_1_percent"] = {"per_image": per_image, "median_ratios": summary}
    return acc


def report_steps_needed(forward, x, target, chunk: int, pick) -> dict:
    """Completeness only (no reference needed, so the grid can go further): the Gauss-Legendre step
    counts from 8 to 512, and adaptive_integrated_gradients with tol=0.01 and a budget of 512, per image."""
    grid = pick(fast=[8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512],
                full=[8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024])
    rows = []
    for i in range(len(x)):
        xi, ti = x[i : i + 1], int(target[i])
        base = imagenet.black(xi)
        with torch.no_grad():
            rise = (forward(xi)[0, ti] - forward(base)[0, ti]).item()
        for m in grid:
            _, d = iglib.integrated_gradients(forward, xi, base, target=ti, n_steps=m, internal_batch_size=chunk,
                                              return_convergence_delta=True)
            rows.append({"image": i, "rule": "gausslegendre", "evaluations": m, "completeness": abs(d.item() / rise)})
        _, d, used = adaptive_simpson(forward, xi, base, ti, None, n_steps=max(grid), tol=0.01,
                              internal_batch_size=chunk)
        rows.append({"image": i, "rule": "adaptive tol=0.01", "evaluations": used[0],
                     "completeness": abs(d.item() / rise)})
        print(f"  steps needed: image {i + 1}/{len(x)} done", file=sys.stderr, flush=True)
    print(f"\n## 2b. evaluations for 1% relative completeness error, Gauss-Legendre up to {max(grid)} steps "
          f"({len(x)} images)")
    print(f"{'image':>5} {'GL first':>9} {'GL stable':>10} {'adaptive':>9} {'stable/adaptive':>16} {'first/adaptive':>15}")
    per_image = []
    for i in range(len(x)):
        adaptive = next(r for r in rows if r["rule"] == "adaptive tol=0.01" and r["image"] == i)
        row = {"image": i, "gausslegendre_first": needed(rows, "gausslegendre", i),
               "gausslegendre_stable": needed(rows, "gausslegendre", i, stable=True),
               "adaptive": adaptive["evaluations"] if adaptive["completeness"] <= 0.01 else None}
        for key, gl in (("ratio_stable", row["gausslegendre_stable"]), ("ratio_first", row["gausslegendre_first"])):
            row[key] = gl / row["adaptive"] if gl and row["adaptive"] else None
        per_image.append(row)
        print(f"{i:>5} {row['gausslegendre_first'] or '-':>9} {row['gausslegendre_stable'] or '-':>10} "
              f"{row['adaptive'] or '-':>9} {row['ratio_stable'] or float('nan'):>16.2f} {row['ratio_first'] or float('nan'):>15.2f}")
    summary = median_ratios(per_image, ("ratio_stable", "ratio_first"))
    print(f"median ratios over the images where both get there: stable {summary['ratio_stable']}, "
          f"first {summary['ratio_first']}")
    return {"grid": grid, "rows": rows, "per_image": per_image, "median_ratios": summary}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("fast", "full"), default=None)
    parser.add_argument("--out", default=None)
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"comma-separated subset of {','.join(SECTIONS)} (default: all)")
    args = parser.parse_args(argv)
    sections = set(args.sections.split(","))
    if not sections <= set(SECTIONS):
        parser.error(f"--sections must be a comma-separated subset of {','.join(SECTIONS)}, got {args.sections!r}")
    if args.mode:
        import os
        os.environ["IGLIB_MODE"] = args.mode
    mode, device = settings.mode(), settings.device()
    pick = settings.pick
    channels_last = device.type == "cuda"
    _, forward, _, x, target = load(pick(fast=8, full=62), device, channels_last)
    n_acc = pick(fast=8, full=62)
    chunk = pick(fast=16, full=128)
    result = {"mode": mode, "device": str(device), "machine": platform.processor() or platform.machine(),
              "cpu_threads": torch.get_num_threads(), "torch": torch.__version__,
              "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None}

    print(f"# iglib vs Captum, EfficientNet-Lite0, {device} ({mode} mode, {torch.get_num_threads()} threads)\n")
    if "speed" in sections:
        result["speed"] = report_speed(forward, x, target, chunk, pick, device)

    if "accuracy" in sections:
        result["accuracy"] = report_accuracy(forward, x[:n_acc], target[:n_acc], chunk, pick)

    if "steps" in sections:
        result["steps"] = report_steps_needed(forward, x[:n_acc], target[:n_acc], chunk, pick)

    if "memory" in sections:
        chunks = pick(fast=[1, 4, 16, 64, "auto"], full=[1, 16, 64, 256, "auto"])
        result["memory"] = memory(device, 64, chunks)
        print("\n## 3. peak memory, IG of one image with 64 steps (a fresh process each)")
        print(f"{'internal_batch_size':>20} {'peak MB':>9}")
        for r in result["memory"]:
            print(f"{r['internal_batch_size']!s:>20} {r['peak_bytes'] / 2**20:>9.0f}")

    if "bfloat16" in sections:
        n_bf = pick(fast=3, full=62)
        bf = bfloat16(forward, x[:n_bf], target[:n_bf], pick(fast=32, full=300), chunk, device)
        result["bfloat16"] = bf
        print("\n## 4. bfloat16 autocast against float32 (per image)")
        print("relative L1 error of the attributions:", [f"{e:.2g}" for e in bf["relative_L1_error_bf16_vs_fp32"]])
        print("completeness error fp32:", [f"{e:.2g}" for e in bf["completeness_fp32"]],
              " bf16:", [f"{e:.2g}" for e in bf["completeness_bf16"]])

    out = Path(args.out) if args.out else ROOT / f"results_{mode}_{device.type}.json"
    measured = {section: result.pop(section) for section in SECTIONS if section in result}
    for section in measured:
        result.setdefault("measured_on", {})[section] = time.strftime("%Y-%m-%d")
    if len(sections) < len(SECTIONS) and out.exists():  # a partial run updates its sections, keeps the others
        previous = json.loads(out.read_text())
        result["measured_on"] = {**previous.get("measured_on", {}), **result["measured_on"]}
        measured = {**{k: previous[k] for k in SECTIONS if k in previous}, **measured}
    result.update(measured)
    out.write_text(json.dumps(result, indent=1, default=float))
    print(f"\nwritten: {out.relative_to(ROOT.parent) if out.is_relative_to(ROOT.parent) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

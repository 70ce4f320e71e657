#!/usr/bin/env python3
"""Run chosen cargo-mutants mutants against a fuzz target and a seed sweep (issue 17, part 4).

The unit tests decide cargo-mutants' verdict; this script asks the other half of the lab: does a
coverage-guided fuzz target (libFuzzer, N seconds from the committed corpus) or a seed sweep of the
standard world (faults on) notice the same planted bug? Each mutant is applied, one at a time, in a
detached git worktree of HEAD (the checkout you run it from is never touched), the fuzz target is
built with `cargo fuzz build --sanitizer none` and `mta-lab` with the `mutants` profile (opt-level 1,
debug assertions on, as sweeps and campaigns run), then:

  fuzz:  the target's binary on a scratch copy of corpora/fuzz/<target>, -max_total_time=SECONDS,
         fixed -seed, value profile and the target's dictionary; a crash, timeout or oom = caught.
  sweep: `mta-lab sweep --seeds 0..SEEDS --build BUILD --jobs 0`; any finding = caught; a sweep
         that outlives its budget is a hang = caught.

The unmutated tree is run first the same way: a target or a sweep that is not clean without a
mutant cannot judge one, and is reported as "baseline not clean" instead of a verdict.

Usage:
  scripts/mutants_vs_fuzz.py NAMES.txt [--seconds 60] [--seeds 300] [--build 2000-sp3-rollup]
                             [--out target/mutants-vs-fuzz] [--dry-run]
NAMES.txt: one mutant per line as cargo-mutants names it (`missed.txt`), line:column optional
(they are matched against the current code's mutants without them); `# target` after a name
chooses the fuzz target (default per crate, see TARGET). Blank lines and `#` lines are skipped.
Writes OUT/results.json and prints a Markdown table. Exit status 2 on bad input.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The fuzz target whose harness drives each model crate hardest.
TARGET = {
    "mta-bufmgr": "bufmgr_ops",
    "mta-lpi": "lpi_decode",
    "mta-ber": "ber_decode",
    "mta-osi": "association",
    "mta-mta": "driver_events",
}

LOCATION = re.compile(r":\d+:\d+:")


def key(name):
    """A mutant's name without its line and column (they move when code above them changes)."""
    return LOCATION.sub(":", name, count=1).strip()


def crate_of(path, tree):
    """The package owning a source path (models/<dir>/src/...)."""
    manifest = tree / Path(path).parts[0] / Path(path).parts[1] / "Cargo.toml"
    for line in manifest.read_text().splitlines():
        m = re.match(r'\s*name\s*=\s*"([^"]+)"', line)
        if m:
            return m.group(1)
    sys.exit(f"{manifest}: no package name")


def run(cmd, cwd, timeout=None, env=None):
    return subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


def worktree(out):
    tree = out / "tree"
    if not tree.is_dir():
        r = run(["git", "worktree", "add", "--detach", str(tree), "HEAD"], ROOT)
        if r.returncode != 0:
            sys.exit(f"git worktree add: {r.stderr.strip()}")
    return tree


def mutants_of(crate, tree):
    """Today's mutants of a crate, grouped by name without location."""
    r = run(["cargo", "mutants", "--list", "--json", "--diff", "--package", crate], tree)
    if r.returncode != 0:
        sys.exit(f"cargo mutants --list --package {crate}: {r.stderr.strip()[-400:]}")
    by_key = {}
    for m in json.loads(r.stdout):
        by_key.setdefault(key(m["name"]), []).append(m)
    return by_key


def pick(name, candidates):
    """The mutant a (possibly older) name means: the only one of its description; else the one
    in the same column (an unchanged line that moved); else the nearest line."""
    loc = re.search(r":(\d+):(\d+):", name)
    if len(candidates) <= 1 or loc is None:
        return candidates[0] if candidates else None
    line, col = int(loc.group(1)), int(loc.group(2))
    start = lambda m: m["span"]["start"]
    same_col = [m for m in candidates if start(m)["column"] == col] or candidates
    return min(same_col, key=lambda m: abs(start(m)["line"] - line))


def apply(mutant, tree):
    body = mutant["diff"].split("\n", 2)[2]
    f = mutant["file"]
    patch = f"--- a/{f}\n+++ b/{f}\n{body}"
    r = subprocess.run(
        ["git", "apply", "-"], cwd=tree, input=patch, capture_output=True, text=True
    )
    if r.returncode != 0:
        sys.exit(f"{mutant['name']}: git apply: {r.stderr.strip()}")


def revert(mutant, tree):
    run(["git", "checkout", "--", mutant["file"]], tree)


def build(tree, target):
    """Build the fuzz target and mta-lab; None when the mutant does not compile."""
    for cmd, cwd in (
        (["cargo", "fuzz", "build", "--sanitizer", "none", target], tree / "fuzz"),
        (["cargo", "build", "-q", "-p", "mta-lab", "--profile", "mutants"], tree),
    ):
        r = run(cmd, cwd)
        if r.returncode != 0:
            return r.stderr.strip().splitlines()[-1:] or ["build failed"]
    return None


def first_failure(text):
    for line in text.splitlines():
        if "panicked at" in line or "==ERROR" in line or "ALARM" in line:
            return line.strip()[:200]
    return text.strip().splitlines()[-1][:200] if text.strip() else ""


def fuzz(tree, target, args, scratch):
    bins = sorted((tree / "fuzz" / "target").glob(f"*/release/{target}"))
    corpus = scratch / "corpus"
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(ROOT / "corpora" / "fuzz" / target, corpus)
    (scratch / "artifacts").mkdir()
    cmd = [
        str(bins[-1]),
        str(corpus),
        f"-max_total_time={args.seconds}",
        f"-artifact_prefix={scratch / 'artifacts'}/",
        "-seed=1",
        "-timeout=10",
        "-rss_limit_mb=2048",
        "-use_value_profile=1",
    ]
    d = ROOT / "corpora" / "dict" / f"{target}.dict"
    if d.is_file():
        cmd.append(f"-dict={d}")
    env = dict(os.environ, MTA_LAB_BUILD=args.build)
    started = time.monotonic()  # wall clock: only to report how long the run took
    r = run(cmd, tree, timeout=args.seconds + 120, env=env)
    crashed = r.returncode != 0
    return {
        "caught": crashed,
        "seconds": round(time.monotonic() - started, 1),
        "what": first_failure(r.stderr) if crashed else "",
    }


def sweep(tree, args, scratch):
    findings = scratch / "findings"
    shutil.rmtree(findings, ignore_errors=True)
    cmd = [
        str(tree / "target" / "mutants" / "mta-lab"),
        "sweep",
        f"--seeds=0..{args.seeds}",
        f"--build={args.build}",
        "--jobs=0",
        f"--findings={findings}",
    ]
    started = time.monotonic()  # wall clock: only the hang budget and the report
    try:
        r = run(cmd, tree, timeout=args.sweep_budget)
    except subprocess.TimeoutExpired:
        return {"caught": True, "seconds": args.sweep_budget, "what": "hang (budget spent)"}
    what = ""
    if r.returncode != 0:
        # The first failing seed's line (progress output may join several on one line).
        text = (r.stdout + "\n" + r.stderr).replace("seed ", "\nseed ")
        lines = [l for l in text.splitlines() if "finding" in l.lower() or "PANIC" in l]
        what = (lines[:1] or [first_failure(text)])[0].strip()[:160]
    return {
        "caught": r.returncode != 0,
        "seconds": round(time.monotonic() - started, 1),
        "what": what,
    }


def verdict(res, base):
    if base is not None and base["caught"]:
        return "baseline not clean"
    return "caught" if res["caught"] else "missed"


def parse_names(path):
    out = []
    for raw in Path(path).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, _, target = line.partition("#")
        out.append((name.strip(), target.strip() or None))
    if not out:
        sys.exit(f"{path}: no mutant names")
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("names")
    p.add_argument("--seconds", type=int, default=60)
    p.add_argument("--seeds", type=int, default=300)
    p.add_argument("--build", default="2000-sp3-rollup")
    p.add_argument("--sweep-budget", type=int, default=1800)
    p.add_argument("--dry-run", action="store_true", help="only match the names")
    p.add_argument("--out", default=str(ROOT / "target" / "mutants-vs-fuzz"))
    args = p.parse_args()
    try:
        names = parse_names(args.names)
    except OSError as e:
        print(f"{args.names}: {e}", file=sys.stderr)
        sys.exit(2)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    tree = worktree(out)
    listed = {}
    chosen = []
    for name, target in names:
        path = name.split(":", 1)[0]
        crate = crate_of(path, tree)
        if crate not in listed:
            listed[crate] = mutants_of(crate, tree)
        m = pick(name, listed[crate].get(key(name), []))
        if m is None:
            print(f"{name}: no such mutant in today's code (skipped)", file=sys.stderr)
            continue
        chosen.append((m, target or TARGET.get(crate, "driver_events")))
    if args.dry_run:
        for m, target in chosen:
            print(f"{m['name']}  ->  {target}")
        return
    results_path = out / "results.json"
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    baselines = results.setdefault("baseline", {})
    for _, target in chosen:
        if target in baselines:
            continue
        err = build(tree, target)
        if err:
            sys.exit(f"the unmutated tree does not build: {err}")
        baselines[target] = fuzz(tree, target, args, out / "scratch")
        print(f"baseline {target}: {baselines[target]}", file=sys.stderr)
    if "sweep" not in baselines:
        baselines["sweep"] = sweep(tree, args, out / "scratch")
        print(f"baseline sweep: {baselines['sweep']}", file=sys.stderr)
    results_path.write_text(json.dumps(results, indent=1))
    rows = results.setdefault("mutants", {})
    for m, target in chosen:
        if m["name"] in rows:
            continue
        apply(m, tree)
        try:
            err = build(tree, target)
            if err:
                row = {"target": target, "unviable": err}
            else:
                row = {
                    "target": target,
                    "fuzz": fuzz(tree, target, args, out / "scratch"),
                    "sweep": sweep(tree, args, out / "scratch"),
                }
        finally:
            revert(m, tree)
        rows[m["name"]] = row
        results_path.write_text(json.dumps(results, indent=1))
        print(f"{m['name']}: {row}", file=sys.stderr)
    print(table(rows, baselines, args))


def table(rows, baselines, args):
    lines = [
        f"| mutant | fuzz target | fuzz {args.seconds} s | sweep {args.seeds} seeds |",
        "|---|---|---|---|",
    ]
    for name, row in rows.items():
        if "unviable" in row:
            lines.append(f"| `{name}` | {row['target']} | unviable | unviable |")
            continue
        f = verdict(row["fuzz"], baselines.get(row["target"]))
        s = verdict(row["sweep"], baselines.get("sweep"))
        fw = f" ({row['fuzz']['what']})" if f == "caught" else ""
        sw = f" ({row['sweep']['what']})" if s == "caught" else ""
        lines.append(f"| `{name}` | {row['target']} | {f}{fw} | {s}{sw} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

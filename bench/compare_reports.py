#!/usr/bin/env python3
"""Compares CPU bench reports (bench/report.md format) made before and after
a change, on the same machine in one session.

    python3 bench/compare_reports.py --before B1.md [B2.md ...] --after A1.md [A2.md ...]

Each (shape, algorithm) row's time is the smallest of its medians over the
reports given for that side (the run least disturbed by the shared machine);
prints after / before per row, worst first, and the rows beyond --limit.
"""
import argparse
import re


def read(paths):
    best = {}
    for path in paths:
        for line in open(path):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 3 or not re.fullmatch(r"[0-9.]+", cells[2]):
                continue
            key = (cells[0], cells[1])
            best[key] = min(best.get(key, float("inf")), float(cells[2]))
    return best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", nargs="+", required=True)
    parser.add_argument("--after", nargs="+", required=True)
    parser.add_argument("--limit", type=float, default=1.05,
                        help="ratio above which a row counts as slower")
    args = parser.parse_args()
    before, after = read(args.before), read(args.after)
    rows = [(after[k] / before[k], k) for k in before if k in after and before[k] > 0]
    rows.sort(reverse=True)
    print("| shape | algorithm | before ms | after ms | after / before |")
    print("|---|---|---|---|---|")
    for r, (shape, algorithm) in rows:
        print(f"| {shape} | {algorithm} | {before[(shape, algorithm)]:.3f} "
              f"| {after[(shape, algorithm)]:.3f} | {r:.3f} |")
    slower = [k for r, k in rows if r > args.limit]
    print(f"\n{len(rows)} rows; {len(slower)} above {args.limit}; "
          f"median ratio {sorted(r for r, _ in rows)[len(rows) // 2]:.3f}")


if __name__ == "__main__":
    main()

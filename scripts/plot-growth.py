#!/usr/bin/env python3
"""Plots the fleet benchmark's growth figures (benches/fleet.rs with FLEET_GROWTH set).

usage: plot-growth.py FIGURES.csv OUT.png

Three panels against fleet size, cold and steady cycles each beside their raw-fetch floor:
cycle wall time, CPU time and peak RSS. The marginal cost per provider (the slope between
the two largest fleets) is written into each panel's legend.
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read(path):
    rows = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            rows.setdefault(row["cycle"], []).append(
                {k: (v if k == "cycle" else float(v)) for k, v in row.items()}
            )
    for cycle in rows.values():
        cycle.sort(key=lambda r: r["providers"])
    return rows


def slope(points, key, scale):
    """Marginal cost per provider between the two largest fleets."""
    if len(points) < 2:
        return None
    a, b = points[-2], points[-1]
    return (b[key] - a[key]) / (b["providers"] - a["providers"]) * scale


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    rows = read(sys.argv[1])
    panels = [
        ("wall_s", "floor_wall_s", "cycle wall time (s)", 1e3, "ms"),
        ("cpu_s", "floor_cpu_s", "CPU time, user + system (s)", 1e3, "ms"),
        ("rss_mib", "floor_rss_mib", "peak RSS (MiB)", 1024, "KiB"),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    colours = {"cold": "tab:blue", "steady": "tab:green"}
    for ax, (key, floor_key, title, scale, unit) in zip(axes, panels):
        for cycle, points in sorted(rows.items()):
            xs = [p["providers"] for p in points]
            marginal = slope(points, key, scale)
            label = cycle
            if marginal is not None:
                label += f" ({marginal:.2f} {unit} per provider)"
            ax.plot(xs, [p[key] for p in points], "o-", color=colours.get(cycle), label=label)
            ax.plot(
                xs,
                [p[floor_key] for p in points],
                "o--",
                color=colours.get(cycle),
                alpha=0.45,
                label=f"{cycle}: raw-fetch floor",
            )
        ax.set_title(title)
        ax.set_xlabel("providers")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        ax.set_ylim(bottom=0)
    fig.suptitle(
        "statusrelay watcher: one cycle over N GitHub-sized status pages "
        "(loopback, 50 ms latency, 2 cores)"
    )
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=110)
    print(f"plot written to {sys.argv[2]}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes the demo job's data set: two interleaving half-moons with noise, as CSV.

Run from the repository root: python3 tools/make_demo_data.py
The output is committed; the fixed seed makes it reproducible.
"""
import math
import os
import random

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "assets", "demo", "data")


def moons(n, rng):
    rows = []
    for i in range(n):
        label = i % 2
        t = rng.uniform(0, math.pi)
        if label == 0:
            x, y = math.cos(t), math.sin(t)
        else:
            x, y = 1 - math.cos(t), 0.5 - math.sin(t)
        rows.append((x + rng.gauss(0, 0.2), y + rng.gauss(0, 0.2), label))
    rng.shuffle(rows)
    return rows


def write(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("x1,x2,label\n")
        for x, y, label in rows:
            f.write(f"{x:.5f},{y:.5f},{label}\n")


if __name__ == "__main__":
    rng = random.Random(7)
    write(os.path.join(ROOT, "train", "moons-train.csv"), moons(1200, rng))
    write(os.path.join(ROOT, "validation", "moons-validation.csv"), moons(300, rng))

"""Pareto fronts (minimization) and the 2-D hypervolume used to compare a search with the
exhaustive front."""
from __future__ import annotations


def dominates(a, b):
    """``a`` is no worse than ``b`` in every objective and better in one (minimization)."""
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def front(points):
    """Indices of the non-dominated points, in input order. Equal points are all kept.

    Sorted sweep: after sorting lexicographically, a point can only be dominated by one
    before it, so each is checked against the front found so far (O(n * front))."""
    order = sorted(range(len(points)), key=lambda i: tuple(points[i]))
    kept = []
    for i in order:
        p = points[i]
        if not any(dominates(points[j], p) for j in kept):
            kept.append(i)
    return sorted(kept)


def hypervolume_2d(points, ref):
    """Area dominated by ``points`` (minimization, 2 objectives) and bounded by ``ref``."""
    pts = sorted({(x, y) for x, y in points if x < ref[0] and y < ref[1]})
    area, best_y = 0.0, ref[1]
    for x, y in pts:   # by x ascending: each lower y adds a strip from x to ref's x
        if y < best_y:
            area += (ref[0] - x) * (best_y - y)
            best_y = y
    return area

"""Faces grouped into persons, as numbers: the rule both the incremental assignment and the full re-clustering use.

The rule (density-based, like Immich's): two observations are neighbours when their cosine distance is at most
`distance`; an observation with at least `min_faces` observations (itself included) within that distance is a
core. Cores are joined to their neighbouring cores, closest pairs first; observations that are not cores join the
nearest core's person; the rest stay unassigned. Two faces of one photo (same object, same frame) are never put in
one person: a join that would do so is refused. A video track is one observation (its keyframes' mean).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CHUNK = 512  # rows of the similarity matrix computed at once: 512 x 100k float32 is 200 MB


@dataclass(frozen=True)
class Rule:
    distance: float  # cosine distance (1 - similarity) within which two faces are neighbours
    min_faces: int  # faces (itself included) within `distance` that make a face a core


# Calibrated with `lookingglass eval` on the labelled photos (README, "People"); per embedder, like the match
# threshold, because each embedder has its own vector space.
RULES: dict[str, Rule] = {
    "sface": Rule(distance=0.55, min_faces=2),
    "dlib": Rule(distance=0.08, min_faces=2),
}


def rule_for(model: str) -> Rule:
    return RULES.get(model, Rule(distance=0.5, min_faces=2))


def normalised(vectors: np.ndarray) -> np.ndarray:
    v = np.asarray(vectors, np.float32)
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(norms, 1e-12)


def neighbour_edges(vectors: np.ndarray, distance: float, chunk: int = CHUNK) -> tuple[np.ndarray, np.ndarray]:
    """Every pair (i < j) within `distance`, with its similarity, by chunked exact cosine (memory stays bounded:
    `chunk` rows of the upper triangle at a time)."""
    v = normalised(vectors)
    floor = 1.0 - distance
    pairs: list[np.ndarray] = []
    sims: list[np.ndarray] = []
    for start in range(0, len(v), chunk):
        block = v[start : start + chunk] @ v[start:].T  # the upper triangle only: half the work of the square
        rows, cols = np.nonzero(block >= floor)  # both counted from `start`
        keep = cols > rows
        rows, cols = rows[keep], cols[keep]
        pairs.append(np.stack([rows + start, cols + start], axis=1))
        sims.append(block[rows, cols])
    if not pairs:
        return np.zeros((0, 2), np.int64), np.zeros(0, np.float32)
    return np.concatenate(pairs), np.concatenate(sims)


def cluster(
    vectors: np.ndarray,
    photos: Sequence[frozenset],
    rule: Rule,
    chunk: int = CHUNK,
    groups: Sequence[int] | None = None,
) -> np.ndarray:
    """A cluster number per observation (-1: unassigned). `photos[i]`: the photo keys (sha256:frame) observation
    i appears in; two observations sharing a key, or clusters holding one, are never joined.

    `groups[i]` >= 0: observation i belongs to a group an analyst decided (a person named, merged or split by
    hand): a group's observations always end in one cluster (must-link, whatever the rule says) and two groups
    never in the same one (cannot-link); other observations may still join a group by the rule."""
    n = len(vectors)
    labels = np.full(n, -1, np.int64)
    if n == 0:
        return labels
    edges, sims = neighbour_edges(vectors, rule.distance, chunk)
    support = np.ones(n, np.int64) + np.bincount(edges[:, 0], minlength=n) + np.bincount(edges[:, 1], minlength=n)
    group = np.full(n, -1, np.int64) if groups is None else np.asarray(groups, np.int64)
    core = (support >= rule.min_faces) | (group >= 0)
    parent = np.arange(n)
    keys: dict[int, set] = {}
    group_of: dict[int, int] = {}  # root -> the analyst's group it holds
    for g in np.unique(group[group >= 0]):
        members = np.flatnonzero(group == g)
        first = int(members[0])
        parent[members] = first
        keys[first] = set().union(*(photos[int(m)] for m in members))
        group_of[first] = int(g)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    order = np.argsort(-sims, kind="stable")
    for a, b in edges[order]:
        if not (core[a] and core[b]):
            continue
        ra, rb = root(int(a)), root(int(b))
        if ra == rb:
            continue
        if ra in group_of and rb in group_of:
            continue  # two persons an analyst told apart
        ka = keys.setdefault(ra, set(photos[ra]))
        kb = keys.setdefault(rb, set(photos[rb]))
        if ka & kb:
            continue  # one photo's two faces would end up in one person
        if len(ka) < len(kb):
            ra, rb, ka, kb = rb, ra, kb, ka
        parent[rb] = ra
        ka |= kb
        keys.pop(rb, None)
        if rb in group_of:
            group_of[ra] = group_of.pop(rb)
    held: dict[int, set] = {}
    for i in np.flatnonzero(core):
        labels[i] = root(int(i))
        held.setdefault(int(labels[i]), set()).update(photos[i])
    # Border observations: the nearest core whose cluster does not hold their photo.
    for a, b in edges[order]:
        for border, other in ((a, b), (b, a)):
            if core[border] or labels[border] != -1 or not core[other]:
                continue
            r = int(labels[other])
            if held[r] & photos[border]:
                continue
            labels[border] = r
            held[r] |= photos[border]
    _, dense = np.unique(labels[labels >= 0], return_inverse=True)
    labels[labels >= 0] = dense
    return labels


@dataclass(frozen=True)
class PairScores:
    precision: float  # of the pairs put in one person, the share that truly are one
    recall: float  # of the pairs that truly are one person, the share put in one person
    true_pairs: int
    predicted_pairs: int
    persons: int
    unassigned: int


def pairwise(labels: Sequence[int], truth: Sequence[str]) -> PairScores:
    """Pairwise precision/recall of a clustering against true identities (unassigned faces pair with nobody).
    Counted from cluster sizes, not pair by pair, so it scores 100k faces too (bench/people_cluster.py)."""

    def pairs(counts: Counter) -> int:
        return sum(c * (c - 1) // 2 for c in counts.values())

    placed = [(int(label), who) for label, who in zip(labels, truth, strict=True) if label >= 0]
    tp = pairs(Counter(placed))
    predicted = pairs(Counter(label for label, _ in placed))
    actual = pairs(Counter(truth))
    return PairScores(
        precision=tp / predicted if predicted else 1.0,
        recall=tp / actual if actual else 1.0,
        true_pairs=actual,
        predicted_pairs=predicted,
        persons=len({label for label, _ in placed}),
        unassigned=len(labels) - len(placed),
    )

"""An entity's neighbourhood, one or two hops out: what the entity page draws.

Both adapters answer `neighbourhood()` with this one function over two small reads of their own (`ties`: the
relations touching some entities; `describe`: those entities), so SQLite and a Bolt server choose the same nodes.
Each ring keeps the entities most strongly tied to the ring inside it (summed relation weights), up to `limit`
nodes in all, so a hub named on every page still draws as a readable picture; `truncated` says some were left out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

from lookingglass.errors import BadInput, NotFound
from lookingglass.stores.graph.port import check_limit

MAX_HOPS = 2
NEIGHBOURHOOD_LIMIT = 150  # nodes drawn at most: beyond this a force layout is a hairball on a phone

Ties = Callable[[Sequence[str]], list[dict]]  # ids → [{"source", "target", "type", "weight"}] touching any of them
Describe = Callable[[Sequence[str]], list[dict]]  # ids → [{"id", "name", "type", "pagerank", "community", "leiden"}]


def check_hops(hops: int) -> None:
    if isinstance(hops, bool) or not isinstance(hops, int) or not 1 <= hops <= MAX_HOPS:
        raise BadInput(f"hops must be 1 or {MAX_HOPS}, got {hops!r}")


def gather(entity_id: str, hops: int, limit: int, ties: Ties, describe: Describe) -> dict:
    """{"nodes": [{"id", "name", "type", "pagerank", "community", "leiden", "hops"}] (the entity first, then ring by
    ring, strongest tie first), "edges": [{"source", "target", "type", "weight"}] (every relation between two kept
    nodes), "truncated"}. Raises NotFound."""
    check_hops(hops)
    check_limit(limit)
    if not describe([entity_id]):
        raise NotFound(f"no entity {entity_id!r}")
    ring_of = {entity_id: 0}
    frontier = [entity_id]
    truncated = False
    for ring in range(1, hops + 1):
        inside = set(frontier)
        strength: dict[str, float] = defaultdict(float)
        for tie in ties(frontier):
            for near, far in ((tie["source"], tie["target"]), (tie["target"], tie["source"])):
                if near in inside and far not in ring_of:
                    strength[far] += tie["weight"]
        room = max(0, limit - len(ring_of))
        chosen = sorted(strength, key=lambda i: (-strength[i], i))[:room]
        truncated = truncated or len(strength) > room
        ring_of.update(dict.fromkeys(chosen, ring))
        frontier = chosen
        if not frontier:
            break
    described = {row["id"]: row for row in describe(list(ring_of))}
    nodes = [{**described[i], "hops": ring_of[i]} for i in ring_of if i in described]
    edges = {
        (t["source"], t["target"], t["type"]): t
        for t in ties(list(ring_of))
        if t["source"] in ring_of and t["target"] in ring_of
    }
    ordered = sorted(edges.values(), key=lambda t: (-t["weight"], t["source"], t["target"], t["type"]))
    return {"nodes": nodes, "edges": [_edge(t) for t in ordered], "truncated": truncated}


def _edge(tie: dict) -> dict:
    return {"source": tie["source"], "target": tie["target"], "type": tie["type"], "weight": float(tie["weight"])}


def chunks(ids: Sequence[str], size: int = 500) -> list[Sequence[str]]:
    """Ids in batches small enough for one statement's parameters."""
    return [ids[i : i + size] for i in range(0, len(ids), size)]

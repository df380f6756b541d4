"""Maximum-weight matching for big blocks: an exact assignment on the double cover.

Blossom (rustworkx) is exact but its time grows steeply on large, nearly-tied graphs (a
12,000-learner block took minutes). The matching LP without odd-set constraints equals a
max-weight *assignment* on the double cover (every learner is a bidder and an item; an
edge i-j gives bids i->j and j->i; every bidder may also stay alone at value 0). Its
optimum bounds the matching optimum from above and is nearly always almost integral.

1. scipy's sparse LAPJV (``min_weight_full_bipartite_matching``) solves that assignment
   exactly, with every edge nudged by a tiny symmetric random amount so that the optimum
   is made of 2-cycles (pairs) and a few odd cycles rather than of arbitrary long cycles
   among tied learners;
2. the assignment is a set of paths and cycles; a tiny dynamic programme picks the best
   matching along each (2-cycles are pairs; even cycles lose nothing);
3. a short repair pairs up leftovers and tries augmenting paths u-a=b-v;
4. a polish re-solves exactly (blossom) the learners the assignment left unsettled (on odd
   cycles and paths) with their graph neighbours and partners, a region of at most
   ``POLISH_MAX`` nodes at a time.

This replaced a Jacobi auction (Bertsekas, numpy): on a queue of near-identical learners
(bench/import.py's export: 8 distinct pair scores in a block) its price wars ran for
~9,000 rounds a block, 3-4 s at 2,500 learners and minutes at 12,500, where the
assignment takes 0.05-1 s and reaches the blossom optimum as closely (measured in
bench/README.md). Tests compare it with the exact blossom.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import rustworkx as rx
import scipy.sparse as sp
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
NUDGE = 1e-6  # per edge, in score units: far below the thousandths blossom sees
POLISH_MAX = 1500  # blossom stays fast on a thousand or two sparse nodes


def auction_matching(n: int, a: I64, b: I64, w: F64, *,
                     quick: bool = False) -> list[tuple[int, int]]:
    """A near-maximum-weight matching of the graph (local node ids 0..n-1, w > 0).
    ``quick``: skip the exact polish (for rough duals)."""
    if n == 0 or len(a) == 0:
        return []
    owned = _assignment(n, a, b, w)
    paired = (owned >= 0) & (owned[np.maximum(owned, 0)] == np.arange(n))
    weight = _edge_lookup(a, b, w, ~paired)  # only the few nodes not in a 2-cycle matter
    mate = _round(n, owned, weight)
    _repair(mate, a, b, w, weight)
    if not quick:
        held = np.zeros(n, dtype=bool)
        held[owned[owned >= 0]] = True
        _polish(mate, ~paired & ((owned >= 0) | held), a, b, w)
    return sorted((i, int(j)) for i, j in enumerate(mate.tolist()) if j > i)


def _assignment(n: int, a: I64, b: I64, w: F64) -> I64:
    """owned[i] = the item bidder i holds in a maximum-weight assignment of the double
    cover, or -1 for staying alone.

    Every bidder i gets a private "alone" column n + i of value 0, so a full matching of
    the bidders always exists and scipy's sparse LAPJV solves it exactly. All values are
    shifted by the same constant (every bidder takes exactly one column, so the optimum
    does not move) because the sparse matrix would drop explicit zeros.

    Each edge gets one tiny random nudge, the same in both directions: on a queue of
    near-identical learners the optimum is massively tied, and a solver picks some
    optimal assignment of long alternating cycles; with the ties broken symmetrically
    the optimum is unique but for the orientation of odd cycles, so it is made of
    2-cycles (pairs) and a few odd cycles, which the polish settles. The nudges add up
    to less than ``NUDGE`` per learner.
    """
    nudge = np.random.default_rng(len(a)).random(len(a)) * NUDGE
    shift = float(w.max()) + 1.0
    me = np.arange(n)
    value = np.concatenate([w + nudge + shift, w + nudge + shift, np.full(n, shift)])
    rows = np.concatenate([a, b, me])
    cols = np.concatenate([b, a, n + me])
    bids = sp.csr_matrix((value, (rows, cols)), shape=(n, 2 * n))
    bidder, item = min_weight_full_bipartite_matching(bids, maximize=True)
    owned = np.full(n, -1, dtype=np.int64)
    owned[bidder] = np.where(item < n, item, -1)
    return owned


def _edge_lookup(
    a: I64, b: I64, w: F64, nodes: npt.NDArray[np.bool_]
) -> dict[tuple[int, int], float]:
    """Weights of the edges touching ``nodes``, both directions."""
    out: dict[tuple[int, int], float] = {}
    sel = nodes[a] | nodes[b]
    for x, y, v in zip(a[sel].tolist(), b[sel].tolist(), w[sel].tolist(), strict=True):
        out[(x, y)] = out[(y, x)] = v
    return out


def _round(n: int, owned: I64, weight: dict[tuple[int, int], float]) -> I64:
    """Best matching along every path and cycle of the assignment."""
    mate = np.full(n, -1, dtype=np.int64)
    two = (owned >= 0) & (owned[np.maximum(owned, 0)] == np.arange(n))
    mate[two] = owned[two]
    holder = np.full(n, -1, dtype=np.int64)
    has = owned >= 0
    holder[owned[has]] = np.nonzero(has)[0]
    seen = two.copy()
    for start in np.nonzero(~two & has)[0].tolist():
        if seen[start]:
            continue
        # walk back to the head of a path (or around a cycle), then forward
        head = start
        while holder[head] >= 0 and holder[head] != start and not seen[holder[head]]:
            head = int(holder[head])
        chain = [head]
        seen[head] = True
        nxt = int(owned[head])
        while nxt >= 0 and not seen[nxt]:
            chain.append(nxt)
            seen[nxt] = True
            nxt = int(owned[nxt])
        cycle = nxt == head and len(chain) > 2
        for x, y in _best_on_chain(chain, cycle, weight):
            mate[x], mate[y] = y, x
    return mate


def _best_on_chain(
    chain: list[int], cycle: bool, weight: dict[tuple[int, int], float]
) -> list[tuple[int, int]]:
    def path(nodes: list[int]) -> tuple[float, list[tuple[int, int]]]:
        best: list[tuple[float, list[tuple[int, int]]]] = [(0.0, []), (0.0, [])]
        for t in range(1, len(nodes)):
            skip = best[-1]
            v = weight.get((nodes[t - 1], nodes[t]))
            take = (best[-2][0] + v, [*best[-2][1], (nodes[t - 1], nodes[t])]) if v else skip
            best.append(take if take[0] > skip[0] else skip)
        return best[-1]

    if not cycle:
        return path(chain)[1]
    options = [path(chain[1:]), path(chain[:-1])]  # leave out the first or the last node
    closing = weight.get((chain[-1], chain[0]))
    if closing and len(chain) > 3:
        v, pairs = path(chain[1:-1])
        options.append((v + closing, [*pairs, (chain[-1], chain[0])]))
    return max(options, key=lambda o: o[0])[1]


def _repair(mate: I64, a: I64, b: I64, w: F64, weight: dict[tuple[int, int], float]) -> None:
    """Pair up free neighbours, then augment along free-matched-matched-free paths."""
    free = mate < 0
    both = np.flatnonzero(free[a] & free[b])
    for k in both[np.argsort(-w[both], kind="stable")].tolist():
        x, y = int(a[k]), int(b[k])
        if free[x] and free[y]:
            mate[x], mate[y] = y, x
            free[x] = free[y] = False
    matched = np.flatnonzero(mate[a] == b)  # the weight of every pair now matched
    weight = dict(weight)
    for x, y, v in zip(a[matched].tolist(), b[matched].tolist(), w[matched].tolist(), strict=True):
        weight[(x, y)] = weight[(y, x)] = v
    adj: dict[int, list[int]] = {}
    touch = np.flatnonzero(free[a] | free[b])
    for x, y in zip(a[touch].tolist(), b[touch].tolist(), strict=True):
        adj.setdefault(x, []).append(y)
        adj.setdefault(y, []).append(x)
    for u in np.nonzero(free)[0].tolist():
        if mate[u] >= 0:
            continue
        move = _best_augment(mate, u, adj, weight)
        if move is not None:
            x, y, v = move
            mate[u], mate[x], mate[y], mate[v] = x, u, v, y


def _best_augment(mate: I64, u: int, adj: dict[int, list[int]],
                  weight: dict[tuple[int, int], float]) -> tuple[int, int, int] | None:
    """The best path free ``u`` - x = y - free v (x, y matched) that gains weight, if any."""
    best, move = 1e-9, None
    for x in adj.get(u, []):
        y = int(mate[x])
        if y < 0:
            continue
        for v in adj.get(y, []):
            if v != u and mate[v] < 0:
                gain = weight[(u, x)] + weight[(y, v)] - weight[(x, y)]
                if gain > best:
                    best, move = gain, (x, y, v)
    return move


def _polish(mate: I64, seeds: npt.NDArray[np.bool_], a: I64, b: I64, w: F64,
            limit: int = POLISH_MAX) -> None:
    """Exact blossom around the nodes the assignment left unsettled (``seeds``: on odd
    cycles and paths), a region at a time.

    A region is a batch of seeds with their graph neighbours (augmenting paths between two
    odd cycles run through pairs already settled) and everyone's current partner, so each
    pair is wholly inside or outside; the current matching is feasible inside, so each
    exact solve can only gain. Regions hold at most about ``limit`` nodes: blossom stays
    fast on a thousand or two sparse nodes, not on a whole big block.
    """
    order = np.argsort(np.r_[a, b], kind="stable")
    ends = np.r_[b, a][order]  # neighbours, grouped by node
    start = np.searchsorted(np.r_[a, b][order], np.arange(len(mate) + 1))
    pending = np.flatnonzero(seeds).tolist()
    while pending:
        nodes = np.zeros(len(mate), dtype=bool)
        count = 0
        while pending and (count == 0 or count < limit):
            x = pending.pop()
            near = ends[start[x]:start[x + 1]]
            nodes[x] = True
            nodes[near] = True
            count += 1 + len(near)
        nodes[mate[nodes & (mate >= 0)]] = True  # keep every pair inside or outside whole
        _solve_region(mate, nodes, a, b, w)


def _solve_region(mate: I64, nodes: npt.NDArray[np.bool_], a: I64, b: I64, w: F64) -> None:
    """Replace the matching inside ``nodes`` (closed under ``mate``) by an exact one."""
    if nodes.sum() < 2:
        return
    sel = np.flatnonzero(nodes[a] & nodes[b])
    ids = np.flatnonzero(nodes)
    local = np.full(len(mate), -1, dtype=np.int64)
    local[ids] = np.arange(len(ids))
    g = rx.PyGraph(multigraph=False)
    g.add_nodes_from(range(len(ids)))
    wi = np.rint(w[sel] * 1000).astype(np.int64)
    g.add_edges_from(
        list(zip(local[a[sel]].tolist(), local[b[sel]].tolist(), wi.tolist(), strict=True))
    )
    better = rx.max_weight_matching(g, max_cardinality=False, weight_fn=int)
    mate[ids] = -1
    for u, v in better:
        x, y = int(ids[u]), int(ids[v])
        mate[x], mate[y] = y, x

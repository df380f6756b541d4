"""Maximum-weight matching for big blocks: an auction on the bipartite double cover, and
an exact sparse assignment when the auction gets stuck in a price war.

Blossom (rustworkx) is exact but its time grows steeply on large, nearly-tied graphs (a
12,000-learner block took minutes). The matching LP without odd-set constraints equals a
max-weight *assignment* on the double cover (every learner is a bidder and an item; an
edge i-j gives bids i->j and j->i; every bidder may also stay alone at value 0). Its
optimum bounds the matching optimum from above and is nearly always almost integral.

1. a Jacobi auction (Bertsekas), vectorised in numpy, solves that assignment to within
   ``eps`` per bidder (single phase from zero prices, which keeps it exact for the
   unbalanced case), stopping once only a few bidders still compete;
2. at most ``ROUNDS`` rounds: on a queue of near-identical learners (bench/import.py's
   export: a handful of distinct pair scores in a block) bidders fight over the same items
   for ~20,000 rounds (3-4 s at 2,500 learners, minutes at 12,500). Then everyone not yet
   in a 2-cycle is assigned exactly by scipy's sparse LAPJV, with symmetric tie-breaking
   nudges so that its optimum is 2-cycles and a few odd cycles (0.05-2 s on such blocks;
   on a realistic 12,800-learner block it would take ~10x the auction, so it is not the
   first choice);
3. the assignment is a set of paths and cycles; a tiny dynamic programme picks the best
   matching along each (2-cycles are pairs; even cycles lose nothing);
4. a short repair pairs up leftovers and tries augmenting paths u-a=b-v;
5. a polish re-solves exactly (blossom) the learners left unsettled: after the auction,
   all of them with their partners when they are at most ``POLISH_MAX`` (measured: 99.4 %
   -> 99.9 % of blossom on the whole graph, in milliseconds); after the exact assignment,
   the few on odd cycles with their graph neighbours, in regions of ``REGION_MAX``.

Tests compare it with the exact blossom; the bench reports the gap on real-sized queues.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import rustworkx as rx
import scipy.sparse as sp
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from core.matching.duals import assignment_duals

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
EPS = 0.02
ROUNDS = 4000  # auction rounds at most (a realistic 12,800-learner block needs ~2,600)
NUDGE = 1e-6  # per edge, in score units: far below the thousandths blossom sees
POLISH_MAX = 1500  # blossom stays fast on a thousand or two sparse nodes
# Arcs kept per bidder (its best by weight). Hubs (Flexible learners, long waiters) hold
# thousands of candidate edges; 40 dropped edges that column generation had added for good
# reason (measured on the 100,000 bench's 3,836-learner block: 99.69 % of blossom on the
# same graph with 40, 99.97 % with 80).
DEGREE = 80
REGION_MAX = 800  # nodes of one polish region after a price war (see _polish_regions)


def auction_matching(n: int, a: I64, b: I64, w: F64, *, eps: float = EPS,
                     degree: int = DEGREE, quick: bool = False) -> list[tuple[int, int]]:
    """A near-maximum-weight matching of the graph (local node ids 0..n-1, w > 0).
    ``quick``: stop the auction earlier and skip the exact polish (for rough duals)."""
    return auction_with_duals(n, a, b, w, eps=eps, degree=degree, quick=quick)[0]


def auction_with_duals(n: int, a: I64, b: I64, w: F64, *, eps: float = EPS,
                       degree: int = DEGREE, quick: bool = False, matching: bool = True
                       ) -> tuple[list[tuple[int, int]], F64]:
    """``auction_matching`` and near-optimal duals of the fractional matching LP, y per
    node with y_i + y_j >= w_ij (nearly) on every edge: from the auction's prices when it
    settled (half of bidder i's profit plus item i's price: the double cover's assignment
    duals made symmetric, within ``eps``), else from the assignment (core/matching/duals.py).
    ``matching=False``: the duals only (no rounding, repair or polish; the pairs are [])."""
    if n == 0 or len(a) == 0:
        return [], np.zeros(n)
    nb, wt = _padded(n, a, b, w, degree)
    owned, price, settled = _auction(n, nb, wt, eps * (5 if quick else 1),
                                     n // 60 if quick else n // 250, ROUNDS)
    paired = _mutual(owned)
    if settled:
        duals = (np.maximum((wt - price[nb]).max(axis=1), 0.0) + price) / 2
    else:  # a price war among tied learners: the exact assignment ends it
        rest = np.flatnonzero(~paired)
        owned[rest] = _assignment(n, rest, a, b, w)
        paired = _mutual(owned)
        duals = assignment_duals(n, a, b, w, owned)
    if not matching:
        return [], duals
    # _round reads only the edges the assignment holds (x, owned[x]): consecutive nodes of
    # its chains. (All edges off 2-cycles, the dict this was, held 3.3 million of the 3.5
    # million edges of a 100,000-learner round: 2 s.) _repair adds what it reads.
    weight = _edge_lookup(a, b, w, (owned[a] == b) | (owned[b] == a))
    mate = _round(n, owned, weight)
    _repair(mate, a, b, w, weight)
    if not quick and settled:
        _polish(mate, ~paired, a, b, w)
    elif not quick:
        held = np.zeros(n, dtype=bool)
        held[owned[owned >= 0]] = True
        _polish_regions(mate, ~paired & ((owned >= 0) | held), a, b, w)
    return sorted((i, int(j)) for i, j in enumerate(mate.tolist()) if j > i), duals


def _mutual(owned: I64) -> npt.NDArray[np.bool_]:
    """Nodes in a 2-cycle of the assignment (i holds j and j holds i): a pair."""
    out: npt.NDArray[np.bool_] = (owned >= 0) & (owned[np.maximum(owned, 0)] == np.arange(
        len(owned)))
    return out


def _padded(n: int, a: I64, b: I64, w: F64, degree: int) -> tuple[I64, F64]:
    """Each bidder's best ``degree`` arcs as an (n, d) table (-inf padding)."""
    src = np.concatenate([a, b])
    dst = np.concatenate([b, a])
    ww = np.concatenate([w, w])
    # by bidder, best arc first: one float key (weights are far below 1e6) sorts faster
    # than a two-key lexsort
    order = np.argsort(src * 1e6 - np.clip(ww, 0, 1e6 - 1))
    src, dst, ww = src[order], dst[order], ww[order]
    first = np.searchsorted(src, np.arange(n))
    rank = np.arange(len(src)) - first[src]
    keep = rank < degree
    src, dst, ww, rank = src[keep], dst[keep], ww[keep], rank[keep]
    d = int(rank.max()) + 1
    nb = np.zeros((n, d), dtype=np.int64)
    wt = np.full((n, d), -np.inf)
    nb[src, rank] = dst
    wt[src, rank] = ww
    return nb, wt


def _auction(n: int, nb: I64, wt: F64, eps: float, stop: int,
             rounds: int) -> tuple[I64, F64, bool]:
    """owned[i] = the item bidder i holds, or -1 for staying alone; the items' prices; and
    whether it settled (at most ``stop`` bidders left competing) within ``rounds`` rounds.

    Stops when only a handful of bidders are still fighting: an auction's long tail is
    thousands of rounds of a dozen bidders nudging prices by ``eps`` (measured: 190,000
    rounds on a 12,800-learner block for +0.01 % of score). Those few are left to the
    repair step. At most ``rounds`` rounds: among tied learners the bidders keep fighting
    for the same few items (price wars of ~20,000 rounds on a 2,500-learner dense block);
    whoever is still unsettled then goes to the exact assignment."""
    price = np.zeros(n)
    owner = np.full(n, -1, dtype=np.int64)
    owned = np.full(n, -1, dtype=np.int64)
    todo = np.arange(n)
    stop = max(16, stop)
    while len(todo) > stop and rounds > 0:
        rounds -= 1
        vals = wt[todo] - price[nb[todo]]
        rows = np.arange(len(todo))
        j1 = np.argmax(vals, axis=1)
        v1 = vals[rows, j1]
        vals[rows, j1] = -np.inf
        v2 = np.maximum(vals.max(axis=1), 0.0)  # staying alone is always worth 0
        bidding = v1 > 0
        todo, j1, v1, v2 = todo[bidding], j1[bidding], v1[bidding], v2[bidding]
        if not len(todo):
            break
        item = nb[todo, j1]
        bid = price[item] + v1 - v2 + eps
        order = np.lexsort((-bid, item))  # the highest bid per item wins
        head = np.ones(len(order), dtype=bool)
        head[1:] = item[order][1:] != item[order][:-1]
        win = order[head]
        items, winners = item[win], todo[win]
        previous = owner[items]
        outbid = previous[previous >= 0]
        owned[outbid] = -1
        owner[items] = winners
        owned[winners] = items
        price[items] = bid[win]
        lost = np.ones(len(todo), dtype=bool)
        lost[win] = False
        todo = np.concatenate([todo[lost], outbid])
    return owned, price, len(todo) <= stop or rounds > 0


def _assignment(n: int, nodes: I64, a: I64, b: I64, w: F64) -> I64:
    """For each of ``nodes`` (ascending), the node it holds in a maximum-weight assignment
    of the double cover of the graph they induce, or -1 for staying alone.

    Every bidder gets a private "alone" column of value 0, so a full matching of the
    bidders always exists and scipy's sparse LAPJV solves it exactly. All values are
    shifted by the same constant (every bidder takes exactly one column, so the optimum
    does not move) because the sparse matrix would drop explicit zeros.

    Each edge gets one tiny random nudge, the same in both directions: on a queue of
    near-identical learners the optimum is massively tied, and a solver picks some
    optimal assignment of long alternating cycles; with the ties broken symmetrically
    the optimum is unique but for the orientation of odd cycles, so it is made of
    2-cycles (pairs) and a few odd cycles, which the polish settles. The nudges add up
    to less than ``NUDGE`` per learner.
    """
    local = np.full(n, -1, dtype=np.int64)
    local[nodes] = np.arange(len(nodes))
    inside = (local[a] >= 0) & (local[b] >= 0)
    la, lb, lw = local[a[inside]], local[b[inside]], w[inside]
    k = len(nodes)
    nudge = np.random.default_rng(len(la)).random(len(la)) * NUDGE
    shift = float(lw.max()) + 1.0 if len(lw) else 1.0
    me = np.arange(k)
    value = np.concatenate([lw + nudge + shift, lw + nudge + shift, np.full(k, shift)])
    rows = np.concatenate([la, lb, me])
    cols = np.concatenate([lb, la, k + me])
    bids = sp.csr_matrix((value, (rows, cols)), shape=(k, 2 * k))
    bidder, item = min_weight_full_bipartite_matching(bids, maximize=True)
    out = np.full(k, -1, dtype=np.int64)
    out[bidder] = np.where(item < k, nodes[np.minimum(item, k - 1)], -1)
    return out


def _edge_lookup(a: I64, b: I64, w: F64, sel: npt.NDArray[np.bool_],
                 into: dict[tuple[int, int], float] | None = None
                 ) -> dict[tuple[int, int], float]:
    """Weights of the selected edges (a mask over them), both directions, added to
    ``into`` (or a new dict)."""
    out: dict[tuple[int, int], float] = {} if into is None else into
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
    # every weight an augmenting path u - x = y - v reads: the pairs now matched, and the
    # edges touching a free node (u's and v's; free nodes only get fewer)
    touching = free[a] | free[b]
    weight = _edge_lookup(a, b, w, (mate[a] == b) | touching, dict(weight))
    adj: dict[int, list[int]] = {}
    touch = np.flatnonzero(touching)
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


def _polish(mate: I64, unsettled: npt.NDArray[np.bool_], a: I64, b: I64, w: F64,
            limit: int = POLISH_MAX) -> None:
    """Exact blossom on the unsettled nodes, the free ones and their current partners."""
    nodes = unsettled | (mate < 0)
    nodes[mate[nodes & (mate >= 0)]] = True  # keep every pair inside or outside whole
    if nodes.sum() < 2 or nodes.sum() > limit:
        return
    _solve_region(mate, nodes, a, b, w)


def _polish_regions(mate: I64, seeds: npt.NDArray[np.bool_], a: I64, b: I64, w: F64,
                    limit: int = REGION_MAX) -> None:
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

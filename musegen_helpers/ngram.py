"""Markov chains and n-gram models over event tokens: count, sample, score.

A melody is a sequence of event tokens (``0–127`` a new note of that MIDI pitch, ``HOLD``,
``REST``, ``END``; see :mod:`musegen_helpers.representation`), one token per grid step.

**Order.** Every model here takes ``order`` in the n-gram sense: a model of order *n* predicts
the next token from the *n − 1* tokens before it (``context_length = order - 1``). Order 1 is
the unigram (no context), order 2 the bigram — what a Markov-chain textbook calls a chain "of
order 1" — order 3 the trigram. One meaning for every class:

* :class:`MarkovChain` — the textbook chain: next-token frequencies after each context,
  optionally with add-k smoothing. ``MarkovChain(order=3)`` looks at the 2 previous tokens.
* :class:`KneserNey` — interpolated modified Kneser–Ney smoothing (Chen & Goodman 1998), the
  strongest classic n-gram model and lesson 03's baseline for the LSTM. ``KneserNey(order=8)`` is
  an 8-gram: it looks at 7 previous tokens. Any order up to 32 fits in seconds.
* :class:`WittenBell` — interpolated Witten–Bell smoothing, which shows a trap: it gets *worse*
  when the context grows long, because it trusts a context seen once far too much.

Every tune is read from its own start: the context before the first token is padded with a
beginning-of-tune symbol ``BOS`` (it is never predicted), and ``END`` is predicted like any
other token when the tunes contain it. Kneser–Ney reads a history that reaches back past the
tune's start as *one* ``BOS`` followed by the tokens so far (KenLM's ``<s>``): a longer run of
``BOS`` says nothing new, and each extra one would discount the same counts once more. All models give

* ``log2_probs(tunes)`` and ``name`` — the scoring protocol of :mod:`musegen_helpers.scoring`, so
  ``scoring.bits_per_token(model, tunes)`` compares an n-gram with an LSTM on the same tokens;
* ``next_token_probs(context)`` — the distribution over the vocabulary after a context;
* ``sample(length, seed, primer, temperature, top_k, top_p, mask)`` — a new tune, drawn with
  :func:`musegen_helpers.sampling.sample`; the same seed gives the same notes.

How much a sample copies from the training tunes is measured by
:func:`musegen_helpers.metrics.longest_shared_run` (high orders copy).

Lesson: 02_rule_based (Markov chains), 03_lstm (Kneser–Ney baseline), 05_evaluation
"""

from __future__ import annotations

import math
import numbers
from typing import Sequence

import numpy as np

from . import sampling
from .errors import LimitError
from .representation import END, VOCAB_SIZE

__all__ = [
    "BOS", "MAX_ORDER", "MAX_SAMPLE_STEPS", "MarkovChain", "KneserNey", "WittenBell", "best_kneser_ney",
]

BOS = VOCAB_SIZE  # beginning-of-tune padding symbol: appears in contexts only, never predicted
MAX_ORDER = 32
#: Longest sample (tokens). 20 000 sixteenth-note steps are 1 250 bars of 4/4, about an hour of
#: music; a longer request is almost surely a typo, and would keep the kernel busy for minutes.
MAX_SAMPLE_STEPS = 20_000


# ---------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------
def _as_tunes(sequences, vocab_size: int, what: str = "sequences") -> list[np.ndarray]:
    """A list of 1-D int64 arrays with every token in ``0 .. vocab_size - 1``."""
    if isinstance(sequences, np.ndarray) and sequences.ndim == 1 and sequences.dtype != object:
        raise ValueError(f"{what} must be a list of tunes (each an array of tokens); you passed one "
                         "array of tokens — wrap it in a list: [tokens].")
    try:
        items = list(sequences)
    except TypeError:
        raise ValueError(f"{what} must be a list of tunes (arrays of int tokens), got {type(sequences).__name__}.")
    tunes = []
    for i, s in enumerate(items):
        if isinstance(s, numbers.Number):
            raise ValueError(f"{what} must be a list of tunes, but item {i} is a single number ({s!r}); "
                             "wrap one tune's tokens in a list: [tokens].")
        a = np.asarray(s)
        if a.size == 0:
            tunes.append(np.zeros(0, dtype=np.int64))
            continue
        if a.ndim != 1:
            raise ValueError(f"tune {i} of {what} has shape {a.shape}; each tune must be a 1-D array of tokens.")
        if not np.issubdtype(a.dtype, np.integer):
            if np.issubdtype(a.dtype, np.floating) and np.all(a == np.round(a)):
                a = a.astype(np.int64)
            else:
                raise ValueError(f"tune {i} of {what} holds {a.dtype} values; tokens are whole numbers.")
        a = a.astype(np.int64)
        bad = (a < 0) | (a >= vocab_size)
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise ValueError(f"tune {i} of {what} has token {int(a[j])} at step {j}, outside the vocabulary "
                             f"0–{vocab_size - 1} (0–127 pitches, 128 HOLD, 129 REST, 130 END).")
        tunes.append(a)
    return tunes


def _pad_tunes(tunes: list[np.ndarray], pad: int, bos: int):
    """Concatenate tunes, each preceded by ``pad`` BOS symbols.

    Returns (padded symbols int64, positions of the real tokens, tune index of each real token).
    """
    lengths = np.array([len(t) for t in tunes], dtype=np.int64)
    total = int(lengths.sum()) + pad * len(tunes)
    x = np.full(total, bos, dtype=np.int64)
    is_token = np.zeros(total, dtype=bool)
    starts = np.cumsum(lengths + pad) - lengths     # where each tune's first token goes
    for s, t in zip(starts, tunes):
        x[s:s + len(t)] = t
        is_token[s:s + len(t)] = True
    positions = np.flatnonzero(is_token)
    tune_of = np.repeat(np.arange(len(tunes)), lengths)
    return x, positions, tune_of


def _run_starts(sorted_values: np.ndarray) -> np.ndarray:
    """Boolean array marking where a new value starts in a sorted array."""
    new = np.ones(len(sorted_values), dtype=bool)
    if len(sorted_values) > 1:
        new[1:] = sorted_values[1:] != sorted_values[:-1]
    return new


def _count_sorted(values: np.ndarray):
    """Distinct values of an int array and how often each occurs (sort-based, fast)."""
    s = np.sort(values)
    new = _run_starts(s)
    starts = np.flatnonzero(new)
    return s[new], np.diff(np.append(starts, len(s)))


# ---------------------------------------------------------------------------------------
# The counts: a compressed suffix tree of the tokens' histories
# ---------------------------------------------------------------------------------------
def _concat_ranges(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + n) for s, n in zip(starts, sizes)])`` without a Python loop."""
    total = int(sizes.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.cumsum(sizes) - sizes
    return np.arange(total, dtype=np.int64) - np.repeat(offsets - starts, sizes)


def _history_order(x: np.ndarray, tpos: np.ndarray, max_context: int):
    """Sort the training tokens by their history read backwards (previous token first, then the
    one before, ...) and measure how many tokens each history shares with the one sorted before it.

    Prefix doubling: the rank of "2m tokens before p" is the rank of the pair ("m tokens before
    p", "m tokens before p - m"). While the pair fits in an int64 it *is* the rank (no sort);
    after that ranks are renumbered 0, 1, 2, ... by one sort. Order 32 needs three sorts.

    Returns ``(order, lcp)``: ``tpos[order]`` sorted; ``lcp[j]`` (capped at ``max_context``) is
    the length of the shared history of entries j-1 and j, ``lcp[0] = -1``.
    """
    T = len(tpos)
    lcp = np.zeros(T, dtype=np.int64)
    if T:
        lcp[0] = -1
    if max_context == 0 or T < 2:
        return np.arange(T), lcp
    n = len(x)
    rank = np.empty(n, dtype=np.int64)       # the 1 token before each position
    rank[0] = x.max() + 1
    rank[1:] = x[:-1]
    bound = int(x.max()) + 2                 # ranks are < bound
    ranks, span = [rank], 1
    while span < max_context:
        r = ranks[-1]
        if bound * bound >= 2**62:           # renumber densely so the pair fits in an int64
            order = np.argsort(r)
            new = _run_starts(r[order])
            r = np.empty(n, dtype=np.int64)
            r[order] = np.cumsum(new) - 1
            bound = int(r[order[-1]]) + 1
            ranks[-1] = r
        older = np.empty(n, dtype=np.int64)  # rank of the history `span` positions earlier
        older[span:] = r[:-span]
        older[:span] = r[0]
        ranks.append(r * bound + older)
        bound *= bound
        span *= 2
    final = ranks[-1]
    order = np.argsort(final[tpos])
    p, q = tpos[order[:-1]], tpos[order[1:]]
    same = final[p] == final[q]
    shared = np.where(same, span, 0)
    step = span
    for r in reversed(ranks[:-1]):
        step //= 2
        pi, qi = np.maximum(p - shared, 0), np.maximum(q - shared, 0)
        shared = shared + step * ((r[pi] == r[qi]) & ~same)
    lcp[1:] = np.minimum(shared, max_context)
    return order, lcp


class _Counts:
    """Counts of every context of up to ``max_context`` tokens, as a compressed suffix tree.

    The training tokens are sorted by their history (previous token first); the tokens whose
    last k tokens of history agree form one contiguous run of that order. A *node* is such a run
    over the range of context lengths ``k_lo..k_hi`` where it stays the same set: all its counts
    are the same at each of those lengths, so it is stored once. A run of one token (a context
    seen once) is not stored at all: it is named by its place ``j`` in the sorted order (node id
    ``-(j + 1)``), and a query follows it by comparing tokens with that training history.
    So the memory is O(tokens), whatever the order, and fitting needs ~log2(order) sorts plus
    work proportional to the shared contexts.

    Kneser–Ney's continuation count of (context, w) — how many different tokens precede it — is
    the number of child runs (one token longer context) that contain w. Below the length where a
    node splits, every member has the same older token, so that count is 1 for each follower.
    """

    def __init__(self, tunes: list[np.ndarray], max_context: int, continuation: bool, vocab_size: int):
        self.vocab_size = V = vocab_size
        self.bos = vocab_size
        self.n_symbols = S = vocab_size + 1
        self.max_context = L = max_context
        self.continuation = continuation
        self.x, self.tpos, tune_of = _pad_tunes(tunes, max_context, self.bos)
        T = self.n_tokens = len(self.tpos)
        if T == 0:
            raise ValueError("there are no tokens to learn from: every tune is empty.")
        x = self.x
        words = x[self.tpos]
        lengths = np.bincount(tune_of, minlength=len(tunes))
        first = np.cumsum(lengths) - lengths
        offset = np.arange(T) - first[tune_of]          # tokens before this one in its tune
        order, lcp = _history_order(x, self.tpos, L)
        self.sorted_pos = self.tpos[order]               # padded position of each sorted token
        self.sorted_words = words[order]
        sorted_bos_depth = offset[order] + 1             # history depth from which it is all BOS
        lcp_ext = np.append(lcp, -1)

        # ---- nodes: runs of >= 2 tokens, created top-down by context length ----------------
        node_a, node_size, node_klo, node_khi = [], [], [], []
        child_keys, child_ids = [], []
        ng_node, ng_word, ng_count = [], [], []
        single_parent, single_j = [], []
        branch_at: dict[int, list] = {}                  # context length -> nodes that split there
        n_nodes = 0

        def add_nodes(a, b, k, parent):
            nonlocal n_nodes
            size = b - a
            multi = size >= 2
            ids = np.where(multi, 0, -(a + 1))
            ids[multi] = n_nodes + np.arange(int(multi.sum()))
            am, bm = a[multi], b[multi]
            if len(am):
                idx = np.empty(2 * len(am), dtype=np.int64)
                idx[0::2], idx[1::2] = am + 1, bm
                khi = np.minimum(np.minimum.reduceat(lcp_ext, idx)[0::2], L)
                node_a.append(am); node_size.append(bm - am); node_klo.append(np.full(len(am), k))
                node_khi.append(khi)
                members = _concat_ranges(am, bm - am)
                owner = np.repeat(ids[multi], bm - am)
                keys, counts = _count_sorted(owner * V + self.sorted_words[members])
                ng_node.append(keys // V); ng_word.append(keys % V); ng_count.append(counts)
                n_nodes += len(am)
                for depth in np.unique(khi[khi < L]):
                    pick = khi == depth
                    branch_at.setdefault(int(depth), []).append((ids[multi][pick], am[pick], bm[pick]))
            if parent is not None:
                sym = x[self.sorted_pos[a] - k]
                child_keys.append(parent * S + sym); child_ids.append(ids)
                single_parent.append(parent[~multi]); single_j.append(a[~multi])

        add_nodes(np.array([0]), np.array([T]), 0, None)
        # where each node splits: the sorted positions whose shared history with the previous
        # entry is exactly k - 1 tokens long (grouped by that length once, by one stable sort)
        by_lcp = np.argsort(lcp[1:], kind="stable") + 1
        bucket = np.searchsorted(lcp[by_lcp], np.arange(L + 1))
        bucket = np.append(bucket, len(by_lcp))
        for k in range(1, L + 1):
            if k - 1 not in branch_at:
                continue
            ids, pa, pb = (np.concatenate(v) for v in zip(*branch_at.pop(k - 1)))
            o = np.argsort(pa)
            ids, pa, pb = ids[o], pa[o], pb[o]
            splits = by_lcp[bucket[k - 1]:bucket[k]]
            starts = np.concatenate([pa, splits])
            is_first = np.concatenate([np.ones(len(pa), bool), np.zeros(len(splits), bool)])
            o = np.argsort(starts, kind="stable")
            starts, is_first = starts[o], is_first[o]
            which = np.cumsum(is_first) - 1               # index of the parent of each child
            ends = np.append(starts[1:], T)
            last = np.append(is_first[1:], True)          # last child of its parent
            ends = np.where(last, pb[which], ends)
            add_nodes(starts, ends, k, ids[which])

        cat = lambda parts, dt=np.int64: np.concatenate(parts).astype(dt) if parts else np.zeros(0, dt)
        self.node_a = cat(node_a)
        self.node_size = cat(node_size)
        self.node_klo = cat(node_klo)
        self.node_khi = cat(node_khi)
        self.node_bos = sorted_bos_depth[self.node_a] if len(self.node_a) else np.zeros(0, np.int64)
        ck, ci = cat(child_keys), cat(child_ids)
        o = np.argsort(ck)
        self.child_keys, self.child_ids = ck[o], ci[o]
        ng_node, ng_word, ng_raw = cat(ng_node), cat(ng_word), cat(ng_count)
        self.ng_keys = ng_node * V + ng_word            # sorted: node ids grow, words sorted within
        self.ng_raw = ng_raw
        M = len(self.node_a)
        bc = lambda w: np.bincount(ng_node, weights=w, minlength=M).astype(np.int64)
        self.n123 = np.stack([bc(ng_raw == 1), bc(ng_raw == 2), bc(ng_raw >= 3)]) if M else np.zeros((3, 0), np.int64)
        self.distinct = np.bincount(ng_node, minlength=M).astype(np.int64)
        n4 = bc(ng_raw == 4) if M else np.zeros(0, np.int64)
        s_par, s_j = cat(single_parent), cat(single_j)
        # singletons appear as children at depth k_lo; the root can be one when T == 1
        if T == 1:
            self.root = -1
        else:
            self.root = 0
        self.ng_adj = self.n123_adj = self.total_adj = None

        # ---- count-of-counts per context length, for the discounts ---------------------------
        self.coc_raw = np.zeros((L + 1, 4), dtype=np.int64)
        self.coc_adj = np.zeros((L + 1, 4), dtype=np.int64)
        # a context that reaches back past the tune's start holds BOS; Kneser-Ney reads it with
        # one BOS only (a longer run of BOS says nothing more), so the count-of-counts of a
        # context length leave out the contexts with two or more BOS (k > bos depth)
        if T > 1:
            s_klo = self._single_klo(ck, ci, L)
            s_bos = sorted_bos_depth[s_j]
        else:
            s_klo, s_bos = np.zeros(1, np.int64), sorted_bos_depth[:1]
        singles_alive = self._over_depths(s_klo, np.maximum(s_bos + 1, s_klo), np.ones(len(s_klo)), L)
        per_node = [self.n123[0], self.n123[1], bc(ng_raw == 3) if M else np.zeros(0, np.int64), n4]
        node_stop = np.maximum(np.minimum(self.node_khi, self.node_bos) + 1, self.node_klo)
        for c in range(4):
            self.coc_raw[:, c] = self._over_depths(self.node_klo, node_stop, per_node[c], L)
        self.coc_raw[:, 0] += singles_alive
        if continuation and L > 0:
            self._continuation_counts(ng_node, s_par, s_j, per_node, singles_alive, bc)
        self._compact()

    def _compact(self):
        """Store counts in the smallest integer type that holds them (about half the memory)."""
        def small(a, limit):
            for dt in (np.int8, np.int16, np.int32):
                if limit <= np.iinfo(dt).max:
                    return a.astype(dt)
            return a
        T = self.n_tokens
        for name, limit in [("x", self.bos), ("tpos", len(self.x)), ("sorted_pos", len(self.x)),
                            ("sorted_words", self.vocab_size), ("node_a", T), ("node_size", T),
                            ("node_klo", self.max_context + 1), ("node_khi", self.max_context + 1),
                            ("node_bos", T + 1), ("distinct", T), ("n123", T), ("ng_raw", T),
                            ("ng_adj", T), ("n123_adj", T), ("total_adj", T)]:
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, small(value, max(limit, 127)))

    @staticmethod
    def _over_depths(start, stop, values, L):
        """Sum of ``values`` over the nodes alive at each depth 0..L (alive: start <= k < stop)."""
        start, stop = np.minimum(start, L + 1), np.minimum(stop, L + 1)
        total = np.bincount(start, weights=values, minlength=L + 2) - np.bincount(stop, weights=values, minlength=L + 2)
        return np.round(np.cumsum(total)[:L + 1]).astype(np.int64)

    def _single_klo(self, child_keys, child_ids, L):
        singles = child_ids < 0
        # the depth of a singleton child is its parent's k_hi + 1
        parents = child_keys[singles] // self.n_symbols
        return np.minimum(self.node_khi[parents] + 1, L + 1)

    def _continuation_counts(self, ng_node, s_par, s_j, per_node, singles_alive, bc):
        V, S, L = self.vocab_size, self.n_symbols, self.max_context
        M = len(self.node_a)
        node_parent = np.full(M, -1, dtype=np.int64)
        multi_child = self.child_ids >= 0
        node_parent[self.child_ids[multi_child]] = self.child_keys[multi_child] // S
        # each child contributes each of its followers once to its parent's continuation count
        keys = np.concatenate([node_parent[ng_node] * V + self.ng_keys % V,
                               s_par * V + self.sorted_words[s_j]])
        keys = keys[np.concatenate([node_parent[ng_node] >= 0, np.ones(len(s_par), bool)])]
        agg, counts = _count_sorted(keys)
        adj = np.ones(len(self.ng_keys), dtype=np.int64)
        adj[np.searchsorted(self.ng_keys, agg)] = counts
        self.ng_adj = adj
        self.total_adj = bc(adj)
        self.n123_adj = np.stack([bc(adj == 1), bc(adj == 2), bc(adj >= 3)])
        # count-of-counts of continuation counts at each depth k < L:
        #   k_lo <= k < min(k_hi, bos): every follower once (count 1)
        #   k == k_hi < L:              the node's own continuation counts
        #   k == bos:                   the context starts with the tune's start: plain counts
        #   k > bos:                    two or more BOS: never used (read with one BOS)
        klo, khi, bos = self.node_klo, self.node_khi, self.node_bos
        trivial_end = np.where(khi < L, khi, np.minimum(bos, L))
        trivial_end = np.maximum(trivial_end, klo)
        self.coc_adj[:, 0] += self._over_depths(klo, trivial_end, self.distinct, L)
        branching = khi < L
        adj_coc = [bc(adj == 1), bc(adj == 2), bc(adj == 3), bc(adj == 4)]
        for c in range(4):
            self.coc_adj[:, c] += self._over_depths(khi[branching], khi[branching] + 1, adj_coc[c][branching], L)
            from_bos = np.maximum(bos, klo)
            plain = (khi == L)
            self.coc_adj[:, c] += self._over_depths(from_bos[plain], np.maximum(bos[plain] + 1, from_bos[plain]),
                                                    per_node[c][plain], L)
        self.coc_adj[:, 0] += singles_alive

    # -- queries ------------------------------------------------------------------------
    def locate(self, xq: np.ndarray, qpos: np.ndarray, max_level: int, one_bos: bool = False):
        """For each context length k = 0..max_level: the queries whose k-token context was seen
        in training, and its node: ``(idx, node)`` (node < 0: a context seen once).

        With ``one_bos`` a query's contexts stop at the first one that holds BOS: the history at
        the tune's start is "BOS + the tokens so far", never a longer run of BOS."""
        L = min(max_level, self.max_context)
        S = self.n_symbols
        q = len(qpos)
        idx = np.arange(q)
        node = np.full(q, self.root, dtype=np.int64)
        out = [(idx, node)]
        for k in range(1, L + 1):
            if one_bos and k > 1:
                inside = xq[qpos[idx] - (k - 1)] != self.bos   # the k-1 context holds no BOS yet
                idx, node = idx[inside], node[inside]
            sym = xq[qpos[idx] - k]
            single = node < 0
            safe = np.where(single, 0, node)
            khi = np.where(single, self.max_context, self.node_khi[safe] if len(self.node_khi) else 0)
            stay = khi >= k
            rep = np.where(single, -node - 1, self.node_a[safe] if len(self.node_a) else 0)
            keep = stay & (self.x[self.sorted_pos[rep] - k] == sym)
            branch = np.flatnonzero(~stay)
            key = node[branch] * S + sym[branch]
            pos = np.minimum(np.searchsorted(self.child_keys, key), max(len(self.child_keys) - 1, 0))
            found = self.child_keys[pos] == key if len(self.child_keys) else np.zeros(len(key), bool)
            idx = np.concatenate([idx[keep], idx[branch[found]]])
            node = np.concatenate([node[keep], self.child_ids[pos[found]]])
            out.append((idx, node))
            if len(idx) == 0:
                break  # no longer context can be seen either
        return out

    def stats(self, k: int, node: np.ndarray, targets: np.ndarray, adjusted: bool) -> dict:
        """Counts at context length k for contexts ``node`` (from :meth:`locate`) and next tokens ``targets``."""
        single = node < 0
        multi = ~single
        n = len(targets)
        c_raw = np.zeros(n, dtype=np.int64)
        c_raw[single] = self.sorted_words[-node[single] - 1] == targets[single]
        pos = None
        if multi.any():
            key = node[multi] * self.vocab_size + targets[multi]
            pos = np.minimum(np.searchsorted(self.ng_keys, key), len(self.ng_keys) - 1)
            found = self.ng_keys[pos] == key
            c_raw[multi] = np.where(found, self.ng_raw[pos], 0)
        safe = np.where(multi, node, 0)
        has = len(self.node_a) > 0
        get = (lambda arr: np.where(multi, arr[safe], 0)) if has else (lambda arr: np.zeros(n, np.int64))
        distinct = np.where(multi, get(self.distinct), 1)
        st = {"c": c_raw,
              "total": np.where(multi, get(self.node_size), 1),
              "n1": np.where(multi, get(self.n123[0]), 1),
              "n2": get(self.n123[1]),
              "n3": get(self.n123[2]),
              "distinct": distinct}
        if adjusted:
            # which kind of count this context uses at length k (see the class docstring)
            khi = get(self.node_khi)
            stored = multi & (khi == k) & (k < self.max_context)
            plain = multi & ~stored & (get(self.node_bos) <= k) & (k >= 1)
            trivial = multi & ~stored & ~plain
            c_adj = c_raw.copy()                       # singletons and plain: the raw count
            c_adj[trivial] = np.minimum(c_raw[trivial], 1)
            if stored.any():
                sub = stored[multi]
                c_adj[stored] = np.where(c_raw[stored] > 0, self.ng_adj[pos[sub]], 0)
            def pick(stored_arr, plain_val, trivial_val, single_val):
                out = np.where(single, single_val, plain_val)
                out = np.where(trivial, trivial_val, out)
                if stored.any():
                    out = np.where(stored, stored_arr[safe], out)
                return out
            st.update({"c_adj": c_adj,
                       "total_adj": pick(self.total_adj, st["total"], distinct, 1),
                       "n1_adj": pick(self.n123_adj[0], st["n1"], distinct, 1),
                       "n2_adj": pick(self.n123_adj[1], st["n2"], 0, 0),
                       "n3_adj": pick(self.n123_adj[2], st["n3"], 0, 0)})
        return st

    def level_stats(self, tunes: list[np.ndarray], max_level: int, adjusted_below: int, one_bos: bool = False):
        """Counts for every token of ``tunes`` at every context length 0..max_level.

        Returns ``(n_queries, per_level, perm)``: the queries are reordered (``perm``) so that
        the ones whose context of length k was seen are the first ``n_k``; ``per_level[k] =
        (slice(0, n_k), stats)``. Continuation counts are included for ``k < adjusted_below``.
        """
        xq, qpos, _ = _pad_tunes(tunes, self.max_context, self.bos)
        targets = xq[qpos]
        q = len(qpos)
        located = self.locate(xq, qpos, max_level, one_bos)
        depth = np.zeros(q, dtype=np.int64)
        for k, (idx, _) in enumerate(located[1:], start=1):
            depth[idx] = k
        perm = np.argsort(-depth, kind="stable")
        rank = np.empty(q, dtype=np.int64)
        rank[perm] = np.arange(q)
        per_level = []
        node_full = np.zeros(q, dtype=np.int64)
        for k, (idx, node) in enumerate(located):
            node_full[rank[idx]] = node
            n_k = len(idx)
            adjusted = k < adjusted_below and self.ng_adj is not None
            st = self.stats(k, node_full[:n_k], targets[perm[:n_k]], adjusted)
            per_level.append((slice(0, n_k), st))
        return q, per_level, perm

    def next_token_stats(self, context: np.ndarray, max_level: int, adjusted_below: int, one_bos: bool = False):
        """Like :meth:`level_stats` for one context and every possible next token."""
        V = self.vocab_size
        max_level = min(max_level, self.max_context)
        history = np.concatenate([np.full(self.max_context, self.bos, dtype=np.int64),
                                  np.asarray(context, dtype=np.int64)[max(0, len(context) - max_level):]])
        xq = np.append(history, 0)
        qpos = np.array([len(history)])
        every = np.arange(V)
        per_level = []
        for k, (idx, node) in enumerate(self.locate(xq, qpos, max_level, one_bos)):
            if len(idx) == 0:
                break
            adjusted = k < adjusted_below and self.ng_adj is not None
            per_level.append((slice(0, V), self.stats(k, np.repeat(node, V), every, adjusted)))
        return V, per_level


# ---------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------
class _TokenModel:
    """What every n-gram model shares: fitting, scoring, next-token distributions, sampling."""

    order: int             # n of the n-gram: the model looks at order - 1 previous tokens
    context_length: int    # order - 1
    vocab_size: int
    _label: str            # the model's family, for ``name``
    _counts: _Counts | None = None

    def _check_fitted(self):
        if self._counts is None:
            raise ValueError(f"this {type(self).__name__} has not learnt anything yet: call .fit(train_tunes) first.")

    def _probs(self, n_queries: int, per_level) -> np.ndarray:
        raise NotImplementedError

    def _adjusted_below(self) -> int:
        return 0

    #: read the history at a tune's start as BOS + the tokens so far (one BOS), not as a longer
    #: run of BOS padding: each longer context would be the same context again
    _one_bos = False

    @property
    def name(self) -> str:
        """A short label for tables, e.g. ``'Kneser-Ney 8-gram'`` (the scoring protocol's ``name``)."""
        return f"{self._label} {self.order}-gram"

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(order={self.order})  # {self.name}: "
                f"looks at {self.context_length} previous tokens")

    def log2_probs(self, sequences) -> list[np.ndarray]:
        """log2 probability of every token of every tune, each tune read from its own start (the
        scoring protocol of :mod:`musegen_helpers.scoring`).

        Returns one float array per tune, of shape ``(len(tune),)``: ``log2 P(token_i | tokens
        before it)`` in bits, ``-inf`` for probability 0. ``scoring.bits_per_token`` averages them.

        Raises:
            ValueError: not fitted yet, or a token outside the vocabulary.
        """
        self._check_fitted()
        tunes = _as_tunes(sequences, self.vocab_size)
        n, per_level, perm = self._counts.level_stats(tunes, self.context_length, self._adjusted_below(),
                                                      self._one_bos)
        p = np.empty(n)
        p[perm] = self._probs(n, per_level)
        with np.errstate(divide="ignore"):
            logp = np.log2(p)
        if not tunes:
            return []
        bounds = np.cumsum([len(t) for t in tunes])[:-1]
        return np.split(logp, bounds)

    def next_token_probs(self, context=()) -> np.ndarray:
        """Probability of every token (array of length ``vocab_size``, summing to 1) coming
        next after ``context`` — the tokens of the tune so far, from its start."""
        self._check_fitted()
        context = _as_tunes([context], self.vocab_size, "context")[0]
        n, per_level = self._counts.next_token_stats(context, self.context_length, self._adjusted_below(),
                                                           self._one_bos)
        return self._probs(n, per_level)

    def log_prob(self, tokens) -> float:
        """Natural log of the probability of one whole tune (read from its start)."""
        return float(np.sum(self.log2_probs([tokens])[0]) * math.log(2))

    def sample(self, length: int = 256, seed=None, primer=(), temperature: float = 1.0,
               top_k: int | None = None, top_p: float | None = None, mask=None,
               stop_at_end: bool = True) -> np.ndarray:
        """Generate a tune token by token.

        Args:
            length: at most this many new tokens (grid steps; 16 = one 4/4 bar of sixteenths).
            seed: int seed or ``np.random.Generator``; the same seed gives the same tune.
            primer: tokens the tune starts with (default: start from nothing).
            temperature, top_k, top_p, mask: see :func:`musegen_helpers.sampling.sample`.
            stop_at_end: stop after drawing ``END``.

        Returns:
            int64 array: the primer followed by the new tokens (ending with END if drawn).
        """
        self._check_fitted()
        if isinstance(length, bool) or not isinstance(length, numbers.Integral) or length < 0:
            raise ValueError(f"length must be a whole number of tokens >= 0, got {length!r}.")
        if length > MAX_SAMPLE_STEPS:
            raise LimitError(f"length={int(length)} tokens is over the limit of {MAX_SAMPLE_STEPS} (about "
                             f"{MAX_SAMPLE_STEPS // 16} bars of 4/4); sample shorter tunes, or raise "
                             "musegen_helpers.ngram.MAX_SAMPLE_STEPS if you really mean it.")
        rng = sampling.as_rng(seed)
        tune = list(_as_tunes([primer], self.vocab_size, "primer")[0])
        for _ in range(int(length)):
            probs = self.next_token_probs(tune)
            token = sampling.sample(probs, rng, temperature=temperature, top_k=top_k, top_p=top_p, mask=mask)
            tune.append(token)
            if stop_at_end and token == END:
                break
        return np.array(tune, dtype=np.int64)


class MarkovChain(_TokenModel):
    """A Markov chain over tokens: an n-gram model of order ``order`` that predicts the next token
    from the ``order - 1`` tokens before it, by counting.

    ``P(w | context) = (count(context, w) + add_k) / (count(context) + add_k * vocab_size)``.
    With ``add_k=0`` this is the maximum-likelihood chain: it only ever plays what followed
    the same context in the training tunes, and a held-out tune with a new continuation gets
    probability 0 (infinite bits). A context never seen in training falls back to the longest
    ending of it that was seen (so the chain can always continue).

    ``order`` means the same as for :class:`KneserNey`: ``MarkovChain(order=2)`` is the bigram, a
    chain that looks at one previous token (a "first-order" chain in Markov's counting; a chain
    that looks at k tokens is ``MarkovChain(order=k + 1)``).

    Args:
        order: n of the n-gram, 1–32 (1 = no context, 2 = the previous token, ...).
        add_k: count added to every token after every context (0 = no smoothing).
        vocab_size: number of different tokens (131 event tokens by default; lesson 02 also
            uses its own vocabulary of whole notes).

    Lesson: 02_rule_based
    """

    _label = "Markov chain"

    def __init__(self, order: int = 2, add_k: float = 0.0, vocab_size: int = VOCAB_SIZE):
        self.order = _check_ngram_order(order, markov=True)
        self.context_length = self.order - 1
        if not isinstance(add_k, numbers.Real) or not add_k >= 0:
            raise ValueError(f"add_k must be a number >= 0 (0 = no smoothing), got {add_k!r}.")
        self.add_k = float(add_k)
        self.vocab_size = int(vocab_size)
        self._counts = None

    @property
    def name(self) -> str:
        smoothing = f", add-k {self.add_k:g}" if self.add_k else ""
        return f"Markov chain {self.order}-gram{smoothing}"

    def fit(self, sequences) -> "MarkovChain":
        """Count which token follows each context of ``order - 1`` tokens in the training tunes."""
        self._counts = _Counts(_as_tunes(sequences, self.vocab_size), self.context_length, False, self.vocab_size)
        return self

    def _probs(self, n, per_level):
        p = np.full(n, 1.0 / self.vocab_size)
        a = self.add_k
        for idx, st in per_level:  # the longest context seen wins
            p[idx] = (st["c"] + a) / (st["total"] + a * self.vocab_size)
        return p

    def transition_table(self, min_count: int = 1) -> dict[tuple[int, ...], dict[int, float]]:
        """The chain as a table: ``{context: {next token: probability}}`` for every context seen
        at least ``min_count`` times in training (maximum-likelihood, without add-k).

        Contexts are tuples of ``order - 1`` tokens, oldest first; ``BOS`` marks "before the tune
        started". With order 2 (the bigram) this is the classic note-to-note transition table.
        """
        self._check_fitted()
        c = self._counts
        k = self.context_length
        rows = np.stack([c.x[c.tpos - d] for d in range(k + 1)][::-1], axis=1).astype(np.int64)
        grams, counts = np.unique(rows, axis=0, return_counts=True)
        table: dict[tuple[int, ...], dict[int, float]] = {}
        for g, n in zip(grams.tolist(), counts.tolist()):
            table.setdefault(tuple(g[:-1]), {})[g[-1]] = n
        out = {}
        for ctx, follow in table.items():
            total = sum(follow.values())
            if total >= min_count:
                out[ctx] = {w: n / total for w, n in sorted(follow.items(), key=lambda kv: -kv[1])}
        return out


class WittenBell(_TokenModel):
    """Interpolated Witten–Bell smoothing (Witten & Bell 1991) of an n-gram model.

    ``P(w | h) = (c(h w) + N(h) P(w | shorter h)) / (c(h) + N(h))`` with ``N(h)`` the number of
    different tokens seen after ``h``; the shortest context interpolates with the uniform
    distribution. A context seen once gives its one continuation probability >= 1/2 — fine for
    short contexts, far too confident for long ones, so it gets worse as the order grows.

    Lesson: 03_lstm
    """

    _label = "Witten-Bell"

    def __init__(self, order: int = 3, vocab_size: int = VOCAB_SIZE):
        self.order = _check_ngram_order(order)
        self.context_length = self.order - 1
        self.vocab_size = int(vocab_size)
        self._counts = None

    def fit(self, sequences) -> "WittenBell":
        self._counts = _Counts(_as_tunes(sequences, self.vocab_size), self.context_length, False, self.vocab_size)
        return self

    def _probs(self, n, per_level):
        p = np.full(n, 1.0 / self.vocab_size)
        for idx, st in per_level:
            p[idx] = (st["c"] + st["distinct"] * p[idx]) / (st["total"] + st["distinct"])
        return p


def _check_ngram_order(order, markov: bool = False) -> int:
    if isinstance(order, bool) or not isinstance(order, numbers.Integral) or not 1 <= order <= MAX_ORDER:
        hint = (" A chain that looks at k previous tokens is MarkovChain(order=k + 1): order 0 is gone, "
                "order 1 looks at no previous token.") if markov else ""
        raise ValueError(f"an n-gram order is a whole number 1–{MAX_ORDER}: order n predicts the next token from "
                         f"the n − 1 tokens before it (1 = unigram, 2 = bigram, 3 = trigram), got {order!r}.{hint}")
    return int(order)


def _estimate_discounts(coc: np.ndarray) -> np.ndarray:
    """Chen & Goodman's modified Kneser–Ney discounts D1, D2, D3+ from the count-of-counts n1..n4:
    ``Y = n1 / (n1 + 2 n2)``, ``D1 = 1 - 2Y n2/n1``, ``D2 = 2 - 3Y n3/n2``, ``D3+ = 3 - 4Y n4/n3``."""
    n1, n2, n3, n4 = (np.float64(v) for v in coc)
    default = np.array([0.7, 1.0, 1.3])
    with np.errstate(divide="ignore", invalid="ignore"):
        y = n1 / (n1 + 2 * n2)
        d = np.array([1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3])
    d = np.where(np.isfinite(d), d, default)
    return _clip_discounts(d)


def _clip_discounts(d: np.ndarray) -> np.ndarray:
    # D_j may not exceed j (a count of j would go negative and the mass would not add up); a
    # small floor keeps some probability for the shorter context
    return np.clip(d, 0.02, np.array([1.0, 2.0, 3.0]) * np.ones_like(d))


class KneserNey(_TokenModel):
    """Interpolated modified Kneser–Ney n-gram model (Chen & Goodman 1998).

    For the longest context ``h`` (``order - 1`` tokens)::

        P(w | h) = max(c(h w) - D(c), 0) / c(h)  +  γ(h) · P_lower(w | h minus its oldest token)
        γ(h)     = (D1·N1(h) + D2·N2(h) + D3+·N3+(h)) / c(h)

    where N1/N2/N3+ count the tokens seen once/twice/3+ times after ``h``. The shorter contexts
    use *continuation counts* — how many different tokens were seen just before ``h w`` — instead
    of plain counts (a note that follows many different contexts is a good guess in a new one).
    The empty context interpolates with the uniform distribution, so no token has probability 0.
    An unseen context hands all its mass to the shorter one. Near a tune's start the contexts stop
    at the one that begins with ``BOS`` (one ``BOS`` + the tokens so far, plain counts: it cannot
    be extended to the left), as in KenLM; a 32-gram reads the 5th token of a tune as a 6-gram.

    Discounts: three per order, estimated from the count-of-counts n1..n4 of that order (of the
    counts that order uses); when ``fit`` gets validation tunes they are then tuned to minimise
    validation bits per token: first a small search of scale factors around the estimates, then
    every discount of every order on its own (L-BFGS-B of ``scipy.optimize`` with the exact
    gradient, within ``0.02 <= D_j <= j``).

    Args:
        order: n of the n-gram, 1–32 (1 = unigram; 8 looks at the 7 previous tokens).
        discounts: ``'modified'`` (three per order, above), ``'kn'`` (one per order,
            ``D = n1 / (n1 + 2 n2)``: original interpolated Kneser–Ney), or one number for every
            order; neither of the last two is tuned.

    Lesson: 03_lstm
    """

    _label = "Kneser-Ney"
    _one_bos = True

    def __init__(self, order: int = 8, discounts="modified", vocab_size: int = VOCAB_SIZE):
        self.order = _check_ngram_order(order)
        self.context_length = self.order - 1
        if not (discounts in ("modified", "kn") or (isinstance(discounts, numbers.Real)
                                                    and not isinstance(discounts, bool) and 0 < discounts <= 1)):
            raise ValueError(f"discounts must be 'modified', 'kn' or one number in (0, 1], got {discounts!r}.")
        self.discounts = discounts
        self.vocab_size = int(vocab_size)
        self._counts = None
        self.discounts_ = None         # (order, 3): D1, D2, D3+ used at each context length
        self.validation_bits_ = None   # validation bits/token after tuning (when fit got valid)

    def _adjusted_below(self) -> int:
        return self.context_length

    def fit(self, sequences, valid=None) -> "KneserNey":
        """Count the training tunes; with ``valid`` tunes, also tune the discounts on them."""
        tunes = _as_tunes(sequences, self.vocab_size)
        self._counts = _Counts(tunes, self.context_length, True, self.vocab_size)
        self._estimated = self._estimated_table(self._counts, self.order)
        self.discounts_ = self._estimated.copy()
        if valid is not None and self.discounts == "modified":
            n, per_level, _ = self._counts.level_stats(_as_tunes(valid, self.vocab_size, "valid"),
                                                       self.context_length, self.context_length, self._one_bos)
            cache = (n, per_level)
            table, bits = _tune_discounts(cache, self._estimated, self.order, self.vocab_size)
            self.discounts_, self.validation_bits_ = _refine_discounts(cache, table, bits, self.order,
                                                                       self.vocab_size)
        return self

    def _estimated_table(self, counts: _Counts, order: int) -> np.ndarray:
        table = np.empty((order, 3))
        for k in range(order):
            coc = counts.coc_raw[k] if k == order - 1 else counts.coc_adj[k]
            if self.discounts == "modified":
                table[k] = _estimate_discounts(coc)
            elif self.discounts == "kn":
                n1, n2 = float(coc[0]), float(coc[1])
                d = n1 / (n1 + 2 * n2) if n1 + 2 * n2 > 0 else 0.7
                table[k] = _clip_discounts(np.array([d, d, d]))
            else:
                table[k] = float(self.discounts)
        return table

    def _probs(self, n, per_level):
        return _kn_probs(n, per_level, self.discounts_, self.order, self.vocab_size)


def _prepare_kn(per_level, order):
    """Per context length: the counts Kneser–Ney needs, as float arrays ready for :func:`_kn_eval`
    (plain counts at the longest context, continuation counts below)."""
    prepared = []
    for k in range(min(order, len(per_level))):
        where, st = per_level[k]
        if len(st["c"]) == 0:
            break  # unseen context: every longer one is unseen too
        sfx = "" if k == order - 1 else "_adj"
        c = st["c" + sfx]
        counts_by_kind = np.stack([st["n1" + sfx], st["n2" + sfx], st["n3" + sfx]]).astype(np.float64)
        prepared.append((where, c.astype(np.float64), np.minimum(c, 3).astype(np.intp), counts_by_kind,
                         1.0 / st["total" + sfx]))
    return prepared


def _kn_eval(prepared, n, table, vocab_size, below: list | None = None):
    """Interpolated Kneser–Ney, shortest context first::

        p_k = (c - D(c) + (D1 N1 + D2 N2 + D3+ N3+) p_{k-1}) / total,   p_{-1} = 1 / vocab_size

    (``D(c)`` never exceeds ``c``: the discounts are clipped to D_j <= j). With a list ``below``,
    each level's ``p_{k-1}`` (on the queries that saw level k) is appended to it, for the gradient."""
    p = np.full(n, 1.0 / vocab_size)
    for k, (where, c, kind, counts_by_kind, inv_total) in enumerate(prepared):
        d = table[k]
        by_kind = np.array([0.0, d[0], d[1], d[2]])
        previous = p[where]
        if below is not None:
            previous = previous.copy()  # `where` may be a slice: p[where] is then a view of what changes next
            below.append(previous)
        p[where] = (c - by_kind[kind] + (d @ counts_by_kind) * previous) * inv_total
    return p


def _kn_probs(n, per_level, table, order, vocab_size):
    return _kn_eval(_prepare_kn(per_level, order), n, table, vocab_size)


def _bits(p: np.ndarray) -> float:
    with np.errstate(divide="ignore"):
        return float(-np.mean(np.log2(p))) if len(p) else float("nan")


def _tune_discounts(cache, estimated: np.ndarray, order: int, vocab_size: int, max_evals: int = 80,
                    max_lower_evals: int = 24):
    """Scale the estimated discounts to minimise validation bits/token (coordinate search).

    Six factors: D1, D2, D3+ of the shorter contexts, and D1, D2, D3+ of the longest context.
    A change of the longest context's factors only recomputes that level, so those get the
    finer search; the shorter contexts' factors are tried at most ``max_lower_evals`` times.
    """
    n, per_level = cache
    if n == 0:
        return estimated.copy(), float("nan")

    def table_for(f):
        t = estimated.copy()
        t[:-1] = _clip_discounts(t[:-1] * f[:3])
        t[-1] = _clip_discounts(t[-1] * f[3:])
        return t

    prepared = _prepare_kn(per_level, order)
    lower, top = (prepared[:-1], prepared[-1]) if len(prepared) == order else (prepared, None)
    chains = {}
    lower_evals = [0]

    def lower_chain(f):
        key = tuple(f[:3])
        if key not in chains:
            lower_evals[0] += 1
            p = _kn_eval(lower, n, table_for(f), vocab_size)
            log_total = float(np.log2(p).sum())
            log_top = float(np.log2(p[top[0]]).sum()) if top is not None else 0.0
            chains.clear()  # keep one: memory stays O(tokens)
            chains[key] = (p, log_total - log_top)
        return chains[key]

    def score(f):
        p, log_rest = lower_chain(f)
        if top is None:
            return -log_rest / n
        where, c, kind, counts_by_kind, inv_total = top
        d = table_for(f)[-1]
        by_kind = np.array([0.0, d[0], d[1], d[2]])
        p_top = (c - by_kind[kind] + (d @ counts_by_kind) * p[where]) * inv_total
        return -(log_rest + float(np.log2(p_top).sum())) / n

    factors = np.ones(6)
    # the longest context first: its factors are the cheapest to try
    active = [3, 4, 5, 0, 1, 2] if order > 1 else [3, 4, 5]
    best = score(factors)
    step, evals = 0.3, 1
    while step > 0.04 and evals < max_evals:
        improved = False
        for j in active:
            if j < 3 and lower_evals[0] >= max_lower_evals:
                continue
            for direction in (1 + step, 1 / (1 + step)):
                trial = factors.copy()
                trial[j] *= direction
                s = score(trial)
                evals += 1
                if s < best - 1e-7:
                    best, factors, improved = s, trial, True
                    break
        if not improved:
            step /= 2
    return table_for(factors), best


def _kn_bits_and_gradient(prepared, n, table, vocab_size):
    """Validation bits/token of interpolated Kneser–Ney and its exact gradient with respect to
    every discount (``table``: (levels, 3)), by one pass up the context lengths and one back down.

    Up: ``p_k = (c - D_k(c) + (D_k · N_k) p_{k-1}) / total`` on the queries that saw level k.
    Down, with ``g = d bits / d p_k``: ``d bits / d D_k[j] = sum g (N_k[j] p_{k-1} - [c is of kind
    j]) / total`` and ``d bits / d p_{k-1} = g (D_k · N_k) / total``.
    """
    below: list = []
    p = _kn_eval(prepared, n, table, vocab_size, below)
    bits = -float(np.log2(p).sum()) / n
    g = -1.0 / (n * math.log(2) * p)
    grad = np.zeros((len(prepared), 3))
    for k in range(len(prepared) - 1, -1, -1):
        where, c, kind, counts_by_kind, inv_total = prepared[k]
        gk = g[where] * inv_total
        grad[k] = counts_by_kind @ (gk * below[k]) - np.bincount(kind, weights=gk, minlength=4)[1:]
        g[where] = gk * (table[k] @ counts_by_kind)
    return bits, grad


def _refine_discounts(cache, start: np.ndarray, start_bits: float, order: int, vocab_size: int,
                      max_iter: int = 20):
    """Tune every discount of every context length on its own (3 per length) from ``start``, to
    minimise validation bits/token: L-BFGS-B (``scipy.optimize.minimize``) with the exact gradient
    of :func:`_kn_bits_and_gradient`, inside the bounds ``0.02 <= D_j <= j`` of
    :func:`_clip_discounts`. Returns ``(table, bits)``, never worse than ``(start, start_bits)``.
    """
    from scipy.optimize import minimize

    n, per_level = cache
    prepared = _prepare_kn(per_level, order)
    m = len(prepared)  # context lengths seen in validation; longer ones keep their discounts
    if n == 0 or m == 0:
        return start.copy(), start_bits

    def objective(flat):
        bits, grad = _kn_bits_and_gradient(prepared, n, flat.reshape(m, 3), vocab_size)
        return bits, grad.ravel()

    bounds = [(0.02, float(j)) for _ in range(m) for j in (1, 2, 3)]
    x0 = np.clip(start[:m].ravel(), [b[0] for b in bounds], [b[1] for b in bounds])
    result = minimize(objective, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                      options={"maxiter": max_iter, "ftol": 1e-5})
    if not np.isfinite(result.fun) or result.fun >= start_bits:
        return start.copy(), start_bits
    table = start.copy()
    table[:m] = result.x.reshape(m, 3)
    return table, float(result.fun)


# ---------------------------------------------------------------------------------------
# Model selection
# ---------------------------------------------------------------------------------------
def best_kneser_ney(train, valid, orders: Sequence[int] = (1, 2, 3, 4, 5, 6, 8, 12, 16, 24, 32),
                    tune: bool = True) -> KneserNey:
    """Fit Kneser–Ney models of several orders and keep the one with the fewest validation
    bits per token — lesson 03's n-gram baseline.

    All orders share one set of counts (fitted once at the highest order). With ``tune`` the
    discounts of each order are scaled to fit ``valid`` first (the search of scale factors of
    :class:`KneserNey`), and the order chosen on those scores then has each of its discounts
    tuned on its own, as ``KneserNey(order).fit(train, valid)`` does.

    Returns:
        the best :class:`KneserNey`, with ``validation_bits_`` (its score) and
        ``validation_by_order_`` (``{order: validation bits/token}``; the chosen order's entry is
        its score after the per-discount tuning, the others' after the scale-factor search).
    """
    orders = sorted({_check_ngram_order(o) for o in orders})
    if not orders:
        raise ValueError("orders must name at least one n-gram order, e.g. (2, 4, 8).")
    top = KneserNey(max(orders))
    train_tunes = _as_tunes(train, top.vocab_size)
    valid_tunes = _as_tunes(valid, top.vocab_size, "valid")
    counts = _Counts(train_tunes, top.context_length, True, top.vocab_size)
    n, per_level, _ = counts.level_stats(valid_tunes, top.context_length, top.context_length, True)
    scores, tables = {}, {}
    for order in orders:
        model = KneserNey(order)
        estimated = model._estimated_table(counts, order)
        cache = (n, per_level[:order])  # every level holds plain and continuation counts
        if tune:
            tables[order], scores[order] = _tune_discounts(cache, estimated, order, top.vocab_size)
        else:
            tables[order] = estimated
            scores[order] = _bits(_kn_probs(n, cache[1], estimated, order, top.vocab_size))
    best = min(orders, key=lambda o: scores[o])
    if tune:  # the chosen order's discounts are then tuned one by one, as KneserNey.fit does
        tables[best], scores[best] = _refine_discounts((n, per_level[:best]), tables[best], scores[best],
                                                       best, top.vocab_size)
    model = KneserNey(best)
    model._counts = counts
    model._estimated = model._estimated_table(counts, best)
    model.discounts_ = tables[best]
    model.validation_bits_ = scores[best]
    model.validation_by_order_ = scores
    return model

// Token ids in rank order (most probable first, ties: lower id first), computed only as far as asked.
//
// The sampler needs the top 20 for the record, the first few for a draw, and the first k or the
// nucleus for top-k / top-p: rarely the whole vocabulary. Sorting all 50,257 ids of GPT-2 costs
// ~16 ms per token; this finds the next m best ids with one pass and a small heap (m doubling each
// time), and falls back to sorting the rest once that would be cheaper. The order is exactly the
// full sort's (sortedIds in sampler.ts), so a draw walks the same ids in the same order.

/** Is a ranked before b: more probable, or as probable with a lower id (the order sortedIds gives)? */
export function rankedBefore(p: Float32Array, a: number, b: number): boolean {
  return p[a] > p[b] || (p[a] === p[b] && a < b);
}

/** The rank of `id` in that order (1 = the most probable), counted in one pass. */
export function rankOf(p: Float32Array, id: number): number {
  let rank = 1;
  for (let i = 0; i < p.length; i++) if (rankedBefore(p, i, id)) rank++;
  return rank;
}

/** A sort comparator for that order. */
export const byRank = (p: Float32Array) => (a: number, b: number) => p[b] - p[a] || a - b;

export class RankedIds {
  private readonly ranked: number[] = [];
  private done = false;

  constructor(private readonly probs: Float32Array) {}

  /** How many ranks are known without more work. */
  get known(): number {
    return this.ranked.length;
  }

  /** The id at rank r (0 = most probable), or undefined past the vocabulary. */
  at(r: number): number | undefined {
    while (this.ranked.length <= r && !this.done) this.extend();
    return this.ranked[r];
  }

  private better(a: number, b: number): boolean {
    return rankedBefore(this.probs, a, b);
  }

  private extend(): void {
    const p = this.probs;
    const V = p.length;
    const have = this.ranked.length;
    const last = have ? this.ranked[have - 1] : -1;
    const after = (i: number) => last < 0 || this.better(last, i); // not ranked yet
    const m = Math.max(32, have);
    if (have + m >= V / 8) {
      // Most of the vocabulary is wanted: sort what is left, once.
      const rest: number[] = [];
      for (let i = 0; i < V; i++) if (after(i)) rest.push(i);
      rest.sort(byRank(p));
      for (const id of rest) this.ranked.push(id);
      this.done = true;
      return;
    }
    // The m best of what is left: a heap whose root is the worst kept so far.
    const heap = new Int32Array(m);
    let size = 0;
    const worse = (a: number, b: number) => this.better(b, a);
    const siftDown = (i: number) => {
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let w = i;
        if (l < size && worse(heap[l], heap[w])) w = l;
        if (r < size && worse(heap[r], heap[w])) w = r;
        if (w === i) return;
        const t = heap[i];
        heap[i] = heap[w];
        heap[w] = t;
        i = w;
      }
    };
    for (let i = 0; i < V; i++) {
      // Most ids are less probable than the worst kept so far: rejected on one comparison, no calls.
      if (size === m && p[i] < p[heap[0]]) continue;
      if (!after(i)) continue;
      if (size < m) {
        let c = size++;
        heap[c] = i;
        while (c > 0) {
          const parent = (c - 1) >> 1;
          if (!worse(heap[c], heap[parent])) break;
          const t = heap[c];
          heap[c] = heap[parent];
          heap[parent] = t;
          c = parent;
        }
      } else if (this.better(i, heap[0])) {
        heap[0] = i;
        siftDown(0);
      }
    }
    const best = Array.from(heap.subarray(0, size)).sort(byRank(p));
    for (const id of best) this.ranked.push(id);
    if (this.ranked.length >= V) this.done = true;
  }
}

/**
 * Batched matching for cycles with many unmatched objects (issue 16 "Faster").
 *
 * Entra sends one `GET /Users?filter=userName eq "…"` per object before it creates it (entra-scim-client.md §1.3,
 * entra-provisioning-engine.md §5). In an initial cycle into an empty target every one of those queries finds nothing,
 * and they are half of what the target serves. Here, just before the workers reach them, the objects are taken 50 at a
 * time and their matching values asked for in one query: `userName eq "a" or userName eq "b" or …` (RFC 7644
 * §3.4.2.2). The answer only ever rules a match out:
 *
 * - a value that no returned resource holds anywhere, compared case-insensitively (so whatever the attribute's
 *   `caseExact`: an `eq` hit is always a case-insensitive hit), has no match: it is created without its own query;
 * - a value that a returned resource may carry is matched as before, by its own `eq` query, so the matching decision
 *   (one hit, several hits = DuplicateTargetEntries) stays the target's own.
 *
 * The batch for a group of objects is sent when the first worker reaches one of them, not at the start of the cycle:
 * what the answer says is at most a few hundred milliseconds old when the objects are created. A target object made
 * by someone else in that window makes the create meet 409 (uniqueness), and processObject matches again by query
 * (its "create met a conflict" path). Anything unexpected falls back to one query per object, as Entra does: a target
 * that rejects the filter (no `or`, too long: any 4xx) for the rest of the cycle, a failed request or an answer that
 * does not hold every hit (`totalResults` above what it returned) for that batch.
 */
import type { JsonObject, JsonValue } from '../scim/types.js';
import { SyncError } from './errors.js';
import { matchingValues, mappingAttributes, type ObjectMapping } from './mapping.js';
import { eqFilter } from './patch-body.js';
import type { ResourceKind, ScimClient } from './scim-client.js';
import type { SourceObject } from './types.js';

/** Below this many unmatched objects in a cycle, per-object queries cost little: Entra's request shape is kept. */
export const MIN_BATCHED_OBJECTS = 10;
/**
 * The longest URL-encoded filter one batch sends. Request lines above 8 KiB are refused by common proxies and
 * servers (nginx's default large_client_header_buffers, Node's 16 KiB header limit): a batch of long values is cut
 * into several requests below that.
 */
export const MAX_ENCODED_FILTER = 6000;

interface Item {
  obj: SourceObject;
  /** The matching values in precedence order (undefined = no value for that attribute). */
  values: (string | undefined)[];
}

/** Folds a value for the "could this be the same value" test: wider than any target's case-insensitive `eq`. */
function folds(v: string): string[] {
  const n = v.normalize('NFKC');
  return [n.toLowerCase(), n.toUpperCase().toLowerCase()];
}

/** Adds the folded form of every string, number and boolean in `v` (deeply) to `into`. */
function collectStrings(v: JsonValue | undefined, into: Set<string>): void {
  if (v === null || v === undefined) return;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
    for (const f of folds(String(v))) into.add(f);
  } else if (Array.isArray(v)) {
    for (const x of v) collectStrings(x, into);
  } else {
    for (const x of Object.values(v)) collectStrings(x, into);
  }
}

export class MatchBatcher {
  private readonly chunkOf = new Map<SourceObject, number>();
  private readonly chunks: { items: Item[]; answer?: Promise<Map<SourceObject, Set<number>>> }[] = [];
  /** Set when the target refused a batched query: the rest of the cycle queries per object. */
  private refused = false;
  /** Requests sent and values ruled out, for the tests and the bench. */
  readonly stats = { requests: 0, ruledOut: 0 };

  /**
   * @param objects the objects that will be matched, in the order the workers take them (unlinked, in scope,
   *   enabled); objects whose matching values cannot be evaluated are left to processObject, which fails them.
   */
  private constructor(
    private readonly client: ScimClient,
    private readonly rt: ResourceKind,
    private readonly om: ObjectMapping,
    items: Item[],
    private readonly size: number,
  ) {
    for (let i = 0; i < items.length; i += size) {
      const chunk = items.slice(i, i + size);
      for (const it of chunk) this.chunkOf.set(it.obj, this.chunks.length);
      this.chunks.push({ items: chunk });
    }
  }

  /** A batcher for `objects`, or undefined when batching is off or there are too few to gain from it. */
  static create(
    client: ScimClient,
    rt: ResourceKind,
    om: ObjectMapping,
    objects: readonly { obj: SourceObject; isSoftDeleted: boolean }[],
    size: number,
    now: () => Date,
  ): MatchBatcher | undefined {
    if (size < 2 || om.matching.length === 0 || objects.length < MIN_BATCHED_OBJECTS) return undefined;
    const items: Item[] = [];
    for (const o of objects) {
      try {
        const values = matchingValues(om, mappingAttributes(o.obj, o.isSoftDeleted), now).map((v) => v.value);
        if (values.some((v) => v !== undefined)) items.push({ obj: o.obj, values });
      } catch {
        // The object fails its import step in processObject, which says why.
      }
    }
    if (items.length < MIN_BATCHED_OBJECTS) return undefined;
    return new MatchBatcher(client, rt, om, items, size);
  }

  /**
   * True when the target certainly has no object whose matching attribute number `index` (precedence order) equals
   * `obj`'s value; false when it may have one (ask with a query) or the object was not batched.
   */
  async ruledOut(obj: SourceObject, index: number): Promise<boolean> {
    const c = this.chunkOf.get(obj);
    if (c === undefined) return false;
    const chunk = this.chunks[c]!;
    chunk.answer ??= this.resolve(chunk.items);
    return (await chunk.answer).get(obj)?.has(index) ?? false;
  }

  /** For each object of one chunk, the matching attributes (by index) on which it has certainly no match. */
  private async resolve(items: readonly Item[]): Promise<Map<SourceObject, Set<number>>> {
    const out = new Map<SourceObject, Set<number>>();
    for (let k = 0; k < this.om.matching.length; k++) {
      // Precedence (§5): attribute k is asked for an object only when every earlier one has no match for it.
      const ask = items.filter((it) => {
        if (it.values[k] === undefined) return false;
        for (let j = 0; j < k; j++) if (it.values[j] !== undefined && !out.get(it.obj)?.has(j)) return false;
        return true;
      });
      if (!ask.length) continue;
      const present = await this.present(k, [...new Set(ask.map((it) => it.values[k]!))]);
      if (!present) continue;
      for (const it of ask) {
        if (folds(it.values[k]!).some((f) => present.has(f))) continue;
        let s = out.get(it.obj);
        if (!s) out.set(it.obj, (s = new Set()));
        s.add(k);
        this.stats.ruledOut++;
      }
    }
    return out;
  }

  /**
   * The folded values of matching attribute `k` that the target holds among `values`, or undefined when that cannot
   * be known (the objects are then matched one query each).
   */
  private async present(k: number, values: readonly string[]): Promise<Set<string> | undefined> {
    if (this.refused) return undefined;
    const path = this.om.matching[k]!.path;
    const found = new Set<string>();
    for (const filter of this.filters(path.text, values)) {
      let answer: { resources: JsonObject[]; totalResults: number };
      try {
        this.stats.requests++;
        answer = await this.client.queryFilter(this.rt, filter.text, filter.count * 2);
      } catch (e) {
        // A target that does not take `or` filters (or one this long) says so with a 4xx: stop asking it.
        const status = e instanceof SyncError ? e.status : undefined;
        if (status !== undefined && status >= 400 && status < 500 && status !== 429) this.refused = true;
        return undefined;
      }
      if (answer.totalResults > answer.resources.length) return undefined;
      // Every string a returned resource holds, not only the one at the matching path: a multi-valued attribute
      // (emails[type eq "work"].value) may have matched through another element than the first, and a value that
      // appears anywhere in a hit is only ever asked again, never wrongly ruled out.
      for (const r of answer.resources) collectStrings(r, found);
    }
    return found;
  }

  /** `path eq v1 or path eq v2 …`, cut so that each filter is at most `size` values and MAX_ENCODED_FILTER long. */
  private *filters(path: string, values: readonly string[]): Generator<{ text: string; count: number }> {
    let terms: string[] = [];
    let length = 0;
    for (const v of values) {
      const term = eqFilter(path, v);
      const cost = encodeURIComponent(term).length + 8; // "%20or%20"
      if (terms.length && (terms.length >= this.size || length + cost > MAX_ENCODED_FILTER)) {
        yield { text: terms.join(' or '), count: terms.length };
        terms = [];
        length = 0;
      }
      terms.push(term);
      length += cost;
    }
    if (terms.length) yield { text: terms.join(' or '), count: terms.length };
  }
}

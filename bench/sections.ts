/**
 * What `npm run bench` runs: a list of sections, each measuring one thing and writing its own block of
 * docs/benchmarks.md. A new bench is a new file exporting a BenchSection, registered with one line in run.ts.
 */
import type { BenchStore } from './stores.js';

export interface BenchContext {
  /** The repository root (absolute). */
  root: string;
  /** The Markdown file results are written to (docs/benchmarks.md unless --out). */
  out: string;
  /** The stores to measure, in order (SQLite first); a store that cannot be measured is in `skipped`. */
  stores: BenchStore[];
  /** Stores left out, each with the reason (printed loudly and written into the report). */
  skipped: { kind: BenchStore['kind']; reason: string }[];
  /** Seconds per measured run (--seconds), already shortened by --quick. */
  seconds: number;
  quick: boolean;
  /** Every flag of the command line, for a section's own options (--name value or --name). */
  flags: Map<string, string | true>;
  log(line: string): void;
}

export interface BenchSection {
  /** Used with --only and as the id of its blocks in the report. */
  id: string;
  /** One line for `npm run bench -- --help`. */
  title: string;
  /** Run without --only (the default run must stay under ~15 minutes for both stores). */
  byDefault: boolean;
  run(ctx: BenchContext): Promise<void>;
}

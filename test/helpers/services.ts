/**
 * Suites that need something the machine may lack: PostgreSQL, Debian's slapd or Chromium, the conformance
 * suites of ../shared.
 *
 * A fresh machine with only what `npm ci` installs must pass `npm test`, so such a suite is then replaced by
 * ONE skipped test named like the suite whose reason says what is missing and how to get it. It is a test, not
 * a skipped describe(), because node:test counts a skipped describe() as a suite and leaves it out of its
 * "skipped" total. scripts/test.mjs lists every skip reason in its closing summary.
 *
 * With CI=true nothing needed may be missing: the stand-in test fails instead, once, with the same reason.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, test } from 'node:test';

export const inCI = process.env.CI === 'true';

/**
 * describe(name, fn) when `unavailable` is undefined; otherwise one skipped test (a failing one with CI=true) that
 * says what is missing.
 */
export function describeIfAvailable(
  name: string,
  { unavailable }: { unavailable: string | undefined },
  fn: () => void,
) {
  if (unavailable === undefined) {
    describe(name, fn);
    return;
  }
  standIn(unavailable, name);
}

/** The one test that takes the place of a suite that cannot run here. */
export function standIn(missing: string, name: string): void {
  if (inCI) {
    test(name, () => {
      throw new Error(`CI=true and ${missing}: CI must run this suite (.ci/run installs what it needs)`);
    });
  } else {
    test(name, { skip: missing }, () => undefined);
  }
}

/** The first executable called `name` on PATH (then in `extraDirs`), or undefined. */
export function findExecutable(name: string, extraDirs: readonly string[] = []): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...extraDirs];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

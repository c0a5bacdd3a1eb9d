/**
 * Blocks of docs/benchmarks.md delimited by `<!-- bench:<id>:start -->` / `<!-- bench:<id>:end -->`: a run
 * rewrites its own blocks and keeps everything else (other stores, other sections, the history).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const HEADER = '# Benchmarks\n';

export const marks = (id: string): [string, string] => [
  `<!-- bench:${id}:start -->`,
  `<!-- bench:${id}:end -->`,
];

/** The current text of a block (without its markers), if the file has it. */
export function readBlock(file: string, id: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8');
  const [start, end] = marks(id);
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  return i >= 0 && j > i ? text.slice(i + start.length, j).replace(/^\n|\n$/g, '') : undefined;
}

/**
 * Writes a block: in place when the file has it; otherwise after the block `after` (when present), or right
 * under the title (`where: 'top'`), or at the end.
 */
export function writeBlock(
  file: string,
  id: string,
  markdown: string,
  opts: { after?: string; where?: 'top' | 'end' } = {},
): void {
  const [start, end] = marks(id);
  const block = `${start}\n${markdown.replace(/\s*$/, '')}\n${end}`;
  let text = existsSync(file) ? readFileSync(file, 'utf8') : HEADER;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i >= 0 && j > i) text = text.slice(0, i) + block + text.slice(j + end.length);
  else {
    const afterEnd = opts.after ? text.indexOf(marks(opts.after)[1]) : -1;
    if (afterEnd >= 0) {
      const k = afterEnd + marks(opts.after!)[1].length;
      text = `${text.slice(0, k)}\n\n${block}${text.slice(k)}`;
    } else if (opts.where === 'top') {
      const title = /^# .*\n/m.exec(text);
      const k = title ? title.index + title[0].length : 0;
      text = `${text.slice(0, k)}\n${block}\n${text.slice(k)}`;
    } else text = `${text.replace(/\s*$/, '')}\n\n${block}\n`;
  }
  writeFileSync(file, text);
}

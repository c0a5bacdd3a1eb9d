/**
 * .NET regular expressions (Replace, scoping's REGEX MATCH) on JavaScript's engine.
 * The two dialects share the syntax Entra admins write (classes, quantifiers, `(?<name>…)` groups);
 * the .NET-only spellings we translate are `(?'name'…)` groups and leading inline options `(?i)`, `(?m)`, `(?s)`.
 */

const cache = new Map<string, RegExp>();
const CACHE_LIMIT = 500;

/** Translates a .NET pattern; throws SyntaxError when JavaScript cannot compile it. */
export function translatePattern(pattern: string): { source: string; flags: string } {
  let source = pattern;
  let flags = '';
  const inline = /^\(\?([imsx]+)\)/.exec(source);
  if (inline?.[1] && !inline[1].includes('x')) {
    for (const f of new Set(inline[1])) flags += f;
    source = source.slice(inline[0].length);
  }
  source = source.replace(/\(\?'([A-Za-z_][A-Za-z0-9_]*)'/g, '(?<$1>');
  return { source, flags };
}

/** A global, index-tracking regex for Replace (cached: the same pattern runs once per object). */
export function compileRegex(pattern: string, extraFlags = 'gd'): RegExp {
  const key = `${extraFlags}/${pattern}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const { source, flags } = translatePattern(pattern);
  const re = new RegExp(source, flags + extraFlags);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(key, re);
  return re;
}

/** Whether `group` (a name or a number) is a capture group of the pattern. */
export function groupExists(re: RegExp, group: string): boolean {
  const probe = new RegExp(`${re.source}|`, re.flags.replace(/[gy]/g, '')).exec('');
  if (!probe) return false;
  if (/^\d+$/.test(group)) return Number(group) < probe.length;
  return probe.groups !== undefined && Object.prototype.hasOwnProperty.call(probe.groups, group);
}

/**
 * .NET substitution syntax in a replacement string: `$1`, `${name}`, `$$`, `$&`/`$0` (whole match),
 * `` $` `` (before), `$'` (after), `$+` (last group), `$_` (whole input). Unknown groups stay literal.
 */
export function dotNetSubstitute(template: string, m: RegExpExecArray): string {
  if (!template.includes('$')) return template;
  const input = m.input;
  const start = m.index;
  const end = start + m[0].length;
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c !== '$' || i + 1 >= template.length) {
      out += c;
      continue;
    }
    const next = template[i + 1] as string;
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '&') {
      out += m[0];
      i++;
    } else if (next === '`') {
      out += input.slice(0, start);
      i++;
    } else if (next === "'") {
      out += input.slice(end);
      i++;
    } else if (next === '_') {
      out += input;
      i++;
    } else if (next === '+') {
      out += m.length > 1 ? (m[m.length - 1] ?? '') : '';
      i++;
    } else if (next === '{') {
      const close = template.indexOf('}', i + 2);
      const name = close > 0 ? template.slice(i + 2, close) : '';
      const value = /^\d+$/.test(name)
        ? Number(name) < m.length
          ? (m[Number(name)] ?? '')
          : undefined
        : m.groups?.[name];
      const known = /^\d+$/.test(name) ? Number(name) < m.length : m.groups !== undefined && name in m.groups;
      if (close > 0 && known) {
        out += value ?? '';
        i = close;
      } else out += c;
    } else if (/\d/.test(next)) {
      let j = i + 1;
      while (j < template.length && /\d/.test(template[j] as string)) j++;
      const n = Number(template.slice(i + 1, j));
      if (n < m.length) {
        out += m[n] ?? '';
        i = j - 1;
      } else out += c;
    } else out += c;
  }
  return out;
}

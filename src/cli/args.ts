// A small, strict argument parser: unknown flags and bad values are errors that say what to do.
export class UsageError extends Error {}

export interface FlagSpec {
  [flag: string]: 'string' | 'number' | 'int' | 'boolean';
}

export function parseArgs(argv: string[], spec: FlagSpec): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new UsageError(`Unexpected argument "${a}". Flags start with --, e.g. --prompt "Hello".`);
    const [name, inline] = a.slice(2).split(/=(.*)/s, 2);
    const type = spec[name];
    if (!type) throw new UsageError(`Unknown flag --${name}. Known flags: ${Object.keys(spec).map((f) => '--' + f).join(' ')}`);
    if (type === 'boolean') {
      out[name] = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value.`);
    if (type === 'string') out[name] = value;
    else {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n) || (type === 'int' && !Number.isInteger(n))) {
        throw new UsageError(`--${name} must be ${type === 'int' ? 'a whole number' : 'a number'}, got "${value}".`);
      }
      out[name] = n;
    }
  }
  return out;
}

/** Runs a CLI main, turning errors into a one-line message and a non-zero exit. */
export function runMain(main: () => Promise<void>): void {
  main().catch((e: Error) => {
    process.stderr.write(`error: ${e.message}\n`);
    process.exit(e instanceof UsageError ? 2 : 1);
  });
}

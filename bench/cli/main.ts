/**
 * The one entry every CLI goes through (vitest cac.ts style): parse, run,
 * and one top-level catch that turns bad input into one line on stderr and
 * exit 2 (usage errors, unreadable or incomparable inputs), and anything
 * else into one line and exit 1 — never a stack trace.
 */
import { Incomparable } from '../../analysis/gate.js';
import { UsageError } from '../options.js';
import { ResultsError } from '../schema.js';

export function isUsageLike(e: unknown): boolean {
  return e instanceof UsageError || e instanceof ResultsError || e instanceof Incomparable;
}

/** Run main(argv) as the process's CLI named `name`; sets process.exitCode. */
export function runCli(name: string, main: (argv: string[]) => Promise<number> | number, argv = process.argv.slice(2)): void {
  process.stdout.on('error', () => undefined); // a closed pipe (| head) is not an error
  Promise.resolve()
    .then(() => main(argv))
    .then(
      (code) => {
        process.exitCode = code;
      },
      (err: unknown) => {
        const e = err as Error;
        const usage = isUsageLike(e);
        const msg = (e?.message ?? String(err)).split('\n')[0];
        process.stderr.write(`${name}: ${usage ? '' : 'error: '}${msg}\n`);
        process.exitCode = usage ? 2 : 1;
      },
    );
}

/**
 * The CRIU lane on its own: start each workload, criu dump it
 * (--leave-running), check the images and the tree, stop it.
 *
 *   node --import tsx bench/criu/cli.ts [--scenarios files,shared,...]
 *        [--sizes 1000,10000] [--criu-compatible] [--quiet-repeats K]
 *        [--json FILE] [--keep-images] [--flags "--shell-job ..."] [--build]
 *
 * Scenarios: the generator's default run unless named; --criu-compatible
 * starts each without what CRIU refuses (the generator's variant), and a
 * scenario that has none (io_uring) as it is, for CRIU's refusal.
 *
 * Prints one line per dump and, for refusals, CRIU's own lines. --json
 * writes every CriuResult (rewritten after each). --build builds CRIU from
 * the pinned tarball when none is usable (npm run criu:build).
 * Exit: 0 every dump verified or refused by CRIU (a coverage finding),
 * 1 something wrong or errored, 2 usage, 3 skipped (no usable CRIU),
 * 130/143 interrupted.
 */
import { writeFileSync, renameSync } from 'node:fs';
import { defaultScenarios, isScenario, scenarioInfo, scenarioNames, type Scenario } from '../manifest.js';
import { startWorkload, stopAllWorkloads } from '../workload.js';
import { criuDump, contextLine, killCriuChildren, DEFAULT_FLAGS, type CriuResult } from './dump.js';
import { buildCriu, defaultTarball, findCriu } from './find.js';

interface Args {
  scenarios?: Scenario[];
  criuCompatible: boolean;
  sizes: number[];
  quietRepeats: number;
  json?: string;
  keepImages: boolean;
  flags: string[];
  build: boolean;
}

class Usage extends Error {}

function parseArgs(argv: string[]): Args {
  const a: Args = { criuCompatible: false, sizes: [1000, 10000], quietRepeats: 0, keepImages: false, flags: [...DEFAULT_FLAGS], build: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Usage(`${k} needs a value`);
      return v;
    };
    switch (k) {
      case '--scenarios': {
        const s = val().split(',').filter(Boolean);
        for (const x of s) if (!isScenario(x)) throw new Usage(`unknown scenario '${x}' (${scenarioNames().join(', ')})`);
        a.scenarios = s;
        break;
      }
      case '--sizes': {
        a.sizes = val().split(',').map((x) => {
          if (!/^[1-9]\d*$/.test(x)) throw new Usage(`--sizes: not a positive number: '${x}'`);
          return Number(x);
        });
        break;
      }
      case '--quiet-repeats': {
        const v = val();
        if (!/^\d+$/.test(v) || Number(v) > 100) throw new Usage(`--quiet-repeats: expected 0..100, got '${v}'`);
        a.quietRepeats = Number(v);
        break;
      }
      case '--json': a.json = val(); break;
      case '--keep-images': a.keepImages = true; break;
      case '--criu-compatible': a.criuCompatible = true; break;
      case '--flags': a.flags = val().split(/\s+/).filter(Boolean); break;
      case '--build': a.build = true; break;
      case '-h': case '--help':
        process.stdout.write(`usage: node --import tsx bench/criu/cli.ts [--scenarios LIST] [--sizes LIST] [--criu-compatible] [--quiet-repeats K] [--json FILE] [--keep-images] [--flags "..."] [--build]\n`);
        process.exit(0);
        break;
      default: throw new Usage(`unknown option '${k}'`);
    }
  }
  return a;
}

const ms = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(1));

function line(r: CriuResult): string {
  const head = `${r.scenario.padEnd(8)} n=${String(r.n).padEnd(6)} fds=${String(r.fds).padEnd(6)} ${r.state.padEnd(8)}`;
  switch (r.state) {
    case 'verified': {
      const t = r.timing;
      const q = t.quietWallMs?.length ? ` quiet(-v1) median ${ms([...t.quietWallMs].sort((x, y) => x - y)[t.quietWallMs.length >> 1])} ms;` : '';
      return `${head} wall ${ms(t.wallMs)} ms; files ${ms(t.fileStateMs)} ms (collect ${ms(t.log.collectFdsMs)} + dump ${ms(t.log.dumpFilesMs)}) = ${(100 * t.fileShare).toFixed(0)} %;` +
        ` frozen ${ms(t.stats ? t.stats.frozenUs / 1000 : undefined)} ms, freezing ${ms(t.stats ? t.stats.freezingUs / 1000 : undefined)} ms, memdump ${ms(t.stats ? t.stats.memdumpUs / 1000 : undefined)} ms;` +
        ` startup ${ms(t.log.startupMs)} ms;${q} intact: ${r.intact.state}; ${contextLine(r)}`;
    }
    case 'refused':
      return `${head} ${r.refusal.cause}: ${r.refusal.why} (wall ${ms(r.timing.wallMs)} ms; intact: ${r.intact.state})\n` +
        r.refusal.lines.map((l) => `           | ${l}`).join('\n');
    case 'wrong':
      return `${head} ${r.reason}\n` + r.mismatches.slice(0, 10).map((x) => `           | ${x.kind} pid ${x.pid} ${x.where}: expected ${x.expected}, got ${x.got}`).join('\n');
    default:
      return `${head} ${r.reason}`;
  }
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof Usage) {
      process.stderr.write(`criu lane: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  let found = findCriu();
  if (found.state !== 'ok' && args.build) {
    const src = defaultTarball();
    if (src) {
      process.stderr.write(`criu lane: building CRIU from ${src}\n`);
      const b = buildCriu(src, { log: (l) => process.stderr.write(`${l}\n`) });
      if (!b.ok) process.stderr.write(`criu lane: build failed: ${b.error}\n`);
      found = findCriu();
    }
  }
  if (found.state !== 'ok') {
    process.stdout.write(`skipped: ${found.reason}\n`);
    return 3;
  }
  process.stderr.write(`criu lane: CRIU ${found.version} (${found.bin}), flags ${args.flags.join(' ')}\n`);
  const results: CriuResult[] = [];
  const save = () => {
    if (!args.json) return;
    writeFileSync(`${args.json}.tmp`, JSON.stringify(results, null, 1));
    renameSync(`${args.json}.tmp`, args.json);
  };
  let status = 0;
  for (const scenario of args.scenarios ?? defaultScenarios()) {
    for (const n of args.sizes) {
      // a scenario with no CRIU-compatible variant runs as it is: CRIU's refusal is the row
      const variant = args.criuCompatible && scenarioInfo(scenario)?.criu.compatible === true;
      const s = await startWorkload({ scenario, files: n, criuCompatible: variant });
      if (s.state !== 'ready') {
        process.stdout.write(`${scenario.padEnd(8)} n=${String(n).padEnd(6)} workload ${s.state}: ${s.reason}\n`);
        if (s.state === 'errored') status = 1;
        continue;
      }
      try {
        const r = await criuDump({ rootPid: s.workload.rootPid, manifest: s.workload.manifest }, {
          criu: found, flags: args.flags, quietRepeats: args.quietRepeats, keepImages: args.keepImages,
        });
        results.push(r);
        save();
        process.stdout.write(line(r) + '\n');
        if (r.state === 'wrong' || r.state === 'errored') status = 1;
      } finally {
        await s.workload.stop();
      }
    }
  }
  return status;
}

for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.on(sig, () => {
    killCriuChildren();
    stopAllWorkloads();
    process.exit(code);
  });
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`criu lane: ${(e as Error).message}\n`);
    stopAllWorkloads();
    process.exit(1);
  },
);

/**
 * A measurement server: this build's methods, driven over stdin/stdout by
 * another process (the gate's A/B run, bench/ab.ts), so two builds can be
 * measured in the same rounds on the same frozen workload instances.
 * Every method is opened and verified against the manifest by this build's
 * own code; each block is timed in C and every answer checked, as in a
 * bench run (bench/measure.ts).
 *
 * Protocol (one JSON object per line; PROTOCOL below; answers in order):
 *   at start     <- {"hello":1,"protocol":N,"revision":"...","slowdown":"...","methods":[descriptors]}
 *   open         -> {"op":"open","id":"I:M","method":M,"manifest":PATH,"instance":{id,scenario,n,replica,pids},"seed":S}
 *                <- {"id","state":"open","block":k,"estimateNs"} | {"id","state":"wrong|errored|skipped","reason"}
 *   block        -> {"op":"block","id","round":R,"k":K}
 *                <- {"id","ok":true,"timesNs":[...]} | {"id","ok":false,"state","reason"}
 *   close        -> {"op":"close","id"}      <- {"id","ok":true}
 *   exit         -> {"op":"exit"}  (or end of input): closes everything and exits 0
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { collectEnvironment } from '../environment.js';
import { listDescriptors } from '../descriptors.js';
import type { Manifest, Scenario } from '../manifest.js';
import { DEFAULT_MEASURE, openUnit, type LocalUnit } from '../measure.js';
import { nativeSlowdown } from '../native.js';
import { pidAlive } from '../workload.js';

export const PROTOCOL = 1;

interface OpenReq {
  op: 'open';
  id: string;
  method: string;
  manifest: string;
  instance: { id: number; scenario: string; n: number; replica: number; pids: number[] };
  seed?: number;
}

async function main(): Promise<number> {
  const methods = listDescriptors();
  const env = collectEnvironment('serve', 'by the caller');
  const units = new Map<string, LocalUnit>();
  const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
  out({ hello: 1, protocol: PROTOCOL, revision: env.gitRevision, slowdown: nativeSlowdown(), methods });
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  const manifests = new Map<string, Manifest>();
  for await (const line of rl) {
    if (!line.trim()) continue;
    let req: { op: string; id?: string; [k: string]: unknown };
    try {
      req = JSON.parse(line) as typeof req;
    } catch {
      out({ ok: false, state: 'errored', reason: 'not JSON' });
      continue;
    }
    try {
      if (req.op === 'exit') break;
      if (req.op === 'open') {
        const r = req as unknown as OpenReq;
        const d = methods.find((m) => m.name === r.method);
        if (!d) {
          out({ id: r.id, state: 'skipped', reason: `this build has no method ${r.method}` });
          continue;
        }
        let manifest = manifests.get(r.manifest);
        if (!manifest) manifests.set(r.manifest, (manifest = JSON.parse(readFileSync(r.manifest, 'utf8')) as Manifest));
        const pids = r.instance.pids;
        const o = await openUnit(d, { ...r.instance, scenario: r.instance.scenario as Scenario, manifest, pids, alive: () => pids.every(pidAlive) }, { ...DEFAULT_MEASURE, seed: r.seed ?? 1 });
        if (o.kind === 'unit') {
          units.set(r.id, o.unit);
          out({ id: r.id, state: 'open', block: o.unit.block, estimateNs: o.unit.estimateNs });
        } else {
          const m = o.measurement;
          out({ id: r.id, state: m.state, reason: m.state === 'verified' ? '' : m.reason });
        }
      } else if (req.op === 'block') {
        const u = units.get(String(req.id));
        if (!u) {
          out({ id: req.id, ok: false, state: 'errored', reason: 'no such unit' });
          continue;
        }
        const b = await u.runBlock(Number(req.round), Number(req.k) || u.block);
        if (!b.ok) u.commitFailure();
        out(b.ok ? { id: req.id, ok: true, timesNs: b.timesNs } : { id: req.id, ok: false, state: b.state, reason: b.reason });
      } else if (req.op === 'close') {
        units.get(String(req.id))?.close();
        units.delete(String(req.id));
        out({ id: req.id, ok: true });
      } else out({ id: req.id, ok: false, state: 'errored', reason: `unknown op ${req.op}` });
    } catch (e) {
      out({ id: req.id, ok: false, state: 'errored', reason: (e as Error).message.split('\n')[0] });
    }
  }
  for (const u of units.values()) u.close();
  return 0;
}

main().then(
  (c) => {
    process.exitCode = c;
  },
  (e: unknown) => {
    process.stderr.write(`serve: error: ${(e as Error).message}\n`);
    process.exitCode = 1;
  },
);

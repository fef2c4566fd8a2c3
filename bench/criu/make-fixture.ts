/**
 * Make one directory of bench/criu/fixtures/ (test/criu.test.ts) from a real
 * dump: the -v4 log, and for a dumped tree its manifest, the images the lane
 * reads and crit's JSON of each.
 *
 *   node --import tsx bench/criu/make-fixture.ts NAME SCENARIO N [images|tail]
 *     images  also keep the images and the manifest (a tree CRIU dumps)
 *     tail    keep only the last 80 lines of the log (big refusals)
 * ITERBENCH_WORKLOAD=PATH selects another generator binary (see fixtures/README.md).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isScenario } from '../manifest.js';
import { startWorkload } from '../workload.js';
import { criuDump } from './dump.js';
import { findCriu } from './find.js';

const [name, scenario, n, mode] = process.argv.slice(2);
if (!name || !isScenario(scenario ?? '') || !/^[1-9]\d*$/.test(n ?? '') || (mode && mode !== 'images' && mode !== 'tail')) {
  process.stderr.write('usage: make-fixture.ts NAME SCENARIO N [images|tail]\n');
  process.exit(2);
}
const out = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', name);
const found = findCriu();
if (found.state !== 'ok') {
  process.stderr.write(`skipped: ${found.reason}\n`);
  process.exit(3);
}
const s = await startWorkload({ scenario: scenario!, files: Number(n) });
if (s.state !== 'ready') {
  process.stderr.write(`workload ${s.state}: ${s.reason}\n`);
  process.exit(1);
}
try {
  const r = await criuDump({ rootPid: s.workload.rootPid, manifest: s.workload.manifest }, { criu: found, keepImages: true });
  process.stdout.write(`${name}: ${r.state}${'reason' in r ? `: ${r.reason}` : ''}\n`);
  const dir = r.imagesDir;
  if (!dir) process.exit(1);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const log = readFileSync(path.join(dir, 'dump.log'), 'utf8');
  writeFileSync(path.join(out, 'dump.log'), mode === 'tail' ? log.split('\n').slice(-80).join('\n') : log);
  if (mode === 'images') {
    writeFileSync(path.join(out, 'manifest.json'), JSON.stringify(s.workload.manifest, null, 1) + '\n');
    for (const f of readdirSync(dir)) {
      if (!/^(pstree\.img|ids-\d+\.img|fdinfo-\d+\.img|files\.img|stats-dump)$/.test(f)) continue;
      cpSync(path.join(dir, f), path.join(out, f));
      const json = execFileSync(found.crit, ['decode', '-i', path.join(dir, f)], { encoding: 'utf8' });
      writeFileSync(path.join(out, `${f.replace(/\.img$/, '')}.json`), json);
    }
  }
  rmSync(dir, { recursive: true, force: true });
} finally {
  await s.workload.stop();
}

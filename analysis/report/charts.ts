/**
 * charts/: PNG and SVG via chart.js 4 + chartjs-node-canvas 5.
 *   time-<scenario>.{png,svg}  time per recovery vs N per method, log-log;
 *                              extrapolated points hollow on dashed segments,
 *                              floors as dashed grey reference lines
 *   speedup.{png,svg}          speedup of each BPF method over procfs and
 *                              kcmp-tree at the largest N, with 95 % CI whiskers
 *   stages-<scenario>.{png,svg} stage breakdown (share per stage) at the largest N
 *   tasks-<scenario>-n<N>.{png,svg} a task sweep: time per recovery vs K tasks
 *                              at constant N per method, log-log
 *   per-task.{png,svg}         a task sweep: what one more task costs per
 *                              method (least squares of time on K), CI whiskers
 * Rendering takes a while: call writeCharts at the end of a run, not after
 * each measurement.
 */
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { ChartJSNodeCanvas } from 'chartjs-node-canvas';
import type { ChartConfiguration, Plugin } from 'chart.js';
import { STAGES, type Measurement, type ResultsFile } from '../../bench/schema.js';
import type { Scenario } from '../../bench/manifest.js';
import type { Exporter } from './exporter.js';
import { writeFileAtomic } from './atomic.js';
import { analyze, inSizeView, largestN, type Analysis } from '../analyze.js';
import { formatNs } from '../units.js';

export const CHARTS_DIR = 'charts';
const WIDTH = 1100;
const HEIGHT = 650;

type Verified = Extract<Measurement, { state: 'verified' }>;

const PALETTE = [
  '#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf',
  '#bcbd22', '#7f7f7f', '#393b79', '#637939',
];
/** a colour per method, stable across charts */
function colourFor(method: string, all: string[]): string {
  const i = all.indexOf(method);
  return PALETTE[(i < 0 ? 0 : i) % PALETTE.length]!;
}

const FONT = { family: 'DejaVu Sans' };

let pngCanvas: ChartJSNodeCanvas | undefined;
let svgCanvas: ChartJSNodeCanvas | undefined;
/*
 * No `backgroundColour` option: chartjs-node-canvas paints it with the
 * 'destination-over' operator, which cairo's SVG surface cannot express, so
 * the whole SVG falls back to one embedded bitmap (650 KB, 4x slower). A white
 * rectangle drawn first keeps the SVG vector.
 */
const whiteBackground: Plugin = {
  id: 'iterbench-white-background',
  beforeDraw(chart) {
    const { ctx } = chart;
    ctx.save();
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.restore();
  },
};

function canvases(): { png: ChartJSNodeCanvas; svg: ChartJSNodeCanvas } {
  pngCanvas ??= new ChartJSNodeCanvas({ width: WIDTH, height: HEIGHT });
  svgCanvas ??= new ChartJSNodeCanvas({ width: WIDTH, height: HEIGHT, type: 'svg' });
  return { png: pngCanvas, svg: svgCanvas };
}

async function render(config: () => ChartConfiguration, dir: string, base: string): Promise<string[]> {
  const { png, svg } = canvases();
  // chart.js mutates the configuration: one fresh copy per render
  const fresh = () => {
    const c = config();
    c.plugins = [whiteBackground, ...(c.plugins ?? [])] as never;
    return c as never;
  };
  const pngBuf = await png.renderToBuffer(fresh(), 'image/png');
  const svgBuf = svg.renderToBufferSync(fresh(), 'image/svg+xml');
  const files = [join(dir, `${base}.png`), join(dir, `${base}.svg`)];
  await writeFileAtomic(files[0]!, pngBuf);
  await writeFileAtomic(files[1]!, svgBuf);
  return files;
}

function allMethods(results: ResultsFile): string[] {
  const out = [...(results.config?.methods ?? [])];
  for (const m of results.measurements) if (!out.includes(m.method)) out.push(m.method);
  return out;
}

function verified(results: ResultsFile): Verified[] {
  return results.measurements.filter((m): m is Verified => m.state === 'verified');
}

const FLOOR_STYLES: { colour: string; dash: number[] }[] = [
  { colour: '#444444', dash: [10, 5] },
  { colour: '#888888', dash: [3, 3] },
  { colour: '#aaaaaa', dash: [12, 4, 3, 4] },
  { colour: '#666666', dash: [6, 6] },
];

/** tick labels on log axes: only 1, 2, 5 x 10^k, in plain numbers */
function logTick(value: number | string): string {
  const v = Number(value);
  if (!(v > 0)) return '';
  const mant = v / 10 ** Math.floor(Math.log10(v) + 1e-9);
  const m = Math.round(mant * 1000) / 1000;
  if (m !== 1 && m !== 2 && m !== 5) return '';
  return v >= 1 ? String(Math.round(v * 1000) / 1000) : String(Number(v.toPrecision(1)));
}

/** (a) time vs N per method, one chart per scenario */
export function timeChart(results: ResultsFile, scenario: Scenario, an: Analysis = analyze(results)): ChartConfiguration<'line'> {
  const methods = allMethods(results);
  const role = new Map(results.methods.map((d) => [d.name, d.role]));
  const ts = an.times.filter((t) => t.scenario === scenario);
  const sizes = [...new Set(ts.map((t) => t.n))].sort((a, b) => a - b);
  const datasets: ChartConfiguration<'line'>['data']['datasets'] = [];
  let floorIdx = 0;
  for (const method of methods) {
    const pts = ts.filter((t) => t.method === method).sort((a, b) => a.n - b.n);
    if (pts.length === 0) continue;
    const isFloor = role.get(method) === 'floor';
    const fs = FLOOR_STYLES[floorIdx % FLOOR_STYLES.length]!;
    if (isFloor) floorIdx++;
    const colour = isFloor ? fs.colour : colourFor(method, methods.filter((m) => role.get(m) !== 'floor'));
    const extra = pts.filter((p) => p.extrapolated);
    const label = isFloor
      ? `floor: ${method} (reference)`
      : extra.length > 0
        ? `${method} (extrapolated at N >= ${extra[0]!.n}, hollow)`
        : method;
    const flags = pts.map((p) => p.extrapolated);
    datasets.push({
      label,
      data: pts.map((p) => ({ x: p.n, y: p.medianNs / 1e6 })),
      borderColor: colour,
      backgroundColor: isFloor ? 'rgba(0,0,0,0)' : colour,
      borderDash: isFloor ? fs.dash : [],
      borderWidth: isFloor ? 1.5 : 2.5,
      pointRadius: isFloor ? 0 : 4.5,
      pointHoverRadius: isFloor ? 0 : 4.5,
      pointStyle: 'circle',
      pointBackgroundColor: pts.map((p) => (p.extrapolated ? '#ffffff' : colour)),
      pointBorderColor: colour,
      pointBorderWidth: 2,
      segment: {
        borderDash: (ctx) => (isFloor ? fs.dash : flags[ctx.p0DataIndex] || flags[ctx.p1DataIndex] ? [5, 4] : undefined),
      },
      tension: 0,
    });
  }
  const env = results.environment;
  return {
    type: 'line',
    data: { datasets },
    options: {
      parsing: false,
      layout: { padding: 10 },
      plugins: {
        title: { display: true, color: '#000000', text: `Time to recover the file state of a frozen process: scenario "${scenario}"`, font: { ...FONT, size: 17 } },
        subtitle: {
          display: true,
          color: '#333333',
          text: `median over rounds per point (every size measured in the core rounds), lower is better; dashed grey: floors; kernel ${env?.kernelRelease ?? '?'}, ${env?.cpuModel ?? '?'}`,
          font: { ...FONT, size: 12 },
        },
        legend: { position: 'bottom', labels: { color: '#000000', font: { ...FONT, size: 12 }, boxWidth: 30 } },
      },
      scales: {
        x: {
          type: 'logarithmic',
          title: { display: true, color: '#000000', text: 'descriptors (N, the --files size), log scale', font: FONT },
          afterBuildTicks: (axis) => {
            axis.ticks = sizes.map((v) => ({ value: v }));
          },
          ticks: { color: '#000000', callback: (v) => String(v) },
        },
        y: {
          type: 'logarithmic',
          title: { display: true, color: '#000000', text: 'time per recovery (ms), log scale', font: FONT },
          ticks: { color: '#000000', callback: (v) => logTick(v) },
        },
      },
    },
  };
}

/** draws [ciLow, ciHigh] whiskers stored per bar in dataset.ci */
const whiskers: Plugin<'bar'> = {
  id: 'iterbench-whiskers',
  afterDatasetsDraw(chart) {
    const { ctx } = chart;
    const y = chart.scales['y']!;
    chart.data.datasets.forEach((ds, di) => {
      const ci = (ds as unknown as { ci?: ([number, number] | null)[] }).ci;
      if (!ci) return;
      const meta = chart.getDatasetMeta(di);
      if (meta.hidden) return;
      meta.data.forEach((bar, i) => {
        const c = ci[i];
        if (!c) return;
        const x = bar.x;
        const y0 = y.getPixelForValue(c[0]);
        const y1 = y.getPixelForValue(c[1]);
        ctx.save();
        ctx.strokeStyle = '#222222';
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        ctx.moveTo(x, y0);
        ctx.lineTo(x, y1);
        ctx.moveTo(x - 5, y0);
        ctx.lineTo(x + 5, y0);
        ctx.moveTo(x - 5, y1);
        ctx.lineTo(x + 5, y1);
        ctx.stroke();
        const v = (ds.data as (number | null)[])[i];
        if (typeof v === 'number') {
          ctx.fillStyle = '#000000';
          ctx.font = '11px "DejaVu Sans"';
          ctx.textAlign = 'center';
          ctx.fillText(`${v >= 100 ? v.toFixed(0) : v.toFixed(v >= 10 ? 1 : 2)}x`, x, Math.min(y1, bar.y) - 6);
        }
        ctx.restore();
      });
    });
  },
};

/** (b) speedup of each method over the references its descriptor names, at the largest N (host lane) */
export function speedupChart(results: ResultsFile, an: Analysis = analyze(results)): ChartConfiguration<'bar'> | undefined {
  const host = new Set(results.methods.filter((d) => d.lane === 'host').map((d) => d.name));
  const nMax = largestN(results);
  const rows = an.ratios.filter((r) => r.kind === 'speedup' && host.has(r.method) && nMax.get(r.scenario) === r.n);
  if (rows.length === 0) return undefined;
  const refs = [...new Set(rows.map((r) => r.reference))];
  const cats: string[] = [];
  const catKey: string[] = [];
  for (const r of rows) {
    const k = `${r.scenario}\0${r.method}`;
    if (!catKey.includes(k)) {
      catKey.push(k);
      cats.push(`${r.scenario}: ${r.method} (N=${r.n})`);
    }
  }
  let anyExtrapolated = false;
  const solid = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd'];
  const pale = ['rgba(31,119,180,0.35)', 'rgba(255,127,14,0.35)', 'rgba(44,160,44,0.35)', 'rgba(148,103,189,0.35)'];
  const datasets = refs.map((ref, i) => {
    const data: (number | null)[] = [];
    const ci: ([number, number] | null)[] = [];
    catKey.forEach((k) => {
      const r = rows.find((x) => `${x.scenario}\0${x.method}` === k && x.reference === ref);
      data.push(r ? r.value.ratio : null);
      ci.push(r ? [r.value.ciLow, r.value.ciHigh] : null);
      if (r?.extrapolated) anyExtrapolated = true;
    });
    const extrapolatedRef = rows.some((r) => r.reference === ref && r.extrapolated);
    return {
      label: `over ${ref}${extrapolatedRef ? ' (extrapolated reference: pale)' : ''}`,
      data,
      ci,
      backgroundColor: catKey.map((k) => {
        const r = rows.find((x) => `${x.scenario}\0${x.method}` === k && x.reference === ref);
        return r?.extrapolated ? pale[i % pale.length]! : solid[i % solid.length]!;
      }),
      borderColor: solid[i % solid.length]!,
      borderWidth: 1,
      borderDash: [],
    };
  });
  // room for whiskers and value labels: the axis spans every CI
  const lows = rows.map((r) => r.value.ciLow).filter((v) => v > 0);
  const highs = rows.map((r) => r.value.ciHigh).filter((v) => Number.isFinite(v));
  const yMin = 10 ** Math.floor(Math.log10(Math.min(1, ...lows)));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...highs) * 1.6));
  return {
    type: 'bar',
    data: { labels: cats, datasets: datasets as never },
    options: {
      plugins: {
        title: { display: true, color: '#000000', text: 'Speedup at the largest N: reference time / method time, paired by round (higher is better)', font: { ...FONT, size: 17 } },
        subtitle: {
          display: true,
          text: `median over rounds of the per-round ratio; whiskers: 95 % bootstrap CI over instances and rounds${anyExtrapolated ? '; pale bars: extrapolated' : ''}`,
          font: { ...FONT, size: 12 },
        },
        legend: { position: 'bottom', labels: { color: '#000000', font: FONT } },
      },
      scales: {
        x: { ticks: { color: '#000000', font: { ...FONT, size: 11 }, maxRotation: 40, minRotation: 30, autoSkip: false } },
        y: {
          type: 'logarithmic',
          min: yMin,
          max: yMax,
          title: { display: true, color: '#000000', text: 'speedup (x faster than the reference), log scale', font: FONT },
          ticks: { color: '#000000', callback: (v) => logTick(v) },
        },
      },
    },
    plugins: [whiskers],
  };
}

/**
 * (c) stage breakdown at a scenario's largest N: each bar is one method,
 * split into the share of each stage (100 % stacked, so a 0.1 ms BPF walk
 * and a 400 ms kcmp pass are both readable); the label carries the total.
 */
export function stagesChart(results: ResultsFile, scenario: Scenario): ChartConfiguration<'bar'> | undefined {
  const view = inSizeView(results);
  const ms = verified(results).filter((m) => m.scenario === scenario && m.replica === 0 && view(m));
  const nMax = Math.max(0, ...ms.map((m) => m.n));
  const withStages = ms.filter((m) => m.n === nMax && m.stagesNs && Object.values(m.stagesNs).some((v) => (v ?? 0) > 0));
  if (withStages.length === 0) return undefined;
  const total = (m: Verified) => STAGES.reduce((a, st) => a + (m.stagesNs?.[st] ?? 0), 0);
  const labels = withStages.map((m) => `${m.method}${m.extrapolated ? ' (extrapolated)' : ''}: ${formatNs(total(m))}`);
  const colours = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f'];
  const datasets = STAGES.filter((st) => withStages.some((m) => (m.stagesNs?.[st] ?? 0) > 0)).map((stage) => ({
    label: stage,
    data: withStages.map((m) => (100 * (m.stagesNs?.[stage] ?? 0)) / total(m)),
    backgroundColor: colours[STAGES.indexOf(stage) % colours.length]!,
  }));
  return {
    type: 'bar',
    data: { labels, datasets },
    options: {
      indexAxis: 'y',
      plugins: {
        title: { display: true, color: '#000000', text: `Where the time goes: stages of one recovery, scenario "${scenario}", N = ${nMax}`, font: { ...FONT, size: 17 } },
        subtitle: { display: true, color: '#333333', text: 'share of each stage per method (100 % stacked); total time per recovery after the name', font: { ...FONT, size: 12 } },
        legend: { position: 'bottom', labels: { color: '#000000', font: FONT } },
      },
      scales: {
        x: { stacked: true, min: 0, max: 100, title: { display: true, color: '#000000', text: 'share of the time per recovery (%)', font: FONT }, ticks: { color: '#000000' } },
        y: { stacked: true, ticks: { color: '#000000', font: { ...FONT, size: 12 }, autoSkip: false } },
      },
    },
  };
}

/** Render every chart into <dir>/charts/; returns the files written. */
/** (d) the kernel lane: how much faster the real iterators are than what they replace, on one kernel */
export function kernelLaneChart(results: ResultsFile, an: Analysis = analyze(results)): ChartConfiguration<'bar'> | undefined {
  const lane = new Set(results.methods.filter((d) => d.lane === 'patched-kernel').map((d) => d.name));
  const nMax = largestN(results);
  // one bar per (category, reference): x faster = other / real; a per-kind
  // row (vs-emulation: real / (emulation - floor)) inverted the same way
  const bars = an.ratios
    .filter((r) => (r.kind === 'speedup' || r.kind === 'vs-emulation') && lane.has(r.method) && nMax.get(r.scenario) === r.n)
    .map((r) => {
      const real = [r.method, ...(r.with ?? [])].join(' + ');
      const inv = r.kind === 'vs-emulation';
      return {
        cat: `${r.scenario}: ${real} (N=${r.n})`,
        ref: inv ? `its emulation's same work (${r.reference} - ${r.minus ?? '0'})` : r.reference,
        value: inv ? 1 / r.value.ratio : r.value.ratio,
        ci: (inv ? [1 / r.value.ciHigh, 1 / r.value.ciLow] : [r.value.ciLow, r.value.ciHigh]) as [number, number],
      };
    });
  if (bars.length === 0) return undefined;
  const refs = [...new Set(bars.map((b) => b.ref))];
  const cats = [...new Set(bars.map((b) => b.cat))];
  const colours = ['#2ca02c', '#1f77b4', '#ff7f0e', '#9467bd', '#8c564b', '#d62728', '#17becf', '#7f7f7f'];
  const datasets = refs.map((ref, i) => ({
    label: `x faster than ${ref}`,
    data: cats.map((c) => bars.find((b) => b.cat === c && b.ref === ref)?.value ?? null),
    ci: cats.map((c) => bars.find((b) => b.cat === c && b.ref === ref)?.ci ?? null),
    backgroundColor: colours[i % colours.length],
    borderColor: colours[i % colours.length],
    borderWidth: 1,
  }));
  const vals = bars.flatMap((b) => b.ci).filter((v) => v > 0 && Number.isFinite(v));
  const yMin = 10 ** Math.floor(Math.log10(Math.min(1, ...vals) / 1.5));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(1, ...vals) * 1.6));
  const env = results.environment;
  return {
    type: 'bar',
    data: { labels: cats, datasets: datasets as never },
    options: {
      plugins: {
        title: { display: true, color: '#000000', text: "Kernel lane: the series' real iterators vs the alternatives, same kernel (higher is better)", font: { ...FONT, size: 17 } },
        subtitle: {
          display: true,
          color: '#333333',
          text: `x faster = other time / real iterators' time, paired by round (per kind: the emulation's time less its floor's); whiskers: 95 % bootstrap CI; ${env.machine}: compare ratios, not times`,
          font: { ...FONT, size: 12 },
        },
        legend: { position: 'bottom', labels: { color: '#000000', font: FONT } },
      },
      scales: {
        x: { ticks: { color: '#000000', font: { ...FONT, size: 12 } } },
        y: {
          type: 'logarithmic',
          min: yMin,
          max: yMax,
          title: { display: true, color: '#000000', text: 'x faster (other / real), log scale; > 1: real iterator faster', font: FONT },
          ticks: { color: '#000000', callback: (v) => logTick(v) },
        },
      },
    },
    plugins: [whiskers],
  };
}

/** (e) a task sweep: time vs K at constant N, one line per method, log-log */
export function taskTimeChart(results: ResultsFile, scenario: Scenario, n: number, an: Analysis = analyze(results)): ChartConfiguration<'line'> | undefined {
  const ts = an.tasks.times.filter((t) => t.scenario === scenario && t.n === n);
  if (ts.length === 0) return undefined;
  const methods = allMethods(results);
  const role = new Map(results.methods.map((d) => [d.name, d.role]));
  const ks = [...new Set(ts.map((t) => t.k))].sort((a, b) => a - b);
  const datasets: ChartConfiguration<'line'>['data']['datasets'] = [];
  let floorIdx = 0;
  for (const method of methods) {
    const pts = ts.filter((t) => t.method === method).sort((a, b) => a.k - b.k);
    if (pts.length === 0) continue;
    const isFloor = role.get(method) === 'floor';
    const fs = FLOOR_STYLES[floorIdx % FLOOR_STYLES.length]!;
    if (isFloor) floorIdx++;
    const colour = isFloor ? fs.colour : colourFor(method, methods.filter((m) => role.get(m) !== 'floor'));
    const extrapolated = pts.some((p) => p.extrapolated);
    datasets.push({
      label: isFloor ? `floor: ${method} (reference)` : `${method}${extrapolated ? ' (extrapolated, hollow)' : ''}`,
      data: pts.map((p) => ({ x: p.k, y: p.medianNs / 1e6 })),
      borderColor: colour,
      backgroundColor: isFloor ? 'rgba(0,0,0,0)' : colour,
      borderDash: isFloor ? fs.dash : extrapolated ? [5, 4] : [],
      borderWidth: isFloor ? 1.5 : 2.5,
      pointRadius: isFloor ? 0 : 4.5,
      pointStyle: 'circle',
      pointBackgroundColor: pts.map((p) => (p.extrapolated ? '#ffffff' : colour)),
      pointBorderColor: colour,
      pointBorderWidth: 2,
      tension: 0,
    });
  }
  const env = results.environment;
  const fds = ts.map((t) => t.fds);
  return {
    type: 'line',
    data: { datasets },
    options: {
      parsing: false,
      layout: { padding: 10 },
      plugins: {
        title: { display: true, color: '#000000', text: `Time to recover the file state of K tasks holding N = ${n} descriptors in all: scenario "${scenario}"`, font: { ...FONT, size: 17 } },
        subtitle: {
          display: true,
          color: '#333333',
          text: `${Math.min(...fds)}-${Math.max(...fds)} fds with 0, 1, 2; median over rounds (every K measured in every round), lower is better; dashed grey: floors; kernel ${env?.kernelRelease ?? '?'}`,
          font: { ...FONT, size: 12 },
        },
        legend: { position: 'bottom', labels: { color: '#000000', font: { ...FONT, size: 12 }, boxWidth: 30 } },
      },
      scales: {
        x: {
          type: 'logarithmic',
          title: { display: true, color: '#000000', text: 'tasks in the process tree (K, the --tasks of the sweep), log scale', font: FONT },
          afterBuildTicks: (axis) => {
            axis.ticks = ks.map((v) => ({ value: v }));
          },
          ticks: { color: '#000000', callback: (v) => String(v) },
        },
        y: {
          type: 'logarithmic',
          title: { display: true, color: '#000000', text: 'time per recovery (ms), log scale', font: FONT },
          ticks: { color: '#000000', callback: (v) => logTick(v) },
        },
      },
    },
  };
}

/** (f) a task sweep: the time one more task adds per method (us), with CI whiskers; log scale, costs <= 0 left out */
export function perTaskChart(results: ResultsFile, an: Analysis = analyze(results)): ChartConfiguration<'bar'> | undefined {
  const rows = an.tasks.perTask;
  if (rows.length === 0) return undefined;
  const methods = allMethods(results);
  const cells = [...new Set(rows.map((r) => `${r.scenario} N=${r.n}`))];
  const names = methods.filter((m) => rows.some((r) => r.method === m));
  const role = new Map(results.methods.map((d) => [d.name, d.role]));
  const datasets = cells.map((cell, i) => {
    const at = rows.filter((r) => `${r.scenario} N=${r.n}` === cell);
    return {
      label: `${cell}, K = ${at[0]!.ks.join(', ')}`,
      data: names.map((m) => {
        const r = at.find((x) => x.method === m);
        return r && r.nsPerTask > 0 ? r.nsPerTask / 1e3 : null;
      }),
      ci: names.map((m) => {
        const r = at.find((x) => x.method === m);
        return r && r.nsPerTask > 0 ? ([Math.max(r.ciLow, r.nsPerTask / 100) / 1e3, r.ciHigh / 1e3] as [number, number]) : null;
      }),
      backgroundColor: names.map((m) => (role.get(m) === 'floor' ? '#bbbbbb' : PALETTE[i % PALETTE.length]!)),
      borderColor: PALETTE[i % PALETTE.length]!,
      borderWidth: 1,
    };
  });
  const vals = rows.flatMap((r) => [r.nsPerTask, r.ciHigh]).filter((v) => v > 0).map((v) => v / 1e3);
  if (!vals.length) return undefined;
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...vals) / 2));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...vals) * 1.6));
  const none = names.filter((m) => rows.some((r) => r.method === m && r.nsPerTask <= 0));
  return {
    type: 'bar',
    data: { labels: names, datasets: datasets as never },
    options: {
      plugins: {
        title: { display: true, color: '#000000', text: 'What one more task costs at constant N: least squares of time on K, per round (lower is better)', font: { ...FONT, size: 17 } },
        subtitle: {
          display: true,
          color: '#333333',
          text: `median over rounds; whiskers: 95 % bootstrap CI over rounds; grey: floors${none.length ? `; no growth with K (cost <= 0, not drawn): ${none.join(', ')}` : ''}`,
          font: { ...FONT, size: 12 },
        },
        legend: { position: 'bottom', labels: { color: '#000000', font: FONT } },
      },
      scales: {
        x: { ticks: { color: '#000000', font: { ...FONT, size: 11 }, maxRotation: 40, minRotation: 30, autoSkip: false } },
        y: {
          type: 'logarithmic',
          min: yMin,
          max: yMax,
          title: { display: true, color: '#000000', text: 'us per added task, log scale', font: FONT },
          ticks: { color: '#000000', callback: (v) => logTick(v) },
        },
      },
    },
    plugins: [perTaskWhiskers],
  };
}

/** whiskers for perTaskChart (values in us; labels "12.3 us") */
const perTaskWhiskers: Plugin<'bar'> = {
  id: 'iterbench-per-task-whiskers',
  afterDatasetsDraw(chart) {
    const { ctx } = chart;
    const y = chart.scales['y']!;
    chart.data.datasets.forEach((ds, di) => {
      const ci = (ds as unknown as { ci?: ([number, number] | null)[] }).ci;
      const meta = chart.getDatasetMeta(di);
      if (!ci || meta.hidden) return;
      meta.data.forEach((bar, i) => {
        const c = ci[i];
        if (!c) return;
        const y0 = y.getPixelForValue(c[0]);
        const y1 = y.getPixelForValue(c[1]);
        ctx.save();
        ctx.strokeStyle = '#222222';
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        ctx.moveTo(bar.x, y0);
        ctx.lineTo(bar.x, y1);
        ctx.moveTo(bar.x - 5, y0);
        ctx.lineTo(bar.x + 5, y0);
        ctx.moveTo(bar.x - 5, y1);
        ctx.lineTo(bar.x + 5, y1);
        ctx.stroke();
        const v = (ds.data as (number | null)[])[i];
        if (typeof v === 'number') {
          ctx.fillStyle = '#000000';
          ctx.font = '11px "DejaVu Sans"';
          ctx.textAlign = 'center';
          ctx.fillText(formatNs(v * 1e3), bar.x, Math.min(y1, bar.y) - 6);
        }
        ctx.restore();
      });
    });
  },
};

export async function writeCharts(results: ResultsFile, dir: string, an: Analysis = analyze(results)): Promise<string[]> {
  const out = join(dir, CHARTS_DIR);
  await mkdir(out, { recursive: true });
  const files: string[] = [];
  const scenarios = [...new Set(verified(results).map((m) => m.scenario))];
  for (const s of scenarios) files.push(...(await render(() => timeChart(results, s, an), out, `time-${s}`)));
  if (speedupChart(results, an)) files.push(...(await render(() => speedupChart(results, an)!, out, 'speedup')));
  for (const s of scenarios) {
    if (stagesChart(results, s)) files.push(...(await render(() => stagesChart(results, s)!, out, `stages-${s}`)));
  }
  if (kernelLaneChart(results, an)) files.push(...(await render(() => kernelLaneChart(results, an)!, out, 'kernel-lane')));
  for (const cell of new Set(an.tasks.times.map((t) => `${t.scenario}\0${t.n}`))) {
    const [s, n] = cell.split('\0') as [Scenario, string];
    files.push(...(await render(() => taskTimeChart(results, s, Number(n), an)!, out, `tasks-${s}-n${n}`)));
  }
  if (perTaskChart(results, an)) files.push(...(await render(() => perTaskChart(results, an)!, out, 'per-task')));
  return files;
}

export const chartsExporter: Exporter = {
  name: 'charts',
  async write(results, dir, ctx) {
    await writeCharts(results, dir, ctx.analysis());
  },
};

/**
 * Aggregates the grid's run folders into `<out>/results<-tag>.json`, `<out>/results<-tag>.md` (the table)
 * and one SVG per task (`<out>/plots[/<tag>]/<task>.svg`): sweeps/report.ts, which `promptgrad sweep
 * report` also uses. Unfinished runs are listed and left out.
 *
 *   node --import ./scripts/register.mjs experiments/aggregate.ts --runs runs/experiments [--out experiments] [--tag demo]
 *
 * Steps-to-threshold: the first dev evaluation with accuracy ≥ dev majority-class rate + `--margin`
 * (default 0.05); seeds that never get there are counted, not averaged.
 */
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildReport, writeReport } from '../sweeps/report.ts';

const { values: a } = parseArgs({
  options: {
    runs: { type: 'string', default: 'runs/experiments' },
    out: { type: 'string', default: 'experiments' },
    tag: { type: 'string', default: '' },
    margin: { type: 'string', default: '0.05' },
  },
});
const outDir = resolve(a.out);
const suffix = a.tag === '' ? '' : `-${a.tag}`;
const plotDir = join(outDir, 'plots', ...(a.tag === '' ? [] : [a.tag]));
const report = await buildReport(a.runs, { margin: Number(a.margin) });
writeReport(report, outDir, plotDir, suffix);
console.log(report.markdown);
if (report.unfinished.length > 0) console.log(`\nunfinished (left out): ${report.unfinished.join(', ')}`);
console.log(
  `\nwrote ${relative(process.cwd(), join(outDir, `results${suffix}.json`))}, results${suffix}.md, ${relative(process.cwd(), plotDir)}/<task>.svg`,
);

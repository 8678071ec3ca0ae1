/**
 * `npm run bench`: runs every `bench/*.bench.ts` module (or those named on the command line),
 * prints one table, writes the same rows to `bench/results.json`, and exits non-zero naming each
 * missed target.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BenchModule, type BenchRow, meetsTarget } from './harness';

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const files = readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
    .sort();
  const rows: BenchRow[] = [];
  for (const file of files) {
    const started = Date.now();
    const mod = (await import(join(__dirname, file))) as BenchModule;
    const produced = await mod.default();
    rows.push(...produced);
    console.error(`bench: ${file} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  printTable(rows);
  const results = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    rows: rows.map((r) => ({ ...r, met: meetsTarget(r) })),
  };
  writeFileSync(join(__dirname, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const missed = rows.filter((r) => !meetsTarget(r));
  if (missed.length > 0) {
    for (const r of missed)
      console.error(
        `bench: target missed: ${r.group} / ${r.name}: ${format(r.value)} ${r.unit} (${describeTarget(r)})`,
      );
    process.exitCode = 1;
  }
}

function format(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(3);
}

function describeTarget(r: BenchRow): string {
  if (!r.target) return '';
  const parts: string[] = [];
  if (r.target.max !== undefined) parts.push(`≤ ${r.target.max}`);
  if (r.target.min !== undefined) parts.push(`≥ ${r.target.min}`);
  return `target ${parts.join(' and ')}`;
}

function printTable(rows: readonly BenchRow[]): void {
  const table = rows.map((r) => [
    r.group,
    r.name,
    `${format(r.value)} ${r.unit}`,
    r.baseline ? `vs ${r.baseline}` : '',
    r.target ? `${describeTarget(r)} ${meetsTarget(r) ? 'ok' : 'MISSED'}` : '',
    r.note ?? '',
  ]);
  const header = ['group', 'measure', 'value', 'baseline', 'target', 'note'];
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join(' | ')
      .trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const row of table) console.log(line(row));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

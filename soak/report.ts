/**
 * The soak run's figures as rows in the bench harness's format (value, unit, target), printed as
 * one table, with the misses named.
 */
import { meetsTarget, type BenchRow } from '../bench/harness';

export type SoakRow = BenchRow;

export function format(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function describeTarget(row: SoakRow): string {
  if (!row.target) return '';
  const parts: string[] = [];
  if (row.target.max !== undefined) parts.push(`≤ ${format(row.target.max)}`);
  if (row.target.min !== undefined) parts.push(`≥ ${format(row.target.min)}`);
  return parts.join(' and ');
}

export function printTable(rows: readonly SoakRow[], write: (line: string) => void = console.log): void {
  const table = rows.map((r) => [
    r.group,
    r.name,
    `${format(r.value)} ${r.unit}`,
    r.target ? `${describeTarget(r)} ${meetsTarget(r) ? 'ok' : 'MISSED'}` : '',
    r.note ?? '',
  ]);
  const header = ['group', 'measure', 'value', 'target', 'note'];
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join(' | ')
      .trimEnd();
  write(line(header));
  write(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const row of table) write(line(row));
}

/** One line per missed target, naming it. */
export function missedTargets(rows: readonly SoakRow[]): string[] {
  return rows
    .filter((r) => !meetsTarget(r))
    .map((r) => `${r.group} / ${r.name}: ${format(r.value)} ${r.unit} (target ${describeTarget(r)})`);
}

export const MB = 1024 * 1024;

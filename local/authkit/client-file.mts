/**
 * Registered clients kept in a JSON file, so that an MCP client's cached registration (its
 * client_id, and an M2M application's secret) keeps working after the stand-in restarts. Only
 * clients are kept: sessions, codes and tokens are signed with a key that does not outlive the
 * process anyway.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

type Payload = Record<string, unknown>;

const FORMAT = 1;

/** Reads the file's clients by id; a missing file is an empty one. */
export function readClientFile(path: string): Map<string, Payload> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`The clients file ${path} is not JSON: delete it (clients will register again) or fix it.`);
  }
  const clients = (parsed as { format?: unknown; clients?: unknown })?.clients;
  if (
    (parsed as { format?: unknown })?.format !== FORMAT ||
    typeof clients !== 'object' ||
    clients === null ||
    Array.isArray(clients)
  ) {
    throw new Error(
      `The clients file ${path} is not in the stand-in's format ${FORMAT}: delete it (clients will register again).`,
    );
  }
  return new Map(Object.entries(clients as Record<string, Payload>));
}

/** Replaces the file atomically (write, then rename), readable by its owner only: it holds client secrets. */
export function writeClientFile(path: string, clients: ReadonlyMap<string, Payload>): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify({ format: FORMAT, clients: Object.fromEntries(clients) }, null, 2)}\n`, {
    mode: 0o600,
  });
  renameSync(temporary, path);
}

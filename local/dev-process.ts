/**
 * The parts of `npm run dev` that keep one run from harming another or outliving its terminal:
 * a port check before anything is touched, an output folder of its own per run, and a watch on the
 * processes that started it.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { LocalError } from './errors';

/** A port `npm run dev` listens on, the variable that sets it and the host it listens at. */
export interface DevPort {
  readonly variable: string;
  readonly port: number;
  readonly host: string;
}

export class PortInUseError extends LocalError {
  readonly code = 'PORT_IN_USE';
  constructor(
    readonly taken: readonly DevPort[],
    readonly suggestion: readonly DevPort[] | undefined,
  ) {
    const named = taken.map(({ port, variable }) => `${port} (${variable})`);
    const ports = named.length === 1 ? `Port ${named[0]} is` : `Ports ${named.join(' and ')} are`;
    const instead =
      suggestion === undefined
        ? 'other ports'
        : `free ports, e.g. ${suggestion.map(({ variable, port }) => `${variable}=${port}`).join(' ')} npm run dev`;
    super(`${ports} already in use, perhaps by another npm run dev. Stop that one, or start this one on ${instead}.`);
  }
}

/** Whether `port` can be listened on at `host`, the way the server will listen. */
function isPortFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EADDRINUSE' || error.code === 'EACCES' ? resolve(false) : reject(error),
    );
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/**
 * Resolves when every port can be listened on (0 always can); otherwise refuses naming each taken
 * one and suggesting ports, one after another above the highest asked for, that are free right now.
 */
export async function assertPortsFree(ports: readonly DevPort[]): Promise<void> {
  const taken: DevPort[] = [];
  for (const port of ports) if (port.port !== 0 && !(await isPortFree(port.port, port.host))) taken.push(port);
  if (taken.length > 0) throw new PortInUseError(taken, await freePorts(ports));
}

/** The same variables on consecutive free ports, searched in steps of 10 above the highest asked for. */
async function freePorts(ports: readonly DevPort[]): Promise<DevPort[] | undefined> {
  const highest = Math.max(...ports.map(({ port }) => port));
  for (let base = highest + 10; base + ports.length - 1 <= 65535 && base <= highest + 1000; base += 10) {
    const candidate = ports.map((port, index) => ({ ...port, port: base + index }));
    const free = await Promise.all(candidate.map(({ port, host }) => isPortFree(port, host)));
    if (free.every(Boolean)) return candidate;
  }
  return undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A folder of this run's own under `root` (`<root>/<pid>`), so that a second run never deletes the
 * Lambda assets a first one is serving. Folders of runs whose process is gone are removed first.
 */
export function createRunFolder(root: string): string {
  mkdirSync(root, { recursive: true });
  for (const name of readdirSync(root)) {
    const pid = Number(name);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !isAlive(pid))
      rmSync(join(root, name), { recursive: true, force: true });
  }
  const folder = join(root, String(process.pid));
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  return folder;
}

interface ProcessLink {
  readonly pid: number;
  readonly parent: number;
}

/** `pid`'s parent and whether it has exited (a zombie counts as exited), from Linux's /proc. */
function readProcStat(pid: number): { parent: number; exited: boolean } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses; the fields after it do not.
    const [state, parent] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { parent: Number(parent), exited: state === 'Z' || state === 'X' };
  } catch {
    return undefined;
  }
}

/** Programs that only start other programs: the `npm run dev` chain is made of them. */
const LAUNCHERS = new Set(['node', 'npm', 'npx', 'sh', 'dash', 'tsx']);

function programOf(pid: number): string {
  try {
    const first = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/)[0];
    return first.slice(first.lastIndexOf('/') + 1);
  } catch {
    return '';
  }
}

/**
 * The launchers above this process (`tsx`, `sh`, `npm`, and a test runner's node), nearest first,
 * stopping below the first other program (a login shell, a terminal, a CI agent): those may come
 * and go (`nohup`) without this run having to stop. Empty where /proc is missing.
 */
function launcherAncestors(): ProcessLink[] {
  if (!existsSync('/proc/self/stat')) return [];
  const chain: ProcessLink[] = [];
  let pid = process.ppid;
  while (pid > 1 && chain.length < 32 && LAUNCHERS.has(programOf(pid))) {
    const stat = readProcStat(pid);
    if (!stat) break;
    chain.push({ pid, parent: stat.parent });
    pid = stat.parent;
  }
  return chain;
}

/**
 * Calls `onOrphaned` once when a process that started this one exits. npm passes SIGINT and SIGTERM
 * on to its script's process only; `npm run dev` execs tsx there so they arrive, but a shell in
 * between (`npx tsx local/dev.ts` run from a script, an older package.json) dies of SIGTERM without
 * passing it on, and nothing passes on a kill -9 of npm: the run would keep serving with no one to
 * stop it. Watching the launchers above (each one's state and parent, since an exited process may
 * linger as a zombie) catches those. Without /proc (macOS) it watches the direct parent only.
 */
export function watchAncestors(onOrphaned: (reason: string) => void, intervalMs = 500): () => void {
  const chain = launcherAncestors();
  const originalParent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== originalParent) return fire(`its parent process ${originalParent} exited`);
    for (const [index, link] of chain.entries()) {
      const stat = readProcStat(link.pid);
      // The topmost launcher's own parent (a shell) may exit without this run having to stop.
      const reparented = index < chain.length - 1 && stat?.parent !== link.parent;
      if (!stat || stat.exited || reparented) return fire(`process ${link.pid}, which started it, exited`);
    }
  }, intervalMs);
  timer.unref();
  let fired = false;
  function fire(reason: string): void {
    if (fired) return;
    fired = true;
    clearInterval(timer);
    onOrphaned(reason);
  }
  return () => clearInterval(timer);
}

/**
 * In-memory storage for oidc-provider's models (clients, grants, sessions, codes, tokens) that
 * outlives one Provider instance: a key rotation builds a new provider, and registered clients,
 * sessions and refresh tokens must keep working across it. The library's own memory adapter keeps
 * a store per provider, hence this one, written to its documented adapter interface.
 */

import { readClientFile, writeClientFile } from './client-file.mjs';

type Payload = Record<string, unknown>;

const CLIENT_KEY_PREFIX = 'Client:';

interface Entry {
  readonly payload: Payload;
  readonly expiresAt: number | undefined;
}

export class SharedMemoryStore {
  readonly #entries = new Map<string, Entry>();
  readonly #indexes = new Map<string, string>();
  readonly #grantMembers = new Map<string, Set<string>>();
  readonly #clientsFile: string | undefined;

  /** With `clientsFile`, registered clients are loaded from it and written back on every change. */
  constructor(options: { readonly clientsFile?: string } = {}) {
    this.#clientsFile = options.clientsFile;
    if (this.#clientsFile === undefined) return;
    for (const [id, payload] of readClientFile(this.#clientsFile)) {
      this.#entries.set(`${CLIENT_KEY_PREFIX}${id}`, { payload, expiresAt: undefined });
    }
  }

  #persistClients(key: string): void {
    if (this.#clientsFile === undefined || !key.startsWith(CLIENT_KEY_PREFIX)) return;
    const clients = new Map<string, Payload>();
    for (const [entryKey, entry] of this.#entries) {
      if (entryKey.startsWith(CLIENT_KEY_PREFIX) && entry.expiresAt === undefined)
        clients.set(entryKey.slice(CLIENT_KEY_PREFIX.length), entry.payload);
    }
    writeClientFile(this.#clientsFile, clients);
  }

  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** A copy, so that the library's changes to a loaded model reach the store only through upsert. */
  get(key: string): Payload | undefined {
    const entry = this.#live(key);
    return entry ? structuredClone(entry.payload) : undefined;
  }

  set(key: string, payload: Payload, expiresInSeconds: number | undefined): void {
    const expiresAt = expiresInSeconds === undefined ? undefined : Date.now() + expiresInSeconds * 1000;
    this.#entries.set(key, { payload: structuredClone(payload), expiresAt });
    this.#persistClients(key);
  }

  update(key: string, change: Partial<Payload>): void {
    const entry = this.#live(key);
    if (entry) Object.assign(entry.payload, change);
  }

  delete(key: string): void {
    this.#entries.delete(key);
    this.#persistClients(key);
  }

  index(name: string, value: string, key: string): void {
    this.#indexes.set(`${name}:${value}`, key);
  }

  lookup(name: string, value: string): string | undefined {
    return this.#indexes.get(`${name}:${value}`);
  }

  addGrantMember(grantId: string, key: string): void {
    const members = this.#grantMembers.get(grantId) ?? new Set<string>();
    members.add(key);
    this.#grantMembers.set(grantId, members);
  }

  revokeGrant(grantId: string): void {
    for (const key of this.#grantMembers.get(grantId) ?? []) this.#entries.delete(key);
    this.#grantMembers.delete(grantId);
  }
}

/** One adapter per model name, as oidc-provider asks for them; all share one store. */
export class SharedMemoryAdapter {
  readonly #model: string;
  readonly #store: SharedMemoryStore;

  constructor(model: string, store: SharedMemoryStore) {
    this.#model = model;
    this.#store = store;
  }

  #key(id: string): string {
    return `${this.#model}:${id}`;
  }

  async upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
    const key = this.#key(id);
    this.#store.set(key, payload, expiresIn);
    if (this.#model === 'Session' && typeof payload.uid === 'string') this.#store.index('sessionUid', payload.uid, key);
    if (typeof payload.userCode === 'string') this.#store.index('userCode', payload.userCode, key);
    if (typeof payload.grantId === 'string') this.#store.addGrantMember(payload.grantId, key);
  }

  async find(id: string): Promise<Payload | undefined> {
    return this.#store.get(this.#key(id));
  }

  async findByUid(uid: string): Promise<Payload | undefined> {
    const key = this.#store.lookup('sessionUid', uid);
    return key === undefined ? undefined : this.#store.get(key);
  }

  async findByUserCode(userCode: string): Promise<Payload | undefined> {
    const key = this.#store.lookup('userCode', userCode);
    return key === undefined ? undefined : this.#store.get(key);
  }

  async consume(id: string): Promise<void> {
    this.#store.update(this.#key(id), { consumed: Math.floor(Date.now() / 1000) });
  }

  async destroy(id: string): Promise<void> {
    this.#store.delete(this.#key(id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    this.#store.revokeGrant(grantId);
  }
}

/** The part of dynalite (https://github.com/architect/dynalite) the local DynamoDB uses: an HTTP server speaking DynamoDB's API. */
declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    /** Directory of a LevelDB store; in memory when unset. */
    path?: string;
    /** How long a table stays CREATING (500 ms by default). */
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
  }

  export default function dynalite(options?: DynaliteOptions): Server;
}

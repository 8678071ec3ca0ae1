/** The base of every error of the local stack: its `name` is its class's name (bundles keep class names). */
export abstract class LocalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

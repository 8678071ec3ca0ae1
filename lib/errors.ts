/** The base of every error of the construct and this repository's stage app: its `name` is its class's name (bundles keep class names). */
export abstract class ConstructError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

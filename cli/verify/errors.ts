/** The base of every error of the verify command: its `name` is its class's name (bundles keep class names). */
export abstract class VerifyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

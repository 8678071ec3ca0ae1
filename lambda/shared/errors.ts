/** The base of every error of the contract (`lambda/shared/`): settings, URLs, issuers and bounded fetches: its `name` is its class's name (bundles keep class names). */
export abstract class ContractError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

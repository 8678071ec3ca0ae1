/**
 * API Gateway reads a gateway-response or integration-response header value as a mapping
 * expression: a static string must be wrapped in single quotes (`'value'`), anything else is taken
 * for a `method.request.*` reference. There is no escape for a single quote inside the value.
 */
export function staticHeaderValue(value: string): string {
  if (value.includes("'")) {
    throw new Error(
      `The header value ${JSON.stringify(value)} contains a single quote, which API Gateway cannot carry in a static ` +
        'header value. Remove the quote from the URL, scope or origin it comes from.',
    );
  }
  // CDK tokens inside the value (the API id, the region) stay in place: CDK renders the whole
  // string as an Fn::Join, which CloudFormation resolves to one static, quoted string.
  return `'${value}'`;
}

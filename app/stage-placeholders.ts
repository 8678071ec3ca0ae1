/**
 * The example values cdk.json ships in its `dev` and `prod` stages (an `acme` AuthKit domain, the
 * documentation account 123456789012, an all-zero certificate id, a `Z000...` hosted zone, names
 * under the reserved example.com) are there to be replaced. A stage that still holds one can be
 * synthesized, to read its template, but not deployed: the app says so on every synth, and the
 * stack carries a CloudFormation rule whose assertion cannot hold, so CloudFormation refuses to
 * create or update it before touching any resource
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/rules-section-structure.html).
 */
import { CfnRule, Fn } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { StageConfig } from './stage-fields';

/** One example value left in a stage. */
export interface StagePlaceholder {
  /** The field, dotted for a nested one (`customDomain.certificateArn`). */
  readonly field: string;
  readonly value: string;
  /** What to put there instead. */
  readonly instead: string;
}

/** The AuthKit domains of cdk.json's shipped stages. */
const SHIPPED_AUTHKIT_DOMAINS = ['acme.authkit.app', 'acme-dev.authkit.app'];
/** The account id AWS's documentation uses in examples. */
const EXAMPLE_ACCOUNT = '123456789012';
/** Names reserved for examples by RFC 2606: example.com, .net, .org and the .example top-level domain. */
const EXAMPLE_DOMAIN = /(^|\.)(example\.(com|net|org)|example)\.?$/i;
const ZERO_CERTIFICATE_ID = /:certificate\/[0-]+$/;
const ZERO_HOSTED_ZONE = /^Z0+$/;

const hostOf = (value: string): string => {
  try {
    return new URL(/^[a-z]+:\/\//i.test(value) ? value : `https://${value}`).hostname.toLowerCase();
  } catch {
    return value.toLowerCase();
  }
};

/** The example values left in `stage`, in the order the fields are read. */
export function stagePlaceholders(stage: StageConfig): StagePlaceholder[] {
  const found: StagePlaceholder[] = [];
  const check = (field: string, value: string | undefined, isExample: (value: string) => boolean, instead: string) => {
    if (value !== undefined && isExample(value)) found.push({ field, value, instead });
  };
  const exampleHost = (value: string) => EXAMPLE_DOMAIN.test(hostOf(value));
  check('account', stage.account, (v) => v === EXAMPLE_ACCOUNT, 'the 12-digit id of the AWS account to deploy to');
  check(
    'authkitDomain',
    stage.authkitDomain,
    (v) => SHIPPED_AUTHKIT_DOMAINS.includes(hostOf(v)),
    'your AuthKit domain from the WorkOS dashboard (Connect → Configuration)',
  );
  check('publicBaseUrl', stage.publicBaseUrl, exampleHost, 'the URL your clients reach the API at');
  check('resourceDocumentation', stage.resourceDocumentation, exampleHost, 'the URL of your documentation');
  const domain = stage.customDomain;
  if (domain !== undefined) {
    check('customDomain.domainName', domain.domainName, exampleHost, 'your domain name for the API');
    check(
      'customDomain.certificateArn',
      domain.certificateArn,
      (v) => ZERO_CERTIFICATE_ID.test(v) || v.split(':')[4] === EXAMPLE_ACCOUNT,
      "the ARN of your ACM certificate for the domain, in the stage's region",
    );
    check(
      'customDomain.hostedZoneId',
      domain.hostedZoneId,
      (v) => ZERO_HOSTED_ZONE.test(v),
      'your Route 53 hosted zone id',
    );
    check('customDomain.hostedZoneName', domain.hostedZoneName, exampleHost, "your hosted zone's domain name");
  }
  return found;
}

/** The sentence that names the field, where it is set and what to write instead. */
export function placeholderMessage(stage: string, placeholder: StagePlaceholder): string {
  const { field, value, instead } = placeholder;
  const commandLine = field.includes('.') ? '' : `, or pass -c ${field}=...`;
  return (
    `Stage "${stage}": field "${field}" is still the example value ${JSON.stringify(value)} and cannot be deployed. ` +
    `Set it to ${instead} in cdk.json (context.stages.${stage}.${field})${commandLine}.`
  );
}

/**
 * Adds a rule CloudFormation evaluates before it creates or updates the stack, one assertion per
 * example value, each false by construction and described by {@link placeholderMessage}: a deploy
 * of the stage fails with that sentence. Adds nothing when the stage holds no example value.
 */
export function refuseDeployOfPlaceholders(scope: Construct, stage: StageConfig): void {
  const placeholders = stagePlaceholders(stage);
  if (placeholders.length === 0) return;
  new CfnRule(scope, 'StagePlaceholders', {
    assertions: placeholders.map((placeholder) => ({
      // "the field is not the example value", with the value the synth found on both sides.
      assert: Fn.conditionNot(Fn.conditionEquals(placeholder.value, placeholder.value)),
      assertDescription: placeholderMessage(stage.name, placeholder),
    })),
  });
}

/**
 * The CDK app: one stack per stage, the stage chosen with `-c stage=NAME` (see `stages` in cdk.json).
 *
 *   npx cdk synth -c stage=dev
 *   npx cdk deploy -c stage=prod
 */
import { synthesizeStageApp } from './stage-app';

synthesizeStageApp();

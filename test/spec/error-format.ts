/**
 * A partner's error answer, checked against the error format its published API definition gives
 * (test/fixtures/partner-specs/<partner>.json, errorFormat), so an emulator refuses a request in the
 * shape the partner's SDK and our adapter will really meet.
 */
import { Ajv } from 'ajv';
import type { EmulatorResponse } from '../../src/emulator.ts';
import { partnerSpec } from './partner-specs.ts';

const ajv = new Ajv({ allErrors: true, strict: false });

/** What is wrong with the answer as the partner's error format; [] when it matches. */
export function errorFormatProblems(partner: string, response: EmulatorResponse): string[] {
  const spec = partnerSpec(partner);
  if (spec === undefined) throw new Error(`no API definition extract for partner ${partner}`);
  const format = spec.errorFormat;
  const type = Object.entries(response.headers ?? {}).find(([name]) => name.toLowerCase() === 'content-type')?.[1];
  const problems: string[] = [];
  if (response.status < 400) problems.push(`status ${response.status} is not an error`);
  if (format.contentType && !(type ?? '').startsWith(format.contentType)) {
    problems.push(`content type ${type ?? '(none)'}, not ${format.contentType}`);
  }
  if (format.jsonStringOrEmpty) {
    // balena (pinejs): a JSON string, or no body at all.
    const body = response.body;
    if (!(body === undefined || (typeof body === 'string' && isJsonString(body)))) problems.push('not a JSON string');
    if (body !== undefined && !(type ?? '').startsWith('application/json')) problems.push('not application/json');
    return problems;
  }
  const validate = ajv.compile(format.schema ?? {});
  const body = typeof response.body === 'string' ? JSON.parse(response.body) : response.body;
  if (!validate(body))
    problems.push(...(validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message}`));
  return problems;
}

function isJsonString(text: string): boolean {
  try {
    return typeof JSON.parse(text) === 'string';
  } catch {
    return false;
  }
}

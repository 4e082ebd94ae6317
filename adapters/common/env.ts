/**
 * Partner options from environment variables, declared once per partner as a zod schema: the schema
 * says which variables exist, which are required and what each means (README's list is checked
 * against it), and every partner reports a missing or invalid variable in the same words, naming the
 * variable and never its value. Generic plumbing: no partner API knowledge lives here.
 */
import { z } from 'zod';
import { assertSafeBaseUrl } from '../../src/adapter.ts';
import type { EnvVariable } from '../../src/emulator.ts';

type Env = Readonly<Record<string, string | undefined>>;

/** One described variable: `.describe()` is required, it is what README and --help show. */
type VariableSchema = z.ZodType;

export interface EnvOptions<Options> {
  /** Reads exactly the declared variables; throws one Error naming every missing or invalid one. */
  optionsFromEnv(env: Env): Options;
  /** The declared variables, for documentation and checks. */
  readonly environment: readonly EnvVariable[];
}

/**
 * `variables` maps each variable name to its schema (optional ones `.optional()`), each with a
 * description; `refine` may add cross-variable rules (issues with the variable's name as path);
 * `toOptions` maps the parsed variables to the adapter's options.
 */
export function optionsFromEnvSchema<Shape extends Record<string, VariableSchema>, Options>(
  partner: string,
  variables: Shape,
  toOptions: (values: z.output<z.ZodObject<Shape>>) => Options,
  refine?: (values: z.output<z.ZodObject<Shape>>, ctx: z.RefinementCtx) => void,
): EnvOptions<Options> {
  const environment = Object.entries(variables).map(([name, schema]): EnvVariable => {
    // `.optional()` wraps the described schema: its description is the inner one's.
    const description =
      schema.description ?? (schema instanceof z.ZodOptional ? (schema.unwrap() as z.ZodType).description : undefined);
    if (!description) throw new Error(`${partner}: environment variable ${name} has no description`);
    return { name, required: !schema.safeParse(undefined).success, description };
  });
  const object = z.object(variables);
  const schema = refine ? object.superRefine(refine) : object;

  return {
    environment,
    optionsFromEnv(env) {
      // Only the declared variables are read; blank counts as unset (a stray `FOO=` in a .env file).
      const raw: Record<string, string | undefined> = {};
      for (const name of Object.keys(variables)) {
        const value = env[name]?.trim();
        raw[name] = value === '' ? undefined : value;
      }
      const parsed = schema.safeParse(raw);
      if (parsed.success) return toOptions(parsed.data as z.output<z.ZodObject<Shape>>);
      const problems = parsed.error.issues.map((issue) => {
        const name = String(issue.path[0] ?? '(environment)');
        // The issue's message is the schema's own words (below), never the value.
        if (raw[name] === undefined)
          return issue.code === 'custom' ? `${name} is missing (${issue.message})` : `${name} is missing`;
        return `${name} is invalid (${issue.message})`;
      });
      throw new Error(`${partner}: environment variable ${[...new Set(problems)].join('; ')}`);
    },
  };
}

/** Builders for the usual kinds of variable; each message says what is expected, never what was found. */
export const envVariable = {
  /** A credential or id: any non-blank text. */
  text: (description: string) => z.string().describe(description),

  /** Text matching a pattern, with the expectation in words. */
  matching: (description: string, pattern: RegExp, expected: string) =>
    z
      .string()
      .regex(pattern, { error: `expected ${expected}` })
      .describe(description),

  /** An API origin (and path): https, or http on loopback only. */
  baseUrl: (partner: string, description: string) =>
    z
      .string()
      .superRefine((value, ctx) => {
        try {
          assertSafeBaseUrl(partner, value);
        } catch (err) {
          // assertSafeBaseUrl's messages name the rule, never the URL: drop its "partner: " prefix.
          ctx.addIssue({ code: 'custom', message: (err as Error).message.replace(`${partner}: `, '') });
        }
      })
      .describe(description),

  /** true/false (also 1/0, any case). */
  flag: (description: string) =>
    z
      .string()
      .transform((value, ctx) => {
        const lower = value.toLowerCase();
        if (lower === 'true' || lower === '1') return true;
        if (lower === 'false' || lower === '0') return false;
        ctx.addIssue({ code: 'custom', message: 'expected true or false' });
        return z.NEVER;
      })
      .describe(description),
};

/** `policy check` and `notice`: the policy the gateway enforces, and the public notice rendered from it. */
import { Option, type Command } from 'commander';
import { loadPolicyFile, type Policy } from '../../policy/index.ts';
import { renderNotice } from '../../policy/notice.ts';
import { summarisePolicy } from '../../policy/summary.ts';
import type { CliContext } from '../context.ts';
import { action } from '../action.ts';
import { line, printJson, write } from '../output.ts';

/** An explicit file, else the config's policy (when there is a config), else the package default. */
async function policyFor(ctx: CliContext, file: string | undefined): Promise<Policy> {
  return file ? loadPolicyFile(file) : ctx.policy({ configRequired: false });
}

export function policyCommand(program: Command): void {
  const group = program.command('policy').description('the data map the gateway enforces');
  group
    .command('check')
    .description(
      "validate the policy (the config's, or the file given) and summarise it; non-zero exit on a broken policy",
    )
    .argument('[file]', 'a policy YAML file')
    .action(
      action(async (ctx, file: string | undefined) => {
        const policy = await policyFor(ctx, file);
        if (ctx.json) return printJson(policyJson(policy));
        await write(summarisePolicy(policy));
        await line();
        await line(`policy OK: ${policy.partnerNames.length} partner(s)`);
      }),
    );
}

function policyJson(policy: Policy) {
  return {
    ok: true,
    source: policy.source,
    digest: policy.digest,
    partners: policy.partnerNames.map((name) => {
      const p = policy.partner(name);
      return {
        partner: name,
        displayName: p.displayName,
        mode: p.mode,
        purpose: p.purpose,
        legalBasis: policy.legalBasis(name),
        sends: p.sends,
        fields: policy.allowedFields(name),
        requires: p.requires,
        collects: p.collects,
        erasure: p.erasure,
        consent: p.consent ?? null,
      };
    }),
  };
}

export function noticeCommand(program: Command): void {
  program
    .command('notice')
    .description('render the public privacy notice ("where your data is") from the policy')
    .addOption(new Option('--lang <lang>', 'language').choices(['sv', 'en']).default('sv'))
    .addOption(new Option('--format <format>', 'output format').choices(['md', 'html', 'text']).default('md'))
    .option('--policy <file>', "a policy YAML file (default: the config's, or the package's)")
    .action(
      action(async (ctx, flags: { lang: 'sv' | 'en'; format: 'md' | 'html' | 'text'; policy?: string }) => {
        const policy = await policyFor(ctx, flags.policy);
        const text = renderNotice(policy, { lang: flags.lang, format: flags.format });
        if (ctx.json) return printJson({ lang: flags.lang, format: flags.format, policyDigest: policy.digest, text });
        await write(text.endsWith('\n') ? text : `${text}\n`);
      }),
    );
}

/**
 * Regenerates the rendered notices in examples/ from config/policy.yaml:
 *   npx node examples/render-notice.ts [policy.yaml]
 * test/policy/notice.test.ts fails when these files no longer match the policy, so a policy change
 * that would alter the public notice cannot go unnoticed.
 */
import { writeFileSync } from 'node:fs';
import { loadPolicyFile } from '../src/policy/load.ts';
import { renderNotice, type NoticeFormat, type NoticeLang } from '../src/policy/notice.ts';

export const renderedExamples: readonly {
  readonly file: string;
  readonly lang: NoticeLang;
  readonly format: NoticeFormat;
}[] = [
  { file: 'notice.sv.md', lang: 'sv', format: 'md' },
  { file: 'notice.en.md', lang: 'en', format: 'md' },
  { file: 'notice.sv.html', lang: 'sv', format: 'html' },
  { file: 'notice.en.html', lang: 'en', format: 'html' },
];

if (import.meta.main) {
  const policy = loadPolicyFile(process.argv[2]);
  for (const { file, lang, format } of renderedExamples) {
    const url = new URL(file, import.meta.url);
    writeFileSync(url, renderNotice(policy, { lang, format }));
    console.log(`wrote examples/${file}`);
  }
}

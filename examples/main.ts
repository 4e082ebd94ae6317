/**
 * The main job (`npm start`): everything partner-gateway does, end to end, on a fresh machine with no
 * credentials and no database server. It starts the partner sandbox on loopback, opens an embedded
 * store in a temporary directory, loads the made-up customers in examples/customers.json, resyncs
 * every partner, then walks through a consent withdrawal, a restriction, an alarm call, an erasure
 * request and a month-end erasure, and finally compares what each partner holds (read from the
 * sandbox) with what the policy allows. It exits non-zero if any partner holds a field outside its
 * allowlist or anything of an erased subject, or if the transfer log does not verify.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { partnerModules } from '../adapters/index.ts';
import type { Auth0Emulator } from '../adapters/auth0/index.ts';
import type { ResinEmulator } from '../adapters/resin/index.ts';
import { createGateway } from '../src/gateway.ts';
import { erasureDueAt } from '../src/erasure-schedule.ts';
import { loadPolicyFile } from '../src/policy/index.ts';
import { parseMasterRecord, type MasterRecordInput } from '../src/record.ts';
import { startSandbox } from '../src/sandbox/index.ts';
import { createOpsMetrics } from '../src/server/index.ts';
import { checkHoldings, formatTable } from './holdings-check.ts';
import { serveUntilStopped } from './serve-demo.ts';

const started = Date.now();
// `npm start -- --serve`: the walk-through, then the ops server until Ctrl-C.
const serve = process.argv.includes('--serve');
const metrics = serve ? createOpsMetrics() : undefined;
const say = (line = '') => process.stdout.write(`${line}\n`);
const step = (title: string) => say(`\n== ${title}`);

const customers = JSON.parse(readFileSync(new URL('./customers.json', import.meta.url), 'utf8')) as MasterRecordInput[];
const policy = loadPolicyFile();
const records = new Map<string, MasterRecordInput>(customers.map((c) => [c.id, structuredClone(c)]));

step(`Sandbox: ${partnerModules.length} partner emulators on loopback`);
const emulators = partnerModules.map((m) => m.createEmulator());
const sandbox = await startSandbox({ emulators });
// The cameras report their addresses to balena themselves; the sandbox's balena starts with them.
const resin = sandbox.emulators.resin as ResinEmulator;
let ip = 0;
for (const c of customers) {
  const ids = c.partnerIds?.resin;
  for (const id of ids === undefined ? [] : Array.isArray(ids) ? ids : [ids]) {
    ip++;
    resin.seedDevice({ id: Number(id), ip_address: `192.0.2.${ip % 250}`, public_address: `198.51.100.${ip % 250}` });
  }
}
// Customers who signed up through the app's login already have an Auth0 user: the sandbox tenant too.
const auth0 = sandbox.emulators.auth0 as Auth0Emulator;
for (const c of customers) {
  const id = c.partnerIds?.auth0;
  if (typeof id === 'string' && c.email) auth0.seedUser({ user_id: id, email: c.email });
}
for (const m of partnerModules) say(`  ${m.partner.padEnd(10)} ${sandbox.url(m.partner)}`);

const dataDir = mkdtempSync(join(tmpdir(), 'partner-gateway-main-'));
const clock = { now: new Date() };
const events = { anonymised: [] as string[], erased: [] as string[] };
const gateway = await createGateway({
  policy,
  database: { dataDir },
  adapters: partnerModules.map((m) => m.createAdapter(m.sandboxOptions(sandbox.url(m.partner)))),
  source: {
    get: async (id) => records.get(id) ?? null,
    async *scan() {
      yield* records.values();
    },
  },
  secrets: { pseudonymKey: 'main-job-demo-key-not-for-production' },
  hooks: {
    anonymiseCameraData: async (id) => void events.anonymised.push(id),
    erased: async (id) => void events.erased.push(id),
  },
  now: () => clock.now,
  logger: pino({ level: process.env.PARTNER_GATEWAY_LOG_LEVEL ?? 'error' }),
  // The sandbox here enforces no rate limits, so the gateway need not pace either: at Auth0's
  // free-plan 2 calls/s the walk-through would wait two minutes on its 260 users alone. The
  // benchmark (npm run bench) runs the partners' real limits against the paced gateway.
  limits: Object.fromEntries(partnerModules.map((m) => [m.partner, { perSecond: undefined }])),
  ...(metrics ? { observer: metrics.observer } : {}),
});
say(
  `  embedded store in ${dataDir}; partner rate limits off in the sandbox and the gateway (npm run bench measures them)`,
);

try {
  step(`Consent: ${customers.length} customers, marketing consent for every third`);
  const subscribers = customers.filter((_, i) => i % 3 === 0).map((c) => c.id);
  for (const id of subscribers)
    await gateway.consent.grant(id, 'marketing', { source: 'signup-form', evidence: `form-${id}` });
  say(`  ${subscribers.length} grants in the consent ledger`);

  step('Resync: every partner, from the master records');
  const summary = await gateway.resync({ operator: 'main-job' });
  say(`  scanned ${summary.scanned} records (${summary.invalid} invalid), ${summary.enqueued} jobs enqueued`);
  await workWithProgress();
  say(
    formatTable(
      ['partner', 'creates', 'updates', 'erasures', 'unchanged', 'skipped'],
      Object.entries(summary.perPartner).map(([p, c]) => [p, c.creates, c.updates, c.erasures, c.unchanged, c.skipped]),
    ),
  );

  const again = await gateway.resync({ dryRun: true });
  const unchanged = Object.values(again.perPartner).reduce((n, c) => n + c.unchanged, 0);
  const pending = Object.values(again.perPartner).reduce((n, c) => n + c.creates + c.updates + c.erasures, 0);
  say(`  a second resync would make ${pending} calls (${unchanged} pairs unchanged)`);

  const active = customers.filter((c) => !c.subscription?.end && c.phone && c.email && c.address).map((c) => c.id);
  const [withdrawing, restricted, caller, requester, leaving] = [
    subscribers.find((id) => active.includes(id))!,
    active[1]!,
    active[2]!,
    active[4]!,
    active[5]!,
  ];

  step(`Consent withdrawal by written notice: ${withdrawing}`);
  await gateway.consent.withdraw(withdrawing, 'marketing', {
    source: 'written-notice',
    evidence: 'letter-2026-0042',
    operator: 'main-job',
  });
  await gateway.runUntilIdle();
  await gateway.resync({ partner: 'mailchimp' });
  await gateway.runUntilIdle();
  say(`  Mailchimp status now: ${mailchimpStatus(withdrawing)} (a resync afterwards wrote no subscription)`);

  step(`Restriction: ${restricted}, then a corrected address`);
  await gateway.restrict(restricted, 'accuracy disputed', { operator: 'main-job' });
  const before = await transferCount(restricted);
  records.get(restricted)!.address = { street: 'Rättad gata 1', postalCode: '11122', city: 'Stockholm', country: 'SE' };
  await gateway.changed(restricted);
  await gateway.runUntilIdle();
  say(`  transfers while restricted: ${(await transferCount(restricted)) - before}`);
  await gateway.unrestrict(restricted, { operator: 'main-job' });
  await gateway.runUntilIdle();
  say(
    `  after unrestrict, E-logistik got the corrected address: ${(await transferCount(restricted)) > before ? 'yes' : 'no'}`,
  );

  step(`Alarm call through Twilio: ${caller}`);
  const call = await gateway.call(
    caller,
    'alarm',
    { twiml: '<Response><Say language="sv-SE">Larm</Say></Response>' },
    { operator: 'main-job' },
  );
  say(`  call placed, sid ${call.partnerId}`);

  step(`Erasure request: ${requester} and the alarm-called ${caller}`);
  await gateway.erase(requester, { reason: 'erasure request (written)', operator: 'main-job' });
  await gateway.erase(caller, { reason: 'erasure request (written)', operator: 'main-job' });
  await gateway.runUntilIdle();
  for (const id of [requester, caller]) {
    const status = await gateway.erasureStatus(id);
    say(
      `  ${id}: ${status.complete ? 'erased at every partner' : 'NOT complete'} (${status.partners.map((p) => `${p.partner} ${p.state}`).join(', ')})`,
    );
  }

  step(`Month-end erasure: ${leaving} ends the subscription today`);
  records.get(leaving)!.subscription = {
    start: records.get(leaving)!.subscription?.start ?? new Date('2024-01-01'),
    end: clock.now,
  };
  await gateway.changed(leaving);
  await gateway.runUntilIdle();
  const due = erasureDueAt(clock.now, policy.document.retention.timeZone);
  say(
    `  erasure due at ${due.toISOString()} (first month boundary, Europe/Stockholm); still held now: ${(await gateway.erasureStatus(leaving)).complete ? 'no' : 'yes'}`,
  );
  clock.now = new Date(due.getTime() + 60_000);
  say(`  clock moved past the boundary: ${await gateway.processDueErasures()} erasure(s) fell due`);
  await gateway.runUntilIdle();
  const leavingStatus = await gateway.erasureStatus(leaving);
  say(
    `  ${leaving}: ${leavingStatus.complete ? 'erased at every partner' : 'NOT complete'} (${leavingStatus.partners.map((p) => `${p.partner} ${p.state}`).join(', ')})`,
  );
  say(
    `  host hooks: camera data anonymised for ${events.anonymised.length}, erased reported for ${events.erased.length}`,
  );

  step('What each partner holds now (from the sandbox) against the policy');
  const erased = [requester, caller, leaving].map((id) => parseMasterRecord(customers.find((c) => c.id === id)));
  const check = checkHoldings(policy, sandbox, erased);
  say(check.table);

  step('Transfers by partner and operation (outcome rows)');
  const counts = await gateway.database.query<{ partner: string; operation: string; ok: number; failed: number }>(
    `select partner, operation, count(*) filter (where outcome = 'ok')::int as ok, count(*) filter (where outcome <> 'ok')::int as failed
     from transfer_log where kind = 'outcome' group by 1, 2 order by 1, 2`,
  );
  say(
    formatTable(
      ['partner', 'operation', 'ok', 'failed'],
      counts.map((c) => [c.partner, c.operation, c.ok, c.failed]),
    ),
  );

  step('Audit');
  const verify = await gateway.audit.verify();
  say(
    `  audit verify: ${verify.ok ? 'OK' : 'FAILED'}, ${verify.rowsChecked} rows in the hash chain${verify.problems.length ? `; ${verify.problems.map((p) => p.problem).join('; ')}` : ''}`,
  );

  const failures = [...check.violations, ...(verify.ok ? [] : ['the transfer log does not verify'])];
  say(
    `\n${failures.length === 0 ? 'PASS' : 'FAIL'}: ${failures.length === 0 ? 'every partner holds only what the policy allows, and nothing of an erased subject' : failures.join('; ')} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
  process.exitCode = failures.length === 0 ? 0 : 1;
  if (metrics) await serveUntilStopped(gateway, metrics, {}, say);
} finally {
  await gateway.stop();
  await sandbox.close();
  rmSync(dataDir, { recursive: true, force: true });
}

async function workWithProgress(): Promise<void> {
  const run = gateway.runUntilIdle({ timeoutMs: 300_000 });
  let done = false;
  void run.finally(() => (done = true));
  while (!done) {
    await new Promise((r) => setTimeout(r, 1_000));
    if (done) break;
    const status = await gateway.status();
    say(`  working: ${status.partners.map((p) => `${p.partner} ${p.queued + p.active} left`).join(', ')}`);
  }
  await run;
}

async function transferCount(subjectId: string): Promise<number> {
  return (await gateway.audit.list({ subjectId, kind: 'intent' })).length;
}

function mailchimpStatus(subjectId: string): string {
  const email = records.get(subjectId)?.email;
  const held = Object.values(sandbox.emulators.mailchimp!.holdings()).find((h) => h.personal.email === email);
  return String(held?.meta.status ?? 'not held');
}

/**
 * "Complete" is true when it is said (issue 9, items 5, 6, 8), with the real adapters against the
 * partners' emulators: the camera hook's success is part of completeness, a partner of the policy
 * without an adapter keeps the erasure incomplete until an operator records erasing it by hand, and
 * what stops re-creation outlives the one-year retention purge.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PartnerAdapter } from '../../src/adapter.ts';
import { createGateway, type Gateway } from '../../src/gateway.ts';
import { renderAccessReport } from '../../src/lifecycle/index.ts';
import { LifecycleInputError } from '../../src/lifecycle/inputs.ts';
import type { LifecycleHooks } from '../../src/lifecycle/types.ts';
import { loadPolicyFile } from '../../src/policy/index.ts';
import type { PartnerLimits } from '../../src/transfer/rate-limit.ts';
import {
  canariesOf,
  canaryRecord,
  MemorySource,
  startTestPartners,
  type TestPartners,
} from '../../src/testing/index.ts';
import { testDatabase } from '../support/database.ts';
import { testSecrets } from '../support/harness.ts';
import { capturedLogger } from '../support/log-capture.ts';
import { tableText } from './helpers.ts';

const policy = loadPolicyFile();

let partners: TestPartners;
beforeAll(async () => {
  partners = await startTestPartners();
});
afterAll(() => partners.stop());

interface Running {
  gateway: Gateway;
  source: MemorySource;
  clock: { now: Date };
  logText(): string;
  close(): Promise<void>;
}
let running: Running | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
  partners.reset();
});

async function start(
  records: unknown[],
  options: { hooks?: LifecycleHooks; without?: readonly string[] } = {},
): Promise<Running> {
  const db = await testDatabase();
  const { logger, text } = capturedLogger();
  const clock = { now: new Date('2026-03-10T12:00:00Z') };
  const source = new MemorySource(records);
  const adapters: PartnerAdapter[] = partners.adapters().filter((a) => !options.without?.includes(a.partner));
  const gateway = await createGateway({
    policy,
    database: db,
    adapters,
    source,
    secrets: testSecrets,
    logger,
    now: () => clock.now,
    hooks: options.hooks ?? {},
    limits: Object.fromEntries(policy.partnerNames.map((p) => [p, { perSecond: undefined } satisfies PartnerLimits])),
  });
  running = {
    gateway,
    source,
    clock,
    logText: text,
    close: async () => {
      await gateway.stop();
      await db.close();
      await db.drop();
    },
  };
  return running;
}

const heldCount = () => Object.values(partners.allHoldings()).reduce((n, h) => n + Object.keys(h).length, 0);
const requestCount = () => partners.partners.reduce((n, p) => n + partners.requests(p).length, 0);
const later = (r: Running, ms: number) => {
  r.clock.now = new Date(r.clock.now.getTime() + ms);
};
const MINUTE = 60_000;
const YEAR_AND_A_DAY = 366 * 24 * 3600_000;

describe('the camera hook is part of completeness', () => {
  it('failing three times keeps the erasure incomplete, named in status, with backoff; then complete and `erased` once', async () => {
    const record = canaryRecord(61);
    let failures = 3;
    const hooks = {
      anonymiseCameraData: vi.fn(async () => {
        if (failures-- > 0) throw new Error(`camera archive refused ${record.name!.given}`);
      }),
      erased: vi.fn(async () => undefined),
    };
    const r = await start([record], { hooks });
    await r.gateway.changed(record.id);
    await r.gateway.runUntilIdle();
    const erasedAt = r.clock.now;
    await r.gateway.erase(record.id, { reason: 'data subject request', operator: 'ops-kim' });
    await r.gateway.runUntilIdle();
    await r.gateway.processDueErasures();
    // Every partner confirmed: nothing is held anywhere, but the camera data is not anonymised yet.
    expect(partners.allHoldings()).toEqual(Object.fromEntries(partners.partners.map((p) => [p, {}])));
    let status = await r.gateway.erasureStatus(record.id);
    expect(status.complete).toBe(false);
    expect(status.missing).toEqual([
      {
        kind: 'hook',
        hook: 'anonymiseCameraData',
        since: erasedAt,
        detail: expect.stringMatching(/^failed 1 time\(s\), next attempt at 2026-03-10T12:01:00.000Z$/),
      },
    ]);
    expect(hooks.erased).not.toHaveBeenCalled();

    // Not on every processDueErasures(): only once the backoff (1, 2, 4 minutes...) ran out.
    await r.gateway.processDueErasures();
    await r.gateway.processDueErasures();
    expect(hooks.anonymiseCameraData).toHaveBeenCalledTimes(1);
    later(r, MINUTE);
    await r.gateway.processDueErasures();
    expect(hooks.anonymiseCameraData).toHaveBeenCalledTimes(2);
    later(r, MINUTE);
    await r.gateway.processDueErasures();
    expect(hooks.anonymiseCameraData).toHaveBeenCalledTimes(2);
    later(r, MINUTE);
    await r.gateway.processDueErasures();
    expect(hooks.anonymiseCameraData).toHaveBeenCalledTimes(3);

    // Two days on, still failing (the next attempt is 4 minutes after the third): overdue in status.
    later(r, 2 * 24 * 3600_000 - 3 * MINUTE - 1);
    const ops = await r.gateway.status();
    expect(ops.erasures).toMatchObject({ pending: 1, overdue: 1 });
    expect(ops.erasures.incomplete).toEqual([
      {
        subjectId: record.id,
        dueAt: erasedAt,
        overdue: true,
        missing: [expect.objectContaining({ kind: 'hook', hook: 'anonymiseCameraData', since: erasedAt })],
      },
    ]);
    expect(ops.erasures.incomplete[0]!.missing[0]!.detail).toMatch(/^failed 3 time\(s\)/);
    // The subject's own access report says what is left, and since when.
    const report = await r.gateway.access(record.id);
    expect(report.erasure).toMatchObject({ complete: false, missing: [{ kind: 'hook', since: erasedAt }] });
    const en = renderAccessReport(report, policy, { lang: 'en', format: 'md' });
    expect(en).toContain('What is left before the erasure is complete');
    expect(en).toMatch(/\| Camera data not anonymised yet \| – \| 2026-03-10 13:00 \|/);
    expect(renderAccessReport(report, policy, { lang: 'sv', format: 'md' })).toContain(
      'Kameradata är inte anonymiserade',
    );
    expect(hooks.erased).not.toHaveBeenCalled();

    // Even a year on, the purge keeps the subject's rows while the hook is owed: status still knows.
    later(r, YEAR_AND_A_DAY);
    expect((await r.gateway.purgeExpired()).subjects).toBe(0);
    expect((await r.gateway.erasureStatus(record.id)).missing.map((m) => m.kind)).toEqual(['hook']);

    await r.gateway.processDueErasures(); // the fourth attempt succeeds
    expect(hooks.anonymiseCameraData).toHaveBeenCalledTimes(4);
    status = await r.gateway.erasureStatus(record.id);
    expect(status).toMatchObject({ complete: true, missing: [] });
    expect(hooks.erased).toHaveBeenCalledExactlyOnceWith(record.id);
    await r.gateway.processDueErasures();
    expect(hooks.erased).toHaveBeenCalledTimes(1);
    expect((await r.gateway.status()).erasures).toMatchObject({ pending: 0, overdue: 0, incomplete: [] });
    const log = r.logText();
    expect(log).toContain('lifecycle hook failed');
    for (const canary of canariesOf(record)) expect(log).not.toContain(canary);
  });
});

describe('a partner of the policy with no adapter configured', () => {
  it('keeps the erasure incomplete, naming the partner, until an operator records erasing it by hand', async () => {
    const record = canaryRecord(62);
    const hooks = { erased: vi.fn(async () => undefined) };
    const r = await start([record], { hooks, without: ['intercom'] });
    await r.gateway.changed(record.id);
    await r.gateway.runUntilIdle();
    const erasedAt = r.clock.now;
    await r.gateway.erase(record.id, { reason: 'data subject request', operator: 'ops-kim' });
    await r.gateway.runUntilIdle();
    await r.gateway.processDueErasures();
    // The partners the gateway reaches hold nothing; Intercom is not reachable from here.
    for (const p of partners.partners.filter((p) => p !== 'intercom')) expect(partners.holdings(p)).toEqual({});
    let status = await r.gateway.erasureStatus(record.id);
    expect(status.complete).toBe(false);
    expect(status.partners.find((p) => p.partner === 'intercom')).toMatchObject({ state: 'no-adapter' });
    expect(status.missing).toEqual([
      { kind: 'no-adapter', partner: 'intercom', since: erasedAt, detail: expect.stringContaining('no adapter') },
    ]);
    expect((await r.gateway.status()).erasures.incomplete.map((e) => e.missing)).toEqual([status.missing]);
    expect(hooks.erased).not.toHaveBeenCalled();

    // Only the partner without an adapter, only with an operator, only for an erasure waiting there.
    const manual = { operator: 'ops-lina', reason: 'deleted in the Intercom inbox, ticket 1187' };
    await expect(r.gateway.recordManualErasure(record.id, 'stripe', manual)).rejects.toThrow(/stripe has an adapter/);
    await expect(r.gateway.recordManualErasure(record.id, 'nosuch', manual)).rejects.toThrow(LifecycleInputError);
    await expect(
      r.gateway.recordManualErasure(record.id, 'intercom', { operator: '', reason: manual.reason }),
    ).rejects.toThrow(/operator/);
    await expect(r.gateway.recordManualErasure('subj-other', 'intercom', manual)).rejects.toThrow(
      /no erasure of this subject is waiting for intercom/,
    );
    expect((await r.gateway.erasureStatus(record.id)).complete).toBe(false);
    // A year on, the purge keeps what is owed visible rather than forgetting it.
    later(r, YEAR_AND_A_DAY);
    expect((await r.gateway.purgeExpired()).subjects).toBe(0);
    expect((await r.gateway.erasureStatus(record.id)).missing).toEqual(status.missing);

    status = await r.gateway.recordManualErasure(record.id, 'intercom', manual);
    expect(status).toMatchObject({ complete: true, missing: [] });
    expect(status.partners.find((p) => p.partner === 'intercom')).toMatchObject({ state: 'erased-manually' });
    expect(hooks.erased).toHaveBeenCalledExactlyOnceWith(record.id);
    const events = await r.gateway.audit.list({ subjectId: record.id });
    expect(events.filter((e) => e.operation === 'manual_erasure')).toEqual([
      expect.objectContaining({ partner: 'intercom', operator: 'ops-lina', trigger: 'ops' }),
    ]);
    // The reason stays out of the log.
    expect(await tableText(r, 'transfer_log')).not.toContain('ticket 1187');
  });
});

describe('resurrection after the retention purge', () => {
  it('a host that still has the record a year later gets nothing re-created anywhere, and nothing is sent', async () => {
    const record = canaryRecord(63);
    const r = await start([record]);
    await r.gateway.consent.grant(record.id, 'marketing', { source: 'web-form', evidence: 'form-0063' });
    await r.gateway.changed(record.id);
    await r.gateway.runUntilIdle();
    expect(heldCount()).toBeGreaterThanOrEqual(5);
    await r.gateway.erase(record.id, { reason: 'data subject request' });
    await r.gateway.runUntilIdle();
    await r.gateway.processDueErasures();
    expect((await r.gateway.erasureStatus(record.id)).complete).toBe(true);
    expect(heldCount()).toBe(0);

    later(r, YEAR_AND_A_DAY);
    expect(await r.gateway.purgeExpired()).toMatchObject({ subjects: 1, tombstonesPurged: 1 });
    // What outlives the purge holds no subject id and no personal value.
    const marks = await tableText(r, 'erasure_marks');
    expect(marks).not.toBe('');
    expect(marks).not.toContain(record.id);
    for (const canary of canariesOf(record)) expect(marks).not.toContain(canary);

    // The host still has the record, and changes it: a change, a resync, a forced resync.
    const sent = requestCount();
    r.source.put({ ...record, name: { given: 'CanaryRenamed63x7q', family: record.name!.family } });
    await r.gateway.changed(record.id);
    await r.gateway.resync();
    await r.gateway.resync({ force: true });
    await r.gateway.runUntilIdle();
    await r.gateway.processDueErasures();
    await r.gateway.runUntilIdle();
    expect(heldCount()).toBe(0);
    expect(requestCount()).toBe(sent);
    // Consent cannot be recorded for the erased subject either.
    await expect(
      r.gateway.consent.grant(record.id, 'marketing', { source: 'web-form', evidence: 'form-0064' }),
    ).rejects.toThrow(LifecycleInputError);
  });
});

/**
 * Issue 9, classes 2 and 3: ids a partner holds that the gateway never sent (balena devices named
 * by the host's record, Twilio calls) are remembered from the first time they are seen, so an
 * erasure reaches them whatever the record says later, or when the record is gone.
 */
import { describe, expect, it } from 'vitest';
import type { PartnerEmulator } from '../../src/emulator.ts';
import { canaryRecord } from '../../src/testing/index.ts';
import { realGatewaySuite, type RealGateway } from '../support/real-gateway.ts';

type Balena = PartnerEmulator & { seedDevice(seed: Record<string, unknown>): { id: number } };

const suite = realGatewaySuite();
let running: RealGateway | undefined;

const devices = () => Object.keys(suite.partners.holdings('resin')).sort();

describe('partner ids the gateway learned from the host or a partner', () => {
  it('are erased at balena and Twilio after the host dropped them from its record and then deleted the record', async () => {
    const balena = suite.partners.emulator<Balena>('resin');
    const [first, second, someoneElses] = [1, 2, 3].map((n) =>
      String(balena.seedDevice({ ip_address: `192.0.2.${n}` }).id),
    );
    const named = (ids: string[]) => canaryRecord(1, { partnerIds: { resin: ids } });
    running = await suite.start({ records: [named([first!, second!])] });
    const { gateway, source } = running;
    await gateway.changed('subj-1');
    await gateway.runUntilIdle();
    const call = await gateway.call('subj-1', 'alarm', { twiml: '<Response><Say>Alarm</Say></Response>' });
    expect(Object.keys(suite.partners.holdings('twilio'))).toEqual([call.partnerId]);

    // The camera is replaced: the record names only the second device now. Then the host deletes it.
    source.put(named([second!]));
    await gateway.changed('subj-1');
    await gateway.runUntilIdle();
    expect(devices()).toEqual([first, second, someoneElses].sort());
    source.delete('subj-1');

    await gateway.erase('subj-1', { reason: 'erasure request' });
    await gateway.runUntilIdle();
    expect(devices()).toEqual([someoneElses]);
    expect(suite.partners.holdings('twilio')).toEqual({});
    for (const p of suite.partners.partners.filter((p) => p !== 'resin'))
      expect(suite.partners.holdings(p), p).toEqual({});
    const status = await gateway.erasureStatus('subj-1');
    expect(status.complete).toBe(true);
    expect(status.partners.find((p) => p.partner === 'resin')!.state).toBe('confirmed');
    expect(running.anonymised).toEqual(['subj-1']);
  });

  it('reach every partner of the policy when the record vanished before erasure ran', async () => {
    const balena = suite.partners.emulator<Balena>('resin');
    const device = String(balena.seedDevice({ ip_address: '192.0.2.9' }).id);
    running = await suite.start({ records: [canaryRecord(2, { partnerIds: { resin: [device] } })] });
    const { gateway, source } = running;
    await gateway.changed('subj-2');
    await gateway.runUntilIdle();
    await gateway.call('subj-2', 'alarm', { twiml: '<Response><Say>Alarm</Say></Response>' });
    source.delete('subj-2');
    await gateway.changed('subj-2');
    await gateway.runUntilIdle();

    await gateway.erase('subj-2', { reason: 'erasure request' });
    await gateway.runUntilIdle();
    for (const p of suite.partners.partners) expect(suite.partners.holdings(p), p).toEqual({});
    expect((await gateway.erasureStatus('subj-2')).complete).toBe(true);
    expect(running.anonymised).toEqual(['subj-2']);
  });
});

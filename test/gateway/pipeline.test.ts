import { afterEach, describe, expect, it } from 'vitest';
import { canaryRecord } from '../support/records.ts';
import { startHarness, type Harness } from '../support/harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('the reconcile pipeline', () => {
  it('sends each partner only its allowed fields, once', async () => {
    h = await startHarness({ records: [canaryRecord(1)] });
    await h.gateway.changed('subj-1');
    await h.gateway.runUntilIdle();
    const elogistik = h.adapters.get('elogistik')!;
    expect(elogistik.calls).toHaveLength(1);
    expect(Object.keys(elogistik.calls[0]!.payload!).sort()).toEqual(['address', 'email', 'name', 'phone']);
    const stripe = h.adapters.get('stripe')!;
    expect(stripe.calls[0]!.payload).toEqual({ name: { given: 'CanaryGiven1x7q', family: 'CanaryFamily1x7q' } });
    // Mailchimp is consent-based: no grant, no call.
    expect(h.adapters.get('mailchimp')!.calls).toHaveLength(0);
    // Twilio (action) and Resin (sends nothing) get no sync call.
    expect(h.adapters.get('twilio')!.calls).toHaveLength(0);
    expect(h.adapters.get('resin')!.calls).toHaveLength(0);

    await h.gateway.changed('subj-1');
    await h.gateway.runUntilIdle();
    expect(elogistik.calls).toHaveLength(1);
    expect(stripe.calls).toHaveLength(1);
  });
});

/**
 * Writes examples/customers.json: made-up customers for the demo and the sandbox, deterministic (a
 * seeded PRNG), composed from short lists of common Swedish names, streets and towns. Not real people:
 * emails are at example.se / example.com, and phone numbers come from the range PTS reserves for
 * fiction (+46 70-174 06 05 to 06 99).
 *
 *   npx node examples/generate-customers.ts [count] [seed]
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseMasterRecord, type MasterRecordInput } from '../src/record.ts';

const givenNames = [
  'Anna',
  'Eva',
  'Maria',
  'Karin',
  'Sara',
  'Kristina',
  'Lena',
  'Emma',
  'Ingrid',
  'Elin',
  'Johanna',
  'Linnéa',
  'Maja',
  'Astrid',
  'Ebba',
  'Lars',
  'Mikael',
  'Anders',
  'Johan',
  'Erik',
  'Per',
  'Karl',
  'Peter',
  'Jan',
  'Thomas',
  'Daniel',
  'Fredrik',
  'Oskar',
  'Nils',
  'Björn',
];
const familyNames = [
  'Andersson',
  'Johansson',
  'Karlsson',
  'Nilsson',
  'Eriksson',
  'Larsson',
  'Olsson',
  'Persson',
  'Svensson',
  'Gustafsson',
  'Pettersson',
  'Jonsson',
  'Jansson',
  'Hansson',
  'Bengtsson',
  'Jönsson',
  'Lindberg',
  'Jakobsson',
  'Magnusson',
  'Lindström',
  'Olofsson',
  'Lindqvist',
  'Lindgren',
  'Berg',
  'Axelsson',
  'Bergström',
  'Lundberg',
  'Lind',
  'Lundgren',
  'Mattsson',
];
const streets = [
  'Storgatan',
  'Kungsgatan',
  'Drottninggatan',
  'Skolgatan',
  'Kyrkogatan',
  'Järnvägsgatan',
  'Parkvägen',
  'Björkvägen',
  'Ringvägen',
  'Industrigatan',
  'Villagatan',
  'Nygatan',
  'Tallvägen',
  'Ekvägen',
  'Bergsgatan',
  'Strandvägen',
  'Skogsvägen',
  'Idrottsvägen',
];
/** Town and a plausible postal-code prefix (first three digits). */
const towns: readonly (readonly [string, number])[] = [
  ['Stockholm', 114],
  ['Göteborg', 411],
  ['Malmö', 211],
  ['Uppsala', 753],
  ['Västerås', 722],
  ['Örebro', 702],
  ['Linköping', 582],
  ['Helsingborg', 252],
  ['Jönköping', 553],
  ['Norrköping', 602],
  ['Lund', 222],
  ['Umeå', 903],
  ['Gävle', 802],
  ['Borås', 503],
  ['Sundsvall', 852],
  ['Luleå', 972],
  ['Karlstad', 652],
  ['Växjö', 352],
  ['Halmstad', 302],
  ['Östersund', 831],
];

/** mulberry32: a small, fast, seedable PRNG; the same seed gives the same customers. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const ascii = (s: string) => s.toLowerCase().replace(/[åä]/g, 'a').replace(/ö/g, 'o').replace(/é/g, 'e');

export function generateCustomers(count = 300, seed = 20_260_301): MasterRecordInput[] {
  const random = prng(seed);
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const chance = (p: number) => random() < p;
  const hex = (n: number) => Array.from({ length: n }, () => int(0, 15).toString(16)).join('');
  const day = (from: number, to: number) => new Date(Date.UTC(int(from, to), int(0, 11), int(1, 28)));

  let nextDevice = 1;
  let nextBalenaId = 1_204_500;
  const customers: MasterRecordInput[] = [];
  for (let n = 1; n <= count; n++) {
    const given = pick(givenNames);
    const family = pick(familyNames);
    const [city, prefix] = pick(towns);
    const start = day(2019, 2025);
    const ended = chance(0.15);
    const end = ended ? new Date(start.getTime() + int(90, 1_500) * 86_400_000) : undefined;
    const devices = chance(0.6)
      ? Array.from({ length: int(1, 3) }, () => ({ id: `cam-${String(nextDevice++).padStart(5, '0')}` }))
      : [];
    const partnerIds: Record<string, string | string[]> = {};
    if (devices.length > 0) partnerIds.resin = devices.map(() => String((nextBalenaId += int(1, 40))));
    if (chance(0.4)) partnerIds.auth0 = `auth0|${hex(24)}`;
    const customer: MasterRecordInput = {
      id: `cust-${String(n).padStart(4, '0')}`,
      name: { given, family },
      ...(chance(0.92)
        ? {
            address: {
              street: `${pick(streets)} ${int(1, 60)}${chance(0.15) ? pick(['A', 'B', 'C']) : ''}`,
              postalCode: `${prefix} ${String(int(10, 99))}`,
              city,
              country: 'SE',
            },
          }
        : {}),
      ...(chance(0.9) ? { phone: `+467017406${String(int(5, 99)).padStart(2, '0')}` } : {}),
      ...(chance(0.95)
        ? { email: `${ascii(given)}.${ascii(family)}${n}@${chance(0.7) ? 'example.se' : 'example.com'}` }
        : {}),
      devices,
      subscription: { start: start.toISOString(), ...(end ? { end: end.toISOString() } : {}) },
      partnerIds,
    };
    parseMasterRecord(customer); // every generated customer is a valid master record
    customers.push(customer);
  }
  return customers;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const count = Number(process.argv[2] ?? 300);
  const seed = Number(process.argv[3] ?? 20_260_301);
  const out = fileURLToPath(new URL('./customers.json', import.meta.url));
  const customers = generateCustomers(count, seed);
  writeFileSync(out, `${JSON.stringify(customers, null, 2)}\n`);
  console.log(`wrote ${customers.length} made-up customers to ${out}`);
}

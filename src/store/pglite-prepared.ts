import { parse, protocol, type PGlite } from '@electric-sql/pglite';

/**
 * Named prepared statements on PGlite, so each statement text is parsed and analysed once and every
 * run is one message exchange (Bind, Describe, Execute, Sync) where PGlite's own query() makes six,
 * parsing an unnamed statement each time. Plans stay custom (planned with each run's values:
 * database.ts sets plan_cache_mode), since PGlite has no autovacuum to replace a generic plan made
 * while the tables were small. Measured beside PGlite's query(): the Mailchimp batching resync 4.37-4.45
 * against 4.68 s, the deletion-limit resync 0.16 against 0.22 s. On PostgreSQL, pg names statements
 * itself (database.ts).
 *
 * This speaks the extended protocol through PGlite's execProtocolStream, as PGlite's query() does,
 * and takes the same two locks it takes (_runExclusiveTransaction outside a transaction, then
 * _runExclusiveQuery), so it never interleaves with PGlite's own statements or transactions.
 * Parameters are serialised and rows parsed with PGlite's own serializers and parseResults.
 */

/**
 * Distinct statement texts prepared per connection at most, on PGlite and on PostgreSQL (database.ts).
 * The gateway's texts are a fixed set (their variable parts are parameters); the cap only keeps a
 * text built from data, should one appear, from growing the statement cache without end. Texts past
 * it run unprepared.
 */
export const MAX_PREPARED = 500;

type Row = Record<string, unknown>;
type BackendMessage = Parameters<typeof parse.parseResults>[0][number];

interface Prepared {
  readonly name: string;
  /** Parameter type oids, as the server inferred them: they pick each value's serializer. */
  readonly types: readonly number[];
}

/**
 * Statements prepared, per PGlite instance: names are per connection, and two wrappers of one
 * instance (a template being built, then the database) must not prepare one name twice.
 */
const preparedBy = new WeakMap<PGlite, Map<string, Prepared>>();

export type PreparedQuery = (
  text: string,
  params: readonly unknown[],
  inTransaction: boolean,
) => Promise<Row[] | undefined>;

/**
 * Runs statements of `db` prepared. `inTransaction`: the caller is inside db.transaction()'s callback
 * (which holds the transaction lock). Resolves undefined when the text is past the cap (`limit`): the
 * caller runs it as PGlite would.
 */
export function preparedQuery(db: PGlite, limit = MAX_PREPARED): PreparedQuery {
  let statements = preparedBy.get(db);
  if (!statements) preparedBy.set(db, (statements = new Map()));
  const known = statements;

  const prepare = async (text: string): Promise<Prepared | undefined> => {
    const found = known.get(text);
    if (found || known.size >= limit) return found;
    const name = `partner_gateway_${known.size + 1}`;
    // Remembered only once the server accepted it: a text that fails to parse is not prepared.
    const described = await exchange(db, [
      protocol.serialize.parse({ name, text }),
      protocol.serialize.describe({ type: 'S', name }),
      protocol.serialize.sync(),
    ]);
    const prepared = { name, types: parse.parseDescribeStatementResults(described) };
    known.set(text, prepared);
    return prepared;
  };

  const run = async (text: string, params: readonly unknown[], inTransaction: boolean) => {
    const prepared = await prepare(text);
    if (!prepared) return undefined;
    const values = params.map((param, i): string | null => {
      if (param === null || param === undefined) return null;
      const serialize = db.serializers[prepared.types[i]!];
      return serialize ? serialize(param) : String(param);
    });
    const messages = await exchange(
      db,
      [
        protocol.serialize.bind({ statement: prepared.name, values }),
        protocol.serialize.describe({ type: 'P' }),
        protocol.serialize.execute({}),
        protocol.serialize.sync(),
      ],
      // As PGlite's query(): the file system is synced after a statement outside a transaction.
      !inTransaction,
    );
    return parse.parseResults(messages, db.parsers)[0]!.rows as Row[];
  };

  return (text, params, inTransaction) => {
    const locked = () => db._runExclusiveQuery(() => run(text, params, inTransaction));
    return inTransaction ? locked() : db._runExclusiveTransaction(locked);
  };
}

/**
 * Sends the messages in one buffer, ending in Sync, so an error anywhere leaves the connection ready
 * for the next statement (inside a transaction, the transaction is then failed, as with query()).
 */
async function exchange(db: PGlite, messages: readonly Uint8Array[], syncToFs = false): Promise<BackendMessage[]> {
  const buffer = new Uint8Array(messages.reduce((n, m) => n + m.length, 0));
  let at = 0;
  for (const m of messages) {
    buffer.set(m, at);
    at += m.length;
  }
  return db.execProtocolStream(buffer, { syncToFs });
}

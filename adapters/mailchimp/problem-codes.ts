/**
 * Mailchimp's problem documents carry no code, only a human `title` (and a `detail` that can quote
 * the address). A title becomes an error code only if it is one Mailchimp documents, so an echoing
 * or hostile answer can never put its own text (an API key, an address, a name) into a code.
 * Source: https://mailchimp.com/developer/marketing/docs/errors/ (error glossary) and titles the
 * member endpoints answer ("Member Exists", "Forgotten Email Not Subscribed", ...).
 */
const KNOWN_TITLES = [
  'Bad Request',
  'Invalid Action',
  'Invalid Resource',
  'JSON Parse Error',
  'JSON Parse Exception',
  'API Key Missing',
  'API Key Invalid',
  'Forbidden',
  'User Disabled',
  'Wrong Datacenter',
  'Resource Not Found',
  'Method Not Allowed',
  'Resource Nesting Too Deep',
  'Invalid Method Override',
  'Requested Fields Invalid',
  'Too Many Requests',
  'Internal Server Error',
  'Compliance Related',
  'Member Exists',
  'Member In Compliance State',
  'Forgotten Email Not Subscribed',
];

const CODES = new Map(KNOWN_TITLES.map((title) => [title.toLowerCase(), title.toLowerCase().replaceAll(' ', '_')]));

/** 'Resource Not Found' -> 'resource_not_found'; any other title -> undefined. */
export function problemCode(title: unknown): string | undefined {
  return typeof title === 'string' ? CODES.get(title.trim().toLowerCase()) : undefined;
}

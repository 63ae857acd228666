import { HttpError } from '../infra/http';

// The path after a gateway route's id, normalized once: what conditions see as request.path and
// what the upstream receives are the same string, so no spelling of a path can pass a condition
// as one path and reach the upstream as another.
//
//   - every segment is percent-decoded and written again in one canonical spelling (unreserved
//     characters plain, everything else %XX upper-case): /%61dmin is /admin;
//   - dot segments ("." and "..", also spelled %2e) are resolved; one that would climb above
//     the route's root (out of the agent's prefix) is refused;
//   - empty segments collapse (//admin is /admin), as most servers merge slashes;
//   - refused with 400 BAD_PATH: encoded slashes or backslashes (%2f, %5c) and raw backslashes,
//     which servers disagree on; NUL and other control characters; malformed or double-encoded
//     escapes (%252e, %25%32%65); dot segments with parameters ("..;x"), which some servers treat
//     as "..".

const bad = (message: string) => new HttpError(400, 'BAD_PATH', message);

/** Characters a path segment may carry as they are (RFC 3986 pchar less the percent sign). */
const PLAIN = /[A-Za-z0-9\-._~!$&'()*+,;=:@]/;

function decodeSegment(raw: string): string {
  if (raw.includes('\\')) throw bad('the path contains a backslash');
  let text: string;
  try {
    text = decodeURIComponent(raw);
  } catch {
    throw bad('the path contains a malformed percent-escape');
  }
  if (text.includes('/') || text.includes('\\')) throw bad('the path contains an encoded slash or backslash (%2F, %5C)');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(text)) throw bad('the path contains a control character');
  if (/%[0-9a-f]{2}/i.test(text)) throw bad('the path contains a double-encoded percent-escape');
  return text;
}

function encodeSegment(text: string): string {
  let out = '';
  for (const ch of text) {
    if (PLAIN.test(ch)) out += ch;
    else for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A dot segment once decoded, or one some servers would read as one ("..;jsessionid=x"). */
function dotKind(text: string): '.' | '..' | null {
  const bare = text.split(';', 1)[0];
  if (bare !== '.' && bare !== '..') return null;
  if (bare !== text) throw bad('the path contains a dot segment with parameters');
  return bare;
}

/**
 * `rest` (a path starting with "/", without the query string, as it arrived) normalized; throws
 * HttpError 400 BAD_PATH for a path that cannot be normalized safely.
 */
export function normalizeGatewayPath(rest: string): string {
  const raw = rest.split('/').slice(1);
  const out: string[] = [];
  raw.forEach((segment, i) => {
    const text = decodeSegment(segment);
    const dot = dotKind(text);
    if (dot === '..') {
      if (out.length === 0) throw bad('the path climbs above its agent or workflow (..)');
      out.pop();
    } else if (dot === null && text !== '') out.push(encodeSegment(text));
    // A trailing slash (or a final dot segment) keeps the path a directory.
    if (i === raw.length - 1 && (text === '' || dot !== null)) out.push('');
  });
  return `/${out.join('/')}`;
}

/** A route's id segment, decoded; 400 BAD_PATH when it is malformed or holds a slash. */
export function decodeRouteId(raw: string): string {
  const text = decodeSegment(raw);
  if (text === '' || dotKind(text)) throw bad('the agent or workflow id is not valid');
  return text;
}

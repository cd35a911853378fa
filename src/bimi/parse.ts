/**
 * The BIMI Assertion Record (draft-brand-indicators-for-message-identification, "Assertion
 * Record"): `v=BIMI1; l=<https SVG URL>; a=<https evidence URL>` at `<selector>._bimi.<domain>`.
 * Tag-value syntax as DKIM's; unknown tags are ignored; nothing is repaired.
 */

/** Records that do not start with this version tag are discarded ("Assertion Record Discovery"). */
const BIMI_START = /^v[ \t]*=[ \t]*BIMI1[ \t]*(;|$)/;

export function isBimiRecord(text: string): boolean {
  return BIMI_START.test(text);
}

export interface ParsedBimi {
  /** `l=`: the logo URL; '' when empty (declination), null when the tag is missing. */
  logo: string | null;
  /** `a=`: the evidence document (mark certificate) URL; '' when empty or missing. */
  authority: string;
  /** Both l= and a= empty: the domain asks for no logo. */
  declined: boolean;
  /** What makes the record unusable; empty when it is valid. */
  problems: string[];
}

/** Image suffixes other than SVG: an l= that ends with one is a permanent error ("Supported Image Formats"). */
const OTHER_IMAGE = /\.(png|jpe?g|gif|bmp|webp|ico|tiff?)$/i;

/** A URI the record may carry: https, with a host that is a domain name (an FQDN). */
function bimiUriProblem(tag: 'l' | 'a', uri: string): string | null {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return `${tag}= "${uri}" is not a URL`;
  }
  if (u.protocol !== 'https:') return `${tag}= "${uri}" is not an https: URL (the only transport BIMI allows)`;
  if (!u.hostname.includes('.') || /^[\d.]+$|^\[/.test(u.hostname)) return `${tag}= "${uri}" must name a fully qualified host`;
  if (tag === 'l' && OTHER_IMAGE.test(u.pathname)) return `l= "${uri}" is not an SVG file (only SVG and SVGZ are allowed)`;
  return null;
}

export function parseBimi(text: string): ParsedBimi {
  const out: ParsedBimi = { logo: null, authority: '', declined: false, problems: [] };
  if (!isBimiRecord(text)) {
    out.problems.push('it does not begin with "v=BIMI1"');
    return out;
  }
  const fields = text.split(';').map((f) => f.trim());
  if (fields.length > 1 && fields.at(-1) === '') fields.pop();
  const seen = new Set<string>();
  for (const field of fields.slice(1)) {
    const eq = field.indexOf('=');
    if (eq <= 0) {
      out.problems.push(`"${field}" is not a tag=value pair`);
      continue;
    }
    const name = field.slice(0, eq).trim();
    const value = field.slice(eq + 1).trim();
    if (name !== 'l' && name !== 'a') continue; // unknown tags are ignored
    if (seen.has(name)) {
      out.problems.push(`the ${name}= tag appears twice`);
      continue;
    }
    seen.add(name);
    if (value.includes(',')) out.problems.push(`${name}= must hold a single URL (got "${value}")`);
    else if (value !== '') {
      const problem = bimiUriProblem(name, value);
      if (problem) out.problems.push(problem);
    }
    if (name === 'l') out.logo = value;
    else out.authority = value;
  }
  if (out.logo === null) out.problems.push('it has no l= tag (the logo location, or empty to decline)');
  out.declined = out.logo === '' && out.authority === '';
  return out;
}

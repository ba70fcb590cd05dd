// Warning headers (RFC 7234 `299 - "text"`) the way kube-apiserver's warning recorder bounds them:
// duplicates dropped; once the texts pass 4,096 characters in total, every text is cut to 256 and
// no more are added past the total. Unlike kube (which sends UTF-8 and drops texts with control
// characters), anything outside printable ASCII is escaped as \uXXXX: Node refuses to send a header
// with characters past Latin-1, and clients decode the rest inconsistently. The budget counts the
// escaped text, so the headers stay well under the 16 KiB clients accept.

const TOTAL_CHARS = 4 * 1024;
const ITEM_CHARS = 256;

/** `text` quoted for a header, escaped, with at most `max` characters between the quotes (never a split escape). */
function quote(text: string, max: number): string {
  let out = '';
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    let piece: string;
    if (ch === '"' || ch === '\\') piece = `\\${ch}`;
    else if (c >= 0x20 && c <= 0x7e) piece = ch;
    else if (c > 0xffff) {
      const hi = Math.floor((c - 0x10000) / 0x400) + 0xd800;
      const lo = ((c - 0x10000) % 0x400) + 0xdc00;
      piece = `\\u${hi.toString(16).padStart(4, '0')}\\u${lo.toString(16).padStart(4, '0')}`;
    } else piece = `\\u${c.toString(16).padStart(4, '0')}`;
    if (out.length + piece.length > max) break;
    out += piece;
  }
  return `"${out}"`;
}

/** The Warning header values for `warnings`, in order. */
export function warningHeaders(warnings: string[]): string[] {
  const texts = [...new Set(warnings.map((w) => w.replace(/[\r\n]+/g, ' ')).filter((w) => w.length > 0))];
  const full = texts.map((t) => quote(t, Infinity));
  const total = full.reduce((n, q) => n + q.length - 2, 0);
  let quoted = full;
  if (total > TOTAL_CHARS) {
    quoted = [];
    let written = 0;
    for (const t of texts) {
      if (written >= TOTAL_CHARS) break;
      const q = quote(t, ITEM_CHARS);
      quoted.push(q);
      written += q.length - 2;
    }
  }
  return quoted.map((q) => `299 - ${q}`);
}

// Finds keys that appear twice in one JSON object. JSON.parse silently keeps the last one; kube's
// strict decoder reports them (fieldValidation=Strict fails, Warn warns), so this server does too.
// One pass, no recursion; a frame's path is only spelled out when a duplicate is found, so a deep body
// with long keys costs memory in its size, not in its depth times its size.

type Frame = { kind: 'object'; keys: Set<string>; key?: string } | { kind: 'array'; index: number };

/** Duplicates reported per body, and characters per path: the warnings are capped further anyway. */
const MAX_REPORTED = 100;
const MAX_PATH = 1024;

/** `spec.include[0].toPath` for the key `key` inside the innermost frame. */
function pathOf(stack: Frame[], key: string): string {
  let p = '';
  for (let i = 0; i < stack.length - 1 && p.length <= MAX_PATH; i++) {
    const f = stack[i];
    p = f.kind === 'array' ? `${p}[${f.index}]` : p ? `${p}.${f.key}` : (f.key ?? '');
  }
  const full = p ? `${p}.${key}` : key;
  return full.length > MAX_PATH ? `${full.slice(0, MAX_PATH)}…` : full;
}

/** Paths like `spec.interval` or `spec.include[0].toPath` of every repeated key in a JSON text. */
export function duplicateFields(text: string): string[] {
  const stack: Frame[] = [];
  const dups: string[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (expectKey && top?.kind === 'object') {
        const raw = text.slice(i + 1, j);
        let key = raw;
        try {
          if (raw.includes('\\')) key = JSON.parse(`"${raw}"`) as string;
        } catch {
          /* malformed: JSON.parse of the whole body reports it */
        }
        if (top.keys.has(key) && dups.length < MAX_REPORTED) dups.push(pathOf(stack, key));
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
      i = j;
    } else if (c === '{') {
      stack.push({ kind: 'object', keys: new Set() });
      expectKey = true;
    } else if (c === '[') {
      stack.push({ kind: 'array', index: 0 });
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top?.kind === 'array') top.index++;
      else expectKey = true;
    }
  }
  return dups;
}

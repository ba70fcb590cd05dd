// Finds keys that appear twice in one JSON object. JSON.parse silently keeps the last one; kube's
// strict decoder reports them (fieldValidation=Strict fails, Warn warns), so this server does too.

/** Paths like `spec.interval` or `spec.include[0].toPath` of every repeated key in a JSON text. */
export function duplicateFields(text: string): string[] {
  type Frame = { kind: 'object'; keys: Set<string>; path: string; key?: string } | { kind: 'array'; index: number; path: string };
  const stack: Frame[] = [];
  const dups: string[] = [];
  const childPath = (f: Frame | undefined): string => {
    if (!f) return '';
    if (f.kind === 'array') return `${f.path}[${f.index}]`;
    return f.path ? `${f.path}.${f.key}` : (f.key ?? '');
  };
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      let s = '';
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\') {
          s += text.slice(j, j + 2);
          j += 2;
        } else s += text[j++];
      }
      const top = stack[stack.length - 1];
      if (expectKey && top?.kind === 'object') {
        let key = s;
        try {
          key = JSON.parse(`"${s}"`) as string;
        } catch {
          /* malformed: JSON.parse of the whole body reports it */
        }
        if (top.keys.has(key)) dups.push(top.path ? `${top.path}.${key}` : key);
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
      i = j;
    } else if (c === '{') {
      stack.push({ kind: 'object', keys: new Set(), path: childPath(stack[stack.length - 1]) });
      expectKey = true;
    } else if (c === '[') {
      stack.push({ kind: 'array', index: 0, path: childPath(stack[stack.length - 1]) });
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

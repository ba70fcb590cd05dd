// Label key and value syntax as Kubernetes validates it (apimachinery util/validation), with its
// messages, so a client sees the same explanation from this server as from kube-apiserver.

const NAME_FORMAT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const NAME_RE = new RegExp(`^${NAME_FORMAT}$`);
const NAME_MESSAGE = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const NAME_MAX = 63;

const SUBDOMAIN_FORMAT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*';
const SUBDOMAIN_RE = new RegExp(`^${SUBDOMAIN_FORMAT}$`);
const SUBDOMAIN_MESSAGE = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const SUBDOMAIN_MAX = 253;

const VALUE_FORMAT = `(${NAME_FORMAT})?`;
const VALUE_RE = new RegExp(`^${VALUE_FORMAT}$`);
const VALUE_MESSAGE = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const VALUE_MAX = 63;

const tooLong = (n: number) => `must be no more than ${n} characters`;

// Kubernetes' own wording, double spaces included, so messages compare equal.
function regexMessage(message: string, format: string, ...examples: string[]): string {
  return `${message} (e.g. ${examples.map((e) => `'${e}', `).join(' or ')}regex used for validation is '${format}')`;
}

/** Problems with a label key (`[prefix/]name`), empty when it is valid. */
export function qualifiedNameErrors(key: string): string[] {
  const errs: string[] = [];
  const parts = key.split('/');
  if (parts.length > 2) {
    return [`a qualified name ${regexMessage(NAME_MESSAGE, NAME_FORMAT, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`];
  }
  const name = parts.length === 2 ? parts[1] : parts[0];
  if (parts.length === 2) {
    const prefix = parts[0];
    if (prefix === '') errs.push('prefix part must be non-empty');
    else {
      if (prefix.length > SUBDOMAIN_MAX) errs.push(`prefix part ${tooLong(SUBDOMAIN_MAX)}`);
      if (!SUBDOMAIN_RE.test(prefix)) errs.push(`prefix part ${regexMessage(SUBDOMAIN_MESSAGE, SUBDOMAIN_FORMAT, 'example.com')}`);
    }
  }
  if (name === '') errs.push('name part must be non-empty');
  else if (name.length > NAME_MAX) errs.push(`name part ${tooLong(NAME_MAX)}`);
  if (!NAME_RE.test(name)) errs.push(`name part ${regexMessage(NAME_MESSAGE, NAME_FORMAT, 'MyName', 'my.name', '123-abc')}`);
  return errs;
}

/** Problems with a label value, empty when it is valid (the empty string is valid). */
export function labelValueErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > VALUE_MAX) errs.push(tooLong(VALUE_MAX));
  if (!VALUE_RE.test(value)) errs.push(regexMessage(VALUE_MESSAGE, VALUE_FORMAT, 'MyValue', 'my_value', '12345'));
  return errs;
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SelectorError } from './errors.js';
import { formatLabelSelector, labelSelectorFromObject, matchesLabels, parseLabelSelector, type MetaLabelSelector } from './label-selector.js';

const NAME_RULE =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const VALUE_RULE =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const SUBDOMAIN_RULE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const OPS = 'in, notin, =, ==, !=, gt, lt';
const req = "unable to parse requirement: ";

type R = [key: string, operator: string, values: string[]];
const parsed = (s: string): R[] => parseLabelSelector(s).requirements.map((r) => [r.key, r.operator, [...r.values]]);

test('parses every requirement form, sorted by key', () => {
  const cases: [string, R[]][] = [
    ['', []],
    ['  \t ', []],
    ['a=b', [['a', '=', ['b']]]],
    ['a==b', [['a', '==', ['b']]]],
    ['a!=b', [['a', '!=', ['b']]]],
    ['a in (x,y)', [['a', 'in', ['x', 'y']]]],
    ['a notin (x)', [['a', 'notin', ['x']]]],
    ['a', [['a', 'exists', []]]],
    ['!a', [['a', '!', []]]],
    [' ! a ', [['a', '!', []]]],
    ['a>1', [['a', 'gt', ['1']]]],
    ['a<5', [['a', 'lt', ['5']]]],
    ['a = b , c\tin\t( y ,\tx ) ,\n!d', [['a', '=', ['b']], ['c', 'in', ['x', 'y']], ['d', '!', []]]],
    ['b=1,a=2', [['a', '=', ['2']], ['b', '=', ['1']]]],
    ['a in (y,x,y)', [['a', 'in', ['x', 'y']]]],
    ['x in (foo,,baz),y,z notin ()', [['x', 'in', ['', 'baz', 'foo']], ['y', 'exists', []], ['z', 'notin', ['']]]],
    ['a in (,)', [['a', 'in', ['']]]],
    ['a in (,x)', [['a', 'in', ['', 'x']]]],
    ['a in (x,)', [['a', 'in', ['', 'x']]]],
    ['a=', [['a', '=', ['']]]],
    ['a!=,b', [['a', '!=', ['']], ['b', 'exists', []]]],
    ['in in (in,notin)', [['in', 'in', ['in', 'notin']]]],
    ['notin notin (x)', [['notin', 'notin', ['x']]]],
    ['!in', [['in', '!', []]]],
    ['example.com/app=web', [['example.com/app', '=', ['web']]]],
    ['a.b_c-D=E.f_g-1', [['a.b_c-D', '=', ['E.f_g-1']]]],
    [`${'k'.repeat(63)}=${'v'.repeat(63)}`, [['k'.repeat(63), '=', ['v'.repeat(63)]]]],
    [`${'p'.repeat(253)}/k`, [[`${'p'.repeat(253)}/k`, 'exists', []]]],
  ];
  for (const [s, want] of cases) assert.deepEqual(parsed(s), want, JSON.stringify(s));
});

test('rejects malformed selectors with Kubernetes messages', () => {
  const cases: [string, string][] = [
    [',', "found ',', expected: !, identifier, or 'end of string'"],
    ['=a', "found '=', expected: !, identifier, or 'end of string'"],
    ['(a)', "found '(', expected: !, identifier, or 'end of string'"],
    ['a,', "found '', expected: identifier after ','"],
    ['a,,b', "found ',', expected: identifier after ','"],
    ['a,=b', "found '=', expected: identifier after ','"],
    ['a=b c', "found 'c', expected: ',' or 'end of string'"],
    ['a=b=c', "found '=', expected: ',' or 'end of string'"],
    ['a in (x) y', "found 'y', expected: ',' or 'end of string'"],
    ['!a=b', "found '=', expected: ',' or 'end of string'"],
    ['a b', `${req}found 'b', expected: ${OPS}`],
    ['a !', `${req}found '!', expected: ${OPS}`],
    ['a (', `${req}found '(', expected: ${OPS}`],
    ['!', `${req}found '', expected: identifier`],
    ['!!a', `${req}found '!', expected: identifier`],
    ['!,a', `${req}found ',', expected: identifier`],
    ['a in', `${req}found '' expected: '('`],
    ['a in b', `${req}found 'b' expected: '('`],
    ['a notin x', `${req}found 'x' expected: '('`],
    ['a in (b', `${req}found '', expected: ',' or ')'`],
    ['a in (b c)', `${req}found 'c', expected: ',' or ')'`],
    ['a in (=)', `${req}found '=', expected: ',', ')' or identifier`],
    ['a in (', `${req}found '', expected: ',', ')' or identifier`],
    ['a in (b,=)', `${req}found '=', expected: ',', or identifier`],
    ['a in (b,', `${req}found '', expected: ',', or identifier`],
    ['a===b', `${req}found '=', expected: identifier`],
    ['a>=1', `${req}found '=', expected: identifier`],
    ['a=(b)', `${req}found '(', expected: identifier`],
    ['-a=b', `${req}key: Invalid value: "-a": name part ${NAME_RULE}`],
    ['-a b', `${req}key: Invalid value: "-a": name part ${NAME_RULE}`],
    ['a_=b', `${req}key: Invalid value: "a_": name part ${NAME_RULE}`],
    ['!-a', `${req}key: Invalid value: "-a": name part ${NAME_RULE}`],
    ['a/b/c', `${req}key: Invalid value: "a/b/c": a qualified name ${NAME_RULE} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`],
    ['/a', `${req}key: Invalid value: "/a": prefix part must be non-empty`],
    ['a/', `${req}key: Invalid value: "a/": name part must be non-empty; name part ${NAME_RULE}`],
    ['Example.com/a', `${req}key: Invalid value: "Example.com/a": prefix part ${SUBDOMAIN_RULE}`],
    [`${'p'.repeat(254)}/a`, `${req}key: Invalid value: "${'p'.repeat(254)}/a": prefix part must be no more than 253 characters`],
    ['k'.repeat(64), `${req}key: Invalid value: "${'k'.repeat(64)}": name part must be no more than 63 characters`],
    ['a=-b', `${req}values[0][a]: Invalid value: "-b": ${VALUE_RULE}`],
    ['a in (ok,-b)', `${req}values[0][a]: Invalid value: "-b": ${VALUE_RULE}`],
    ['a notin (ok,z_)', `${req}values[1][a]: Invalid value: "z_": ${VALUE_RULE}`],
    [`a=${'v'.repeat(64)}`, `${req}values[0][a]: Invalid value: "${'v'.repeat(64)}": must be no more than 63 characters`],
    ['a>x', `${req}values[0]: Invalid value: "x": for 'Gt', 'Lt' operators, the value must be an integer`],
    ['a<-5', `${req}values[0][a]: Invalid value: "-5": ${VALUE_RULE}`],
    ['a<', `${req}values[0]: Invalid value: "": for 'Gt', 'Lt' operators, the value must be an integer`],
    ['a>9223372036854775808', `${req}values[0]: Invalid value: "9223372036854775808": for 'Gt', 'Lt' operators, the value must be an integer`],
    [
      'a>-x',
      `${req}[values[0]: Invalid value: "-x": for 'Gt', 'Lt' operators, the value must be an integer, values[0][a]: Invalid value: "-x": ${VALUE_RULE}]`,
    ],
  ];
  for (const [s, message] of cases) {
    assert.throws(() => parseLabelSelector(s), (e: unknown) => e instanceof SelectorError && e.message === message, JSON.stringify(s));
  }
});

test('matches labels like Kubernetes', () => {
  const labels = { app: 'web', tier: 'frontend', empty: '', n: '10', word: 'ten' };
  const cases: [string, Record<string, string> | undefined, boolean][] = [
    ['', labels, true],
    ['', undefined, true],
    ['app=web', labels, true],
    ['app==web', labels, true],
    ['app=db', labels, false],
    ['missing=', labels, false],
    ['empty=', labels, true],
    ['app!=db', labels, true],
    ['app!=web', labels, false],
    ['missing!=x', labels, true],
    ['app in (db,web)', labels, true],
    ['app in (db)', labels, false],
    ['missing in (x)', labels, false],
    ['app notin (db)', labels, true],
    ['app notin (web)', labels, false],
    ['missing notin (x)', labels, true],
    ['empty in ()', labels, true],
    ['app', labels, true],
    ['empty', labels, true],
    ['missing', labels, false],
    ['!missing', labels, true],
    ['!app', labels, false],
    ['app', undefined, false],
    ['!app', undefined, true],
    ['n>9', labels, true],
    ['n>10', labels, false],
    ['n<11', labels, true],
    ['n<10', labels, false],
    ['word>1', labels, false],
    ['missing<100', labels, false],
    ['app=web,tier=frontend', labels, true],
    ['app=web,tier=backend', labels, false],
    ['app=web,!missing,tier in (frontend)', labels, true],
    ['constructor', {}, false],
  ];
  for (const [s, l, want] of cases) assert.equal(matchesLabels(parseLabelSelector(s), l), want, `${JSON.stringify(s)} on ${JSON.stringify(l)}`);
});

test('labelSelectorFromObject: null selects nothing, empty selects everything', () => {
  for (const nothing of [null, undefined]) {
  const sel = labelSelectorFromObject(nothing);
    assert.equal(matchesLabels(sel, {}), false);
    assert.equal(matchesLabels(sel, { app: 'web' }), false);
  }
  for (const everything of [{}, { matchLabels: {}, matchExpressions: [] }]) {
  const sel = labelSelectorFromObject(everything);
    assert.equal(matchesLabels(sel, {}), true);
    assert.equal(matchesLabels(sel, { app: 'web' }), true);
  }
});

test('labelSelectorFromObject builds the same requirements the string form parses to', () => {
  const sel = labelSelectorFromObject({
    matchLabels: { tier: 'frontend', app: 'web' },
    matchExpressions: [
      { key: 'env', operator: 'In', values: ['prod', 'staging'] },
      { key: 'track', operator: 'NotIn', values: ['canary'] },
      { key: 'team', operator: 'Exists' },
      { key: 'legacy', operator: 'DoesNotExist', values: [] },
    ],
  });
  assert.deepEqual(sel, parseLabelSelector('app=web,tier=frontend,env in (prod,staging),track notin (canary),team,!legacy'));
  const base = { app: 'web', tier: 'frontend', env: 'prod', team: 'a' };
  assert.equal(matchesLabels(sel, base), true);
  assert.equal(matchesLabels(sel, { ...base, env: 'dev' }), false);
  assert.equal(matchesLabels(sel, { ...base, track: 'canary' }), false);
  assert.equal(matchesLabels(sel, { ...base, legacy: 'yes' }), false);
  const { team: _team, ...noTeam } = base;
  assert.equal(matchesLabels(sel, noTeam), false);
});

test('labelSelectorFromObject rejects what Kubernetes rejects', () => {
  const cases: [MetaLabelSelector, string][] = [
    [{ matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] }, '"Gt" is not a valid label selector operator'],
    [{ matchExpressions: [{ key: 'a', operator: 'in', values: ['x'] }] }, '"in" is not a valid label selector operator'],
    [{ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }, "values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty"],
    [{ matchExpressions: [{ key: 'a', operator: 'NotIn' }] }, "values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty"],
    [{ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }, 'values: Invalid value: ["x"]: values set must be empty for exists and does not exist'],
    [{ matchExpressions: [{ key: 'a', operator: 'In', values: ['ok', '-x'] }] }, `values[1][a]: Invalid value: "-x": ${VALUE_RULE}`],
    [{ matchLabels: { '-a': 'b' } }, `key: Invalid value: "-a": name part ${NAME_RULE}`],
    [{ matchLabels: { a: 'b c' } }, `values[0][a]: Invalid value: "b c": ${VALUE_RULE}`],
    [
      { matchExpressions: [{ key: '', operator: 'DoesNotExist', values: ['x'] }] },
      `[key: Invalid value: "": name part must be non-empty; name part ${NAME_RULE}, values: Invalid value: ["x"]: values set must be empty for exists and does not exist]`,
    ],
  ];
  for (const [ls, message] of cases) {
    assert.throws(() => labelSelectorFromObject(ls), (e: unknown) => e instanceof SelectorError && e.message === message, JSON.stringify(ls));
  }
});

test('formatLabelSelector writes labels.Selector’s String(): by key, values sorted, each operator as kube prints it', () => {
  const sel = labelSelectorFromObject({
      matchLabels: { tier: 'web', app: 'shop' },
      matchExpressions: [
        { key: 'env', operator: 'In', values: ['prod', 'dev'] },
        { key: 'zone', operator: 'NotIn', values: ['b'] },
        { key: 'canary', operator: 'DoesNotExist' },
        { key: 'owner', operator: 'Exists' },
      ],
    });
    assert.equal(formatLabelSelector(sel), 'app=shop,!canary,env in (dev,prod),owner,tier=web,zone notin (b)');
    assert.equal(formatLabelSelector(labelSelectorFromObject({})), '');
    assert.equal(formatLabelSelector(parseLabelSelector('a!=1,b>3')), 'a!=1,b>3');
    for (const s of ['app=shop,env in (dev,prod)', 'x,!y']) assert.equal(formatLabelSelector(parseLabelSelector(s)), s);
});

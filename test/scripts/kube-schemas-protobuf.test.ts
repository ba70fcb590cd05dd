// src/cluster/builtin/protobuf.json: the committed file is the generator's output (when Debian's Go
// sources are at hand), and it agrees with schemas.json — every kind has a message, every field's json
// name is a property of its definition, every message a field names is described.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { parseProtoFile } from '../../scripts/kube-schemas/protoparse.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SRC = process.env.KUBE_SCHEMAS_SRC ?? '/tmp/k8sdeb/root/usr/share/gocode/src';
const committed = readFileSync(join(ROOT, 'src/cluster/builtin/protobuf.json'), 'utf8');
const tables = JSON.parse(committed) as { special: Record<string, string>; lists: string[]; messages: Record<string, Record<string, [string, string, string?]>> };
const schemas = (JSON.parse(readFileSync(join(ROOT, 'src/cluster/builtin/schemas.json'), 'utf8')) as { definitions: Record<string, { properties?: Record<string, unknown>; 'x-kubernetes-group-version-kind'?: unknown[] }> }).definitions;

// Skipped on a developer's machine without the sources; in CI (.ci/run fetches them) a missing source fails.
const haveSources = existsSync(join(SRC, 'k8s.io/api/core/v1/generated.proto'));
test('protobuf.json is the generator’s output', { timeout: 120_000, skip: !haveSources && !process.env.CI && 'no Debian sources (scripts/kube-schemas/fetch.sh)' }, () => {
  assert.ok(haveSources, `the Debian Go sources are not at ${SRC}: run scripts/kube-schemas/fetch.sh`);
  const dir = mkdtempSync(join(tmpdir(), 'kube-protobuf-'));
  try {
    execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/kube-schemas/generate.ts'), '--src', SRC, '--out', join(dir, 'schemas.json')], { cwd: ROOT, stdio: 'pipe' });
    assert.equal(readFileSync(join(dir, 'protobuf.json'), 'utf8'), committed, 'protobuf.json is out of date: run node --import tsx scripts/kube-schemas/generate.ts');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('protobuf.json agrees with schemas.json', () => {
  for (const [name, def] of Object.entries(schemas)) {
    if (def['x-kubernetes-group-version-kind']) assert.ok(tables.messages[name], `kind ${name} has no protobuf message`);
  }
  const described = (kind: string) => /^[a-z0-9]+$/.test(kind) || kind in tables.messages || kind in tables.special;
  for (const [name, fields] of Object.entries(tables.messages)) {
    const props = schemas[name]?.properties;
    for (const [no, [json, kind, flags = '']] of Object.entries(fields)) {
      assert.match(no, /^[1-9]\d*$/);
      assert.match(flags, /^r?p?e?i?$/, `${name}.${json}: flags ${flags}`);
      const m = /^map<string,(.+)>$/.exec(kind);
      assert.ok(described(m ? m[1] : kind), `${name}.${json}: ${kind} is not described`);
      if (flags.includes('i')) assert.ok(tables.messages[kind], `${name}: inline ${kind}`);
      else if (props) assert.ok(json in props, `${name}: ${json} is not a property of the definition`);
    }
  }
  for (const list of tables.lists) assert.deepEqual(Object.keys(tables.messages[list]), ['1']);
});

test('the generated.proto reader: messages, labels, maps, qualified and local types; anything else fails', () => {
  const dir = mkdtempSync(join(tmpdir(), 'protoparse-'));
  try {
    const file = join(dir, 'generated.proto');
    writeFileSync(file, [
      '/* licence', 'message NotThis {', '*/', 'syntax = "proto2";', 'package k8s.io.api.x.v1;', '',
      '// A thing.', 'message Thing {', '  // name', '  optional string name = 1;', '', '  repeated Other others = 2;',
      '  map<string, .k8s.io.apimachinery.pkg.api.resource.Quantity> limits = 3;', '}', '', 'message Other {', '}', '',
    ].join('\n'));
    const f = parseProtoFile(file)!;
    assert.equal(f.package, 'k8s.io.api.x.v1');
    assert.deepEqual([...f.messages.keys()], ['Thing', 'Other']);
    assert.deepEqual(f.messages.get('Thing')!.fields, [
      { label: 'optional', type: 'string', name: 'name', number: 1 },
      { label: 'repeated', type: 'k8s.io.api.x.v1.Other', name: 'others', number: 2 },
      { label: 'map', type: 'map', key: 'string', value: 'k8s.io.apimachinery.pkg.api.resource.Quantity', name: 'limits', number: 3 },
    ]);
    writeFileSync(file, 'package k8s.io.api.x.v1;\nmessage Bad {\n  oneof x {\n}\n');
    assert.throws(() => parseProtoFile(file), /cannot parse line: oneof x/);
    assert.equal(parseProtoFile(join(dir, 'missing.proto')), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

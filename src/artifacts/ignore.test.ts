import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { filterEntries, MAX_IGNORE_FILE_BYTES, type IgnoreDefaults } from './ignore.js';
import type { ArchiveEntry } from './types.js';

const file = (path: string, content = ''): ArchiveEntry => ({ path, type: 'file', size: Buffer.byteLength(content), read: async () => Buffer.from(content) });
const dir = (path: string): ArchiveEntry => ({ path, type: 'directory' });

async function kept(entries: ArchiveEntry[], defaults: IgnoreDefaults, specIgnore?: string): Promise<string[]> {
  return (await filterEntries(entries, { defaults, specIgnore })).map((e) => e.path).sort();
}

describe('filterEntries, git defaults', () => {
  test('Flux default exclusions', async () => {
    const paths = [
      '.git/config',
      '.git/objects/ab/cdef',
      '.gitignore',
      'sub/.gitignore',
      '.gitmodules',
      '.gitattributes',
      'img/logo.png',
      'b.jpg',
      'c.jpeg',
      'd.gif',
      'e.wmv',
      'f.flv',
      'chart-1.0.0.tar.gz',
      'bundle.zip',
      '.github/workflows/ci.yml',
      'nested/.github/x.yml',
      '.circleci/config.yml',
      '.travis.yml',
      '.gitlab-ci.yml',
      'appveyor.yml',
      '.drone.yml',
      'cloudbuild.yaml',
      'codeship-services.yml',
      'codeship-steps.yml',
      'deep/er/.goreleaser.yml',
      '.sops.yaml',
      'x/.flux.yaml',
      'app/deploy.yaml',
      'README.md',
      'upper.PNG', // Git is case-sensitive on Linux, and so is Flux
    ];
    const entries = [dir('.git'), dir('.github'), dir('app'), ...paths.map((p) => file(p))];
    assert.deepEqual(await kept(entries, 'git'), ['README.md', 'app', 'app/deploy.yaml', 'upper.PNG']);
  });

  test('.sourceignore files at any depth apply relative to their own directory', async () => {
    const entries = [
      file('sub/.sourceignore', '# comment\n*.txt\n/local.yaml\n'),
      file('a.txt'),
      file('local.yaml'),
      file('sub/a.txt'),
      file('sub/deep/b.txt'),
      file('sub/local.yaml'),
      file('sub/deep/local.yaml'),
      file('sub/keep.yaml'),
      file('other/sub/a.txt'),
    ];
    assert.deepEqual(await kept(entries, 'git'), ['a.txt', 'local.yaml', 'other/sub/a.txt', 'sub/.sourceignore', 'sub/deep/local.yaml', 'sub/keep.yaml']);
  });

  test('negation, and a deeper .sourceignore overriding a shallower one', async () => {
    const entries = [
      file('.sourceignore', '*.yaml\n!keep.yaml\n'),
      file('x.yaml'),
      file('keep.yaml'),
      file('d/keep.yaml'),
      file('d/y.yaml'),
      file('e/.sourceignore', '!y.yaml\n'),
      file('e/y.yaml'),
    ];
    assert.deepEqual(await kept(entries, 'git'), ['.sourceignore', 'd/keep.yaml', 'e/.sourceignore', 'e/y.yaml', 'keep.yaml']);
  });

  test('as in Flux, any custom rule replaces the default list (VCS files stay out)', async () => {
    const entries = [file('.sourceignore', 'secret.txt\n'), file('secret.txt'), file('logo.png'), file('.github/ci.yml'), file('.git/config'), file('.gitignore')];
    assert.deepEqual(await kept(entries, 'git'), ['.github/ci.yml', '.sourceignore', 'logo.png']);
  });

  test('spec.ignore replaces the defaults, .git stays excluded even when negated', async () => {
    const entries = [
      file('.git/config'),
      file('.git/HEAD'),
      file('.gitmodules'),
      file('README.md'),
      file('src/main.go'),
      file('deploy/app.yaml'),
      file('deploy/logo.png'),
      file('deploy/docs/notes.md'),
      file('deploy/.github/x.yml'),
    ];
    const spec = '# exclude all\n/*\n# include deploy dir\n!/deploy\n/deploy/**/*.md\n!.git/\n!.gitmodules\n';
    assert.deepEqual(await kept(entries, 'git', spec), ['deploy/.github/x.yml', 'deploy/app.yaml', 'deploy/logo.png']);
  });

  test('spec.ignore comes after .sourceignore files and wins', async () => {
    const entries = [file('.sourceignore', '*.txt\n'), file('a.txt'), file('important.txt'), file('sub/important.txt')];
    assert.deepEqual(await kept(entries, 'git', '!important.txt\n'), ['.sourceignore', 'important.txt', 'sub/important.txt']);
  });

  test('an excluded directory excludes everything below it, whatever the listing', async () => {
    const entries = [dir('build'), dir('build/out'), file('build/out/a.bin'), file('build/keep.txt'), file('buildinfo')];
    assert.deepEqual(await kept(entries, 'git', 'build/\n!build/keep.txt\n'), ['buildinfo']);
    // No directory entries at all: files under an excluded directory are still excluded.
    assert.deepEqual(await kept([file('build/out/a.bin'), file('x')], 'git', 'build/\n'), ['x']);
  });

  test('an empty spec.ignore is no custom rule: the defaults stay', async () => {
    assert.deepEqual(await kept([file('a.png'), file('a.yaml')], 'git', '\n# nothing\n'), ['a.yaml']);
  });

  test('a huge .sourceignore is refused', async () => {
    const big: ArchiveEntry = { path: '.sourceignore', type: 'file', size: MAX_IGNORE_FILE_BYTES + 1, read: async () => Buffer.alloc(0) };
    await assert.rejects(filterEntries([big], { defaults: 'git' }), /larger than/);
  });
});

describe('filterEntries, other profiles', () => {
  test('bucket: no default list, the root .sourceignore only (and not itself), then spec.ignore', async () => {
    const entries = [file('.sourceignore', '*.tmp\n'), file('a.tmp'), file('logo.png'), file('.git/config'), file('sub/.sourceignore', '*.yaml\n'), file('sub/x.yaml'), file('b.log')];
    assert.deepEqual(await kept(entries, 'bucket', '*.log\n'), ['.git/config', 'logo.png', 'sub/.sourceignore', 'sub/x.yaml']);
  });

  test('none: spec.ignore alone', async () => {
    const entries = [file('.sourceignore', '*\n'), file('a.png'), file('.git/config'), file('b.log')];
    assert.deepEqual(await kept(entries, 'none', '*.log\n'), ['.git/config', '.sourceignore', 'a.png']);
  });
});

// The fenced-block reader of the docs test: fences, info strings and their attributes, socket paths.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { codeBlocks, looksLikeCode, socketPaths } from './markdown.js';

const md = [
  '# Title',
  '```ts peer=master queues=2',
  "const m = await Memif.create({ role: 'slave', socketPath: '/run/vpp/memif.sock' });",
  '```',
  '````sh',
  '```',
  'npm test',
  '````',
  '```ts file=rx-worker.ts',
  'export {};',
  '```',
  '```ts no-run: a shape',
  '{ role, id }',
  '```',
  '```ts no-run',
  '```',
  '```ts peer=nobody',
  '```',
  '```',
  "import { Memif } from 'memif-ts';",
  '```',
].join('\n');

test('fences, languages and attributes', () => {
  const b = codeBlocks(md);
  assert.deepEqual(
    b.map((x) => [x.line, x.lang, x.peer, x.queues, x.file, x.noRun, x.problem]),
    [
      [2, 'ts', 'master', 2, undefined, undefined, undefined],
      [5, 'sh', undefined, undefined, undefined, undefined, undefined],
      [9, 'ts', undefined, undefined, 'rx-worker.ts', undefined, undefined],
      [12, 'ts', undefined, undefined, undefined, 'a shape', undefined],
      [15, 'ts', undefined, undefined, undefined, '', 'no-run needs a reason: ```ts no-run: why'],
      [17, 'ts', undefined, undefined, undefined, undefined, 'unknown attribute "peer=nobody" in the info string'],
      [19, '', undefined, undefined, undefined, undefined, undefined],
    ],
  );
  assert.equal(b[1].code, '```\nnpm test', 'a longer fence holds a shorter one');
  assert.equal(looksLikeCode(b[6]), true, 'memif-ts code in a bare block is spotted');
  assert.equal(looksLikeCode(b[1]), false);
});

test('socket paths, each once, in order', () => {
  assert.deepEqual(
    socketPaths(`a({ socketPath: '/x.sock' }); b({ socketPath: "@y" }); c({ socketPath: '/x.sock' });`),
    ['/x.sock', '@y'],
  );
});

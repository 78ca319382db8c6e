import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLED_FEWGLUE } from '../data/bundled.ts';
import { canonicalTaskName } from '../data/tasks/types.ts';
import { mergeConfig } from './run-config.ts';

test('task names match in any case; other names come back unchanged', () => {
  assert.is(canonicalTaskName('rte'), 'RTE');
  assert.is(canonicalTaskName('boolq'), 'BoolQ');
  assert.is(canonicalTaskName('MULTIRC'), 'MultiRC');
  assert.is(canonicalTaskName('Custom'), 'custom');
  assert.is(canonicalTaskName('sst2'), 'sst2');
});

test('a FewGLUE task without --data reads the bundled FewGLUE; an explicit --data wins', () => {
  const bundled = mergeConfig([{ model: 'm', task: 'wic' }]);
  assert.ok(E.isRight(bundled));
  if (E.isRight(bundled)) {
    assert.is(bundled.right.task, 'WiC');
    assert.is(bundled.right.data, BUNDLED_FEWGLUE);
  }
  for (const split of ['train', 'dev32', 'val']) assert.ok(existsSync(join(BUNDLED_FEWGLUE, 'WiC', `${split}.jsonl`)));
  const given = mergeConfig([{ model: 'm', task: 'RTE', data: '/elsewhere' }]);
  assert.ok(E.isRight(given) && given.right.data === '/elsewhere');
});

test('a custom task still needs --data, and says so', () => {
  const r = mergeConfig([{ model: 'm', task: 'custom' }]);
  assert.ok(E.isLeft(r) && /data.*custom task/.test(r.left.message), E.isLeft(r) ? r.left.message : 'accepted');
});

test.run();

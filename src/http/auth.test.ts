import test from 'node:test';
import assert from 'node:assert/strict';
import { bearerToken, cookieValue, TokenChecker } from './auth.js';

test('tokens: exact match only, any of several', () => {
  const checker = new TokenChecker(['first-token-0123456789', 'second-token-0123456789']);
  assert.equal(checker.token('first-token-0123456789'), true);
  assert.equal(checker.token('second-token-0123456789'), true);
  assert.equal(checker.token('first-token-012345678'), false);
  assert.equal(checker.token('first-token-01234567890'), false);
  assert.equal(checker.token(''), false);
});

test('page cookies stand for a token without holding it', () => {
  const checker = new TokenChecker(['first-token-0123456789']);
  const cookie = checker.cookieFor('first-token-0123456789');
  assert.ok(!cookie.includes('first-token'));
  assert.equal(checker.cookie(cookie), true);
  assert.equal(checker.cookie(checker.cookieFor('other-token-0123456789')), false);
  assert.equal(new TokenChecker(['first-token-0123456789']).cookie(cookie), false, 'cookies end with the process');
});

test('header parsing', () => {
  assert.equal(bearerToken('Bearer abc'), 'abc');
  assert.equal(bearerToken('bearer  abc '), 'abc');
  assert.equal(bearerToken('Basic abc'), undefined);
  assert.equal(bearerToken(undefined), undefined);
  assert.equal(cookieValue('a=1; gantry_session=xyz; b=2', 'gantry_session'), 'xyz');
  assert.equal(cookieValue('a=1', 'gantry_session'), undefined);
});

/**
 * The XML parser refuses what untrusted XML can attack with: document type
 * declarations (entity-expansion bombs, external entities), undeclared
 * entities, and documents too long, too deep or with too many elements.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { parseXml, XmlSyntaxError } from './xml.js';
import { billionLaughs } from '../../test/helpers/xml-attacks.js';

const BILLION_LAUGHS = billionLaughs('configuration');

function refused(xml: string, pattern: RegExp): void {
  assert.throws(() => parseXml(xml), (err: unknown) => {
    assert.ok(err instanceof XmlSyntaxError, `an XmlSyntaxError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

test('an entity-expansion bomb is refused quickly, without expanding anything', () => {
  const started = performance.now();
  refused(BILLION_LAUGHS, /document type declarations are not allowed/);
  assert.ok(performance.now() - started < 1000);
});

test('external entities (XXE) are refused', () => {
  refused('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><r>&xxe;</r>', /document type declarations are not allowed/);
  refused('<!DOCTYPE r SYSTEM "http://127.0.0.1:1/evil.dtd"><r/>', /document type declarations are not allowed/);
  refused('<!DOCTYPE r [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><r/>', /document type declarations are not allowed/);
});

test('an undeclared entity is malformed; the five predefined ones and character references work', () => {
  refused('<r>&xxe;</r>', /Malformed XML/);
  const root = parseXml('<r a="&lt;&#65;">&amp;&gt;&quot;&apos;&#x42;</r>');
  assert.equal(root.attributes['a'], '<A');
  assert.deepEqual(root.children, [{ type: 'text', text: '&>"\'B' }]);
});

test('documents too long, too deep or with too many elements are refused', () => {
  assert.throws(() => parseXml(`<r>${'x'.repeat(200)}</r>`, { maxLength: 100 }), /of 207 characters: the limit is 100/);
  assert.throws(() => parseXml(`${'<a>'.repeat(65)}${'</a>'.repeat(65)}`), /nesting deeper than 64 levels/);
  assert.throws(() => parseXml(`<r>${'<e/>'.repeat(11)}</r>`, { maxElements: 10 }), /more than 10 elements/);
  assert.equal(parseXml(`${'<a>'.repeat(64)}${'</a>'.repeat(64)}`).name, 'a');
});

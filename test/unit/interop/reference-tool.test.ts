// Unit tests for the interop harness's parsers of the reference tool's output (test/interop/
// reference-tool.ts): the `%#02X` byte lists xtt runserver/runclient print, and client_id.txt.
// The sample lines are verbatim from a run of xtt 0.12.0 (tool/server.c report_results_server).
import test from 'ava';
import { findByteList, parseByteList, parseIdText } from '../../interop/reference-tool.ts';

test('parseByteList reads %#02X output, where zero prints as 00 without 0X', (t) => {
  t.deepEqual(Array.from(parseByteList('{0X3D, 0X2, 00, 0XFF}')), [0x3d, 0x02, 0x00, 0xff]);
  t.deepEqual(Array.from(parseByteList('{0}')), [0]);
});

test('parseByteList rejects anything else', (t) => {
  for (const bad of ['0X3D, 0X2', '{0X3D,, 0X2}', '{0X123}', '{1}', '{0x3d}', '{}', '{0X3D} trailing']) {
    t.throws(() => parseByteList(bad), undefined, bad);
  }
});

test('findByteList takes the last labelled line after the mark', (t) => {
  const out = [
    'We assigned the client the id: {0X1, 00}',
    'Handshake completed successfully!',
    'We assigned the client the id: {0X2, 0XAB}',
  ].join('\n');
  t.deepEqual(Array.from(findByteList(out, 'We assigned the client the id:')!), [0x02, 0xab]);
  t.is(findByteList(out, 'The client has pseudonym:'), undefined);
  const mark = out.lastIndexOf('Handshake');
  t.deepEqual(Array.from(findByteList(out, 'We assigned the client the id:', mark)!), [0x02, 0xab]);
  t.is(findByteList(out.slice(0, mark), 'We assigned the client the id:', mark), undefined);
});

test('parseIdText reads client_id.txt (uppercase groups, trailing NUL)', (t) => {
  const id = parseIdText('FD00:7474:0001:0000:5099:2D29:5965:38BD\0');
  t.is(Buffer.from(id).toString('hex'), 'fd0074740001000050992d29596538bd');
  t.throws(() => parseIdText('fd00:7474:1::1'));
  t.throws(() => parseIdText('FD00:7474:0001:0000:5099:2D29:5965'));
});

// Journald log lines: one line per event, priority prefix, quoted values, no line breaks.
import test from 'ava';
import { formatEvent, journalLogger, rateLimitedWarnings } from '../../../server-stub/log.ts';

test('events are single key=value lines with sd-daemon priorities', (t) => {
  const lines: string[] = [];
  const log = journalLogger((l) => lines.push(l));
  log.info('handshake.provisioned', { src: '::1', port: 4000, id: '2001:db8::1', skip: undefined });
  log.warn('handshake.refused', { reason: 'unknown-batch', msg: 'two words\nand a newline' });
  log.error('x', { v: null });
  t.deepEqual(lines, [
    '<6>handshake.provisioned src=::1 port=4000 id=2001:db8::1\n',
    '<4>handshake.refused reason=unknown-batch msg="two words\\nand a newline"\n',
    '<3>x v=-\n',
  ]);
  t.false(formatEvent('e', { a: 'x\ny' }).includes('\n'));
});

test('warnings are rate limited with a count of what was dropped', (t) => {
  const lines: string[] = [];
  let now = 10_000;
  const log = rateLimitedWarnings(
    journalLogger((l) => lines.push(l)),
    2,
    () => now,
  );
  for (let i = 0; i < 5; i++) log.warn('handshake.failed', { i });
  log.error('still.logged');
  now += 1000;
  log.warn('handshake.failed', { i: 9 });
  t.deepEqual(lines, [
    '<4>handshake.failed i=0\n',
    '<4>handshake.failed i=1\n',
    '<3>still.logged\n',
    '<4>log.suppressed count=3\n',
    '<4>handshake.failed i=9\n',
  ]);
});

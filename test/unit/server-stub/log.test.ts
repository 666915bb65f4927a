// Journald log lines: one line per event, priority prefix, quoted values, no line breaks.
import test from 'ava';
import { formatEvent, journalLogger } from '../../../server-stub/log.ts';

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

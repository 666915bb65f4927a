// A CommandRunner (agent/network-manager/command-runner.ts) that records each command line and
// answers from a table keyed by the joined command line; unknown commands exit 1. A line given
// several answers (answerInTurn) gets them in order, the last one from then on.
import type { CommandResult, CommandRunner } from '../../agent/network-manager/command-runner.ts';

export class FakeCommandRunner implements CommandRunner {
  readonly calls: string[] = [];
  readonly answers = new Map<string, Partial<CommandResult>[]>();

  answer(line: string, r: Partial<CommandResult>): this {
    this.answers.set(line, [r]);
    return this;
  }

  answerInTurn(line: string, rs: Partial<CommandResult>[]): this {
    this.answers.set(line, [...rs]);
    return this;
  }

  async run(file: string, args: readonly string[]): Promise<CommandResult> {
    const line = [file, ...args].join(' ');
    this.calls.push(line);
    const queue = this.answers.get(line);
    const a = queue && queue.length > 1 ? queue.shift() : queue?.[0];
    if (!a) return { status: 1, stdout: '', stderr: `fake: no answer for ${line}` };
    return { status: a.status ?? 0, stdout: a.stdout ?? '', stderr: a.stderr ?? '' };
  }
}

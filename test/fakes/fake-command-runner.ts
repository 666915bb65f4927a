// A CommandRunner (agent/network-manager/command-runner.ts) that records each command line and
// answers from a table keyed by the joined command line; unknown commands exit 1.
import type { CommandResult, CommandRunner } from '../../agent/network-manager/command-runner.ts';

export class FakeCommandRunner implements CommandRunner {
  readonly calls: string[] = [];
  constructor(readonly answers: Map<string, Partial<CommandResult>> = new Map()) {}

  answer(line: string, r: Partial<CommandResult>): this {
    this.answers.set(line, r);
    return this;
  }

  async run(file: string, args: readonly string[]): Promise<CommandResult> {
    const line = [file, ...args].join(' ');
    this.calls.push(line);
    const a = this.answers.get(line);
    if (!a) return { status: 1, stdout: '', stderr: `fake: no answer for ${line}` };
    return { status: a.status ?? 0, stdout: a.stdout ?? '', stderr: a.stderr ?? '' };
  }
}

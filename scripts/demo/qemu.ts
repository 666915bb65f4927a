// `npm run demo -- --qemu`: placeholder until the QEMU path is wired; says why and what to run.
export function qemuUnavailableReason(): Promise<string> {
  return Promise.resolve('not wired yet');
}

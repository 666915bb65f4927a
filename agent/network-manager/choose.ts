// Which network manager keeps the identity address after READY=1: a pure decision over facts
// gathered from the host (host-facts.ts), so every branch is unit-tested without a manager running.
//   auto:            systemd-networkd when it runs and manages the interface (its link state names
//                    a .network file), else NetworkManager when it runs and the interface has an
//                    active connection, else none (the agent's netlink path, optionally the watcher);
//   networkd / networkmanager: that manager, or a NetworkManagerError saying why it cannot serve;
//   none:            nobody; the address stays as the agent put it via netlink.
import { NetworkManagerError } from '../errors.ts';
import type { NetworkManagerChoice } from '../config.ts';

export interface ManagerFacts {
  networkd: {
    isRunning: boolean;
    /** NETWORK_FILE= of the interface in networkd's link state: the .network that matched it. */
    networkFile?: string;
    /** ADMIN_STATE= of the interface (e.g. configured, configuring, unmanaged). */
    adminState?: string;
  };
  networkManager: {
    isRunning: boolean;
    /** The connection profile active on the interface. */
    connectionUuid?: string;
  };
}

export type ManagerDecision =
  | { kind: 'networkd'; networkFile: string }
  | { kind: 'networkmanager'; connectionUuid: string }
  | { kind: 'none'; reason: string };

function networkdProblem(f: ManagerFacts['networkd'], ifname: string): string | undefined {
  if (!f.isRunning) return 'systemd-networkd is not running';
  if (f.adminState === 'unmanaged') return `systemd-networkd leaves ${ifname} unmanaged`;
  if (!f.networkFile) return `no .network file of systemd-networkd matches ${ifname}`;
  return undefined;
}

function networkManagerProblem(f: ManagerFacts['networkManager'], ifname: string): string | undefined {
  if (!f.isRunning) return 'NetworkManager is not running';
  if (!f.connectionUuid) return `NetworkManager has no active connection on ${ifname}`;
  return undefined;
}

export function chooseManager(
  choice: NetworkManagerChoice,
  facts: ManagerFacts,
  ifname: string,
): ManagerDecision {
  const nd = networkdProblem(facts.networkd, ifname);
  const nm = networkManagerProblem(facts.networkManager, ifname);
  switch (choice) {
    case 'none':
      return { kind: 'none', reason: 'network.manager is none' };
    case 'networkd':
      if (nd) throw new NetworkManagerError('networkd', `network.manager is networkd but ${nd}`);
      return { kind: 'networkd', networkFile: facts.networkd.networkFile! };
    case 'networkmanager':
      if (nm) throw new NetworkManagerError('networkmanager', `network.manager is networkmanager but ${nm}`);
      return { kind: 'networkmanager', connectionUuid: facts.networkManager.connectionUuid! };
    case 'auto':
      if (!nd) return { kind: 'networkd', networkFile: facts.networkd.networkFile! };
      if (!nm) return { kind: 'networkmanager', connectionUuid: facts.networkManager.connectionUuid! };
      return { kind: 'none', reason: `${nd}; ${nm}` };
  }
}

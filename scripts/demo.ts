// Placeholder for the main job (issue "The main job in one command"): it will start enf-server,
// create and provision a batch of swtpm TPMs, associate it with a network and power on devices in
// network namespaces. Until then it says so and exits non-zero, so nobody mistakes it for the demo.
console.error('npm run demo: the end-to-end demo is not implemented yet (see README "Status").');
process.exit(3);

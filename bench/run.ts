export {};

// `npm run bench -- <name>`: each benchmark prints its figures and a ratio against a baseline measured in the same run.
const benches: Record<string, () => Promise<void>> = {
  aggregate: async () => (await import('./aggregate')).benchAggregate(),
  kernels: async () => (await import('./kernels')).benchKernels(),
  train: async () => (await import('./train')).benchTrain(),
  inference: async () => (await import('./inference')).benchInference(),
  load: async () => (await import('./load')).benchLoad(),
  lm: async () => (await import('./lm')).benchLm(),
  device: async () => (await import('./device')).benchDevice(),
};

const names = process.argv.slice(2);
for (const name of names.length ? names : Object.keys(benches)) {
  const run = benches[name];
  if (!run) {
    console.error(`unknown benchmark "${name}"; choose from ${Object.keys(benches).join(', ')}`);
    process.exit(2);
  }
  console.log(`\n== ${name} ==`);
  await run();
}
process.exit(0);

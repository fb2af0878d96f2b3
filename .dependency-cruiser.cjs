// The layers, checked in `npm test` (npm run deps): imports go one way, and no cycle anywhere.
const TESTS = '(\\.test\\.ts$|\\.fixtures\\.ts$|^test/|^bench/)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-cycle', severity: 'error', comment: 'A cycle of imports: split the shared part into a leaf module.', from: {}, to: { circular: true } },
    {
      name: 'protocol-is-a-leaf',
      severity: 'error',
      comment: 'protocol/ is imported by every side and imports nothing of ours.',
      from: { path: '^protocol/', pathNot: TESTS },
      to: { path: '^(coordinator|kernels|worker|native-worker|web-worker-client|cli|test|bench)/' },
    },
    {
      name: 'kernels-only-protocol',
      severity: 'error',
      from: { path: '^kernels/', pathNot: TESTS },
      to: { path: '^(coordinator|worker|native-worker|web-worker-client|cli|test|bench)/' },
    },
    {
      name: 'worker-only-kernels-and-protocol',
      severity: 'error',
      from: { path: '^worker/', pathNot: TESTS },
      to: { path: '^(coordinator|native-worker|web-worker-client|cli|test|bench)/' },
    },
    {
      name: 'jobs-core-knows-no-kind',
      severity: 'error',
      comment: 'coordinator/jobs/ calls a JobKind; job-kinds.ts is the one place that names the kinds.',
      from: { path: '^coordinator/jobs/', pathNot: TESTS },
      to: { path: '^coordinator/(training|inference)/' },
    },
    {
      name: 'kinds-apart',
      severity: 'error',
      comment: 'One kind never reaches into another; what they share belongs in the core.',
      from: { path: '^coordinator/(training|inference)/', pathNot: TESTS },
      to: { path: '^coordinator/(training|inference)/', pathNot: '^coordinator/$1/' },
    },
    {
      name: 'routes-import-api-not-composer',
      severity: 'error',
      from: { path: '^coordinator/(net|training|inference)/', pathNot: '(^coordinator/net/routes\\.ts$|\\.test\\.ts$)' },
      to: { path: '^coordinator/net/routes\\.ts$' },
    },
    {
      name: 'no-test-helpers-in-production',
      severity: 'error',
      from: { pathNot: TESTS },
      to: { path: TESTS },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^node_modules|^dist|^\\.tsbuild)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.node.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.mts', '.mjs', '.js'] },
  },
};

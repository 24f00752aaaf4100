// For working on the viewer by hand: starts meanwhiled (MEANWHILED) with the recorded
// fixture (and, with --synth, the synthetic 5,000-span trace) and prints its address;
// Ctrl-C stops it.  MEANWHILED=build/meanwhiled node web/test-browser/serve.mjs [--synth]
import { fixtureServer, loadSynth } from './lib/fixture.mjs';

const srv = await fixtureServer();
if (process.argv.includes('--synth')) {
  const t = await loadSynth(srv);
  console.log(`synthetic trace: ${srv.base}/trace/${t.traceId}`);
}
console.log(`meanwhiled with the fixture: ${srv.base}/`);
const stop = async () => { await srv.cleanup(); process.exit(0); };
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

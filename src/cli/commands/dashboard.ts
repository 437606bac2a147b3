// `hcx dashboard`: the pipeline's page (stages, live curves, evaluations per checkpoint, failed jobs' logs).
import { defineCommand } from '../args.js';

export const command = defineCommand({
  summary: 'pipeline dashboard: stages, live loss/reward/KL curves, evaluations per checkpoint, failed jobs\' logs',
  options: {
    store: { type: 'string', placeholder: 'URL', description: 'the pipeline\'s store (default: the plan\'s)' },
    port: { type: 'number', integer: true, min: 0, max: 65535, default: 8600, description: 'TCP port' },
    host: { type: 'string', default: '127.0.0.1', description: 'address to listen on' },
  },
  positionals: { name: 'PLAN', min: 0, max: 1, description: 'the plan file (or give --store)' },
  async run(o, [planFile]) {
    const { openStore } = await import('../../pipeline/store.js');
    const { startDashboard } = await import('../../pipeline/dashboard.js');
    let url = o.store;
    if (!url) {
      if (!planFile) throw new Error('hcx dashboard: give the plan file or --store URL');
      url = (await (await import('../../pipeline/plan.js')).loadPlan(planFile)).store;
    }
    const store = await openStore(url);
    const d = await startDashboard(store, { port: o.port, host: o.host });
    console.error(`hcx dashboard: ${d.url} (store ${url})`);
    const stop = () => { void d.close().then(() => store.close()).then(() => process.exit(0)); };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    await new Promise<never>(() => {});
  },
});

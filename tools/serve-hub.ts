// Serves model folders in the Hugging Face Hub's URL layout, for offline demos and mirrors:
//   npx tsx tools/serve-hub.ts owner/name=path/to/folder [owner2/name2=folder2 ...] [--port 8080]
// then open the app with ?hubEndpoint=http://127.0.0.1:8080&model=owner/name, or set HF_ENDPOINT for the CLI.
import { startHubServer } from './hubServer.ts';

const args = process.argv.slice(2);
const portAt = args.indexOf('--port');
const port = portAt >= 0 ? Number(args.splice(portAt, 2)[1]) : 8080;
const repos: Record<string, string> = {};
for (const a of args) {
  const [id, dir] = a.split('=');
  if (!id || !dir || !id.includes('/')) {
    console.error(`usage: npx tsx tools/serve-hub.ts owner/name=folder [...] [--port 8080]; got "${a}"`);
    process.exit(2);
  }
  repos[id] = dir;
}
const hub = await startHubServer(repos, [], port);
console.log(`serving ${Object.keys(repos).join(', ')} at ${hub.url}`);

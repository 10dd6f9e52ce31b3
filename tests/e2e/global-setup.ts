// One production build for the whole e2e run (each test file used to build its own): the files then
// only serve dist/ (tools/browser.ts startApp).
import { buildApp } from '../../tools/browser.ts';

export default async function setup(): Promise<void> {
  await buildApp();
  process.env.NEXTTOKEN_PREBUILT = '1';
}

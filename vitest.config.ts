import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';
import { CHROMIUM_ARGS } from './tools/browser.ts';

const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
const run = promisify(execFile);


export default defineConfig({
  test: {
    testTimeout: 180_000,
    hookTimeout: 180_000,
    projects: [
      {
        test: {
          name: 'node',
          include: ['tests/**/*.test.ts'],
          exclude: ['tests/**/*.browser.test.ts', 'tests/e2e/**', 'node_modules/**'],
          pool: 'forks',
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          globalSetup: ['tests/e2e/global-setup.ts'],
          pool: 'forks',
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
      {
        server: { headers: isolation },
        test: {
          name: 'browser',
          include: ['tests/**/*.browser.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          browser: {
            enabled: true,
            headless: true,
            provider: playwright({ launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS } }),
            instances: [{ browser: 'chromium' }],
            commands: {
              // Runs the Node CLI, so browser tests compare the two engines side by side.
              async nodeGenerate(_ctx, args: string[]) {
                const { stdout } = await run('node_modules/.bin/tsx', ['src/cli/generate.ts', ...args], { maxBuffer: 64 << 20 });
                return stdout;
              },
            },
          },
        },
      },
    ],
  },
});

// The docs a newcomer navigates: the README stays an entrance (short), and every relative link in it and in
// docs/ leads to a file that exists (a moved or renamed file breaks this test, not a reader's click).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const pages = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** Markdown link and image targets: [text](target) and ![alt](target). */
function linkTargets(markdown: string): string[] {
  return [...markdown.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]);
}

describe('docs', () => {
  it('README.md is at most 150 lines and links the deploy guide', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme.split('\n').length).toBeLessThanOrEqual(150);
    expect(linkTargets(readme)).toContain('docs/deploy.md');
  });

  for (const page of pages) {
    it(`every relative link in ${page} points to an existing file`, () => {
      const targets = linkTargets(readFileSync(join(ROOT, page), 'utf8')).filter((t) => !/^(https?:|mailto:|#)/.test(t));
      const missing = targets.filter((t) => !existsSync(resolve(dirname(join(ROOT, page)), decodeURI(t.split('#')[0]))));
      expect(missing).toEqual([]);
    });
  }

  it('the GitHub Pages workflow builds with npm ci && npm run build and publishes dist/', () => {
    const workflow = readFileSync(join(ROOT, '.github/workflows/pages.yml'), 'utf8');
    expect(workflow).toMatch(/run: npm ci && npm run build/);
    expect(workflow).toMatch(/path: dist\b/);
  });
});

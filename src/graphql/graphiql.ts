import crypto from 'node:crypto';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { GraphiQLOptions } from 'graphql-yoga';

// GraphiQL from the installed package, not a CDN: @graphql-yoga/render-graphiql inlines its
// script, styles and editor workers into one page, so the dashboard's origin (where a master key
// may sit in session storage) runs no third-party code fetched at run time. The page is served
// under a Content-Security-Policy that allows exactly its own inline scripts (by SHA-256), the
// editor's workers (blob:) and requests to this origin.

export interface GraphiQLPage {
  html: string;
  csp: string;
}

const pages = new Map<string, GraphiQLPage>();

function scriptHashes(html: string): string[] {
  const hashes: string[] = [];
  for (const m of html.matchAll(/<script>([\s\S]*?)<\/script>/g)) hashes.push(`'sha256-${crypto.createHash('sha256').update(m[1]).digest('base64')}'`);
  return hashes;
}

/** The page for `options` and its policy (rendered once per distinct options). */
export function graphiqlPage(options: GraphiQLOptions): GraphiQLPage {
  const key = JSON.stringify(options);
  let page = pages.get(key);
  if (!page) {
    const html = renderGraphiQL(options);
    const csp = [
      "default-src 'none'",
      `script-src ${scriptHashes(html).join(' ')}`,
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data:",
      "font-src 'self' data:",
      "connect-src 'self'",
      'worker-src blob:',
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; ');
    page = { html, csp };
    pages.set(key, page);
  }
  return page;
}

/** The policy of the page last rendered (every page of one process is rendered from the same options). */
export function graphiqlPolicy(): string | undefined {
  return [...pages.values()].at(-1)?.csp;
}

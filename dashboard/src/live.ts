import { useEffect, useRef } from 'react';
import { credentials, keywardenUrl } from './api';

// Live updates: GraphQL subscriptions read as Server-Sent Events from /graphql. EventSource cannot
// send the Authorization header, so the stream is read through fetch (as the key or the session, as api.ts). A dropped stream is opened
// again after a pause that grows up to 30 s; leaving the page closes it.

/** Splits an SSE body read so far into complete events and the unfinished rest. */
export function parseSseBlocks(buffer: string): { events: { event: string; data: string }[]; rest: string } {
  const events: { event: string; data: string }[] = [];
  let rest = buffer.replace(/\r\n/g, '\n');
  for (let end = rest.indexOf('\n\n'); end >= 0; end = rest.indexOf('\n\n')) {
    const block = rest.slice(0, end);
    rest = rest.slice(end + 2);
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
    }
    if (data.length) events.push({ event, data: data.join('\n') });
    else if (event === 'complete') events.push({ event, data: '' });
  }
  return { events, rest };
}

async function readStream(query: string, onData: (data: unknown) => void, signal: AbortSignal): Promise<void> {
  const auth = credentials();
  const res = await fetch(keywardenUrl('graphql'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...auth.headers },
    body: JSON.stringify({ query }),
    credentials: auth.credentials,
    referrerPolicy: auth.referrerPolicy,
    signal,
  });
  if (!res.ok || !res.body) throw new Error(`subscription refused (HTTP ${res.status})`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const chunk = await reader.read();
    if (chunk.done) return;
    const parsed = parseSseBlocks(buffer + decoder.decode(chunk.value, { stream: true }));
    buffer = parsed.rest;
    for (const e of parsed.events) {
      if (e.event === 'complete') return;
      if (e.event !== 'next') continue;
      const body = JSON.parse(e.data) as { data?: unknown; errors?: { message: string }[] };
      if (body.errors?.length) throw new Error(body.errors[0].message);
      if (body.data) onData(body.data);
    }
  }
}

/** Keeps a subscription open while the component is mounted; `onData` gets each `data` object. */
export function useSubscription<T>(query: string, onData: (data: T) => void, opts: { skip?: boolean } = {}): void {
  const handler = useRef(onData);
  handler.current = onData;
  const skip = opts.skip ?? false;
  useEffect(() => {
    if (skip) return;
    const abort = new AbortController();
    let pause = 1000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const open = () => {
      readStream(query, (d) => handler.current(d as T), abort.signal)
        .then(
          () => {
            pause = 1000;
          },
          () => {},
        )
        .finally(() => {
          if (abort.signal.aborted) return;
          timer = setTimeout(open, pause);
          pause = Math.min(pause * 2, 30_000);
        });
    };
    open();
    return () => {
      abort.abort();
      if (timer) clearTimeout(timer);
    };
  }, [query, skip]);
}

export const SECURITY_EVENT_RAISED = `subscription SecurityEventRaised { securityEventRaised { id kind severity ip createdAt acknowledgedAt key { id name start } } }`;
export const KEY_CHANGED = `subscription KeyChanged { keyChanged { id name status } }`;

export interface LiveSecurityEvent {
  id: string;
  kind: string;
  severity: string;
  ip: string | null;
  createdAt: string;
  acknowledgedAt: string | null;
  key: { id: string; name: string; start: string } | null;
}

/** The app's one security-event stream is passed on to pages as a window event of this name. */
export const SECURITY_EVENT = 'keywarden:security-event';

export function useSecurityEvents(onEvent: (e: LiveSecurityEvent) => void): void {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => {
    const listener = (e: Event) => handler.current((e as CustomEvent<LiveSecurityEvent>).detail);
    window.addEventListener(SECURITY_EVENT, listener);
    return () => window.removeEventListener(SECURITY_EVENT, listener);
  }, []);
}

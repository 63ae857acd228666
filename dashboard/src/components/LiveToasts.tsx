import { useEffect, useState } from 'react';
import { SECURITY_EVENT, SECURITY_EVENT_RAISED, useSubscription, type LiveSecurityEvent } from '../live';
import { href } from '../router';
import { powersOf, type ViewerInfo } from '../viewer';

// The signed-in tab's one security-event subscription: each new event shows as a toast (announced
// to screen readers) and is passed on to the pages listening (the overview's list).

const SHOWN_MS = 15_000;

export function LiveToasts({ viewer }: { viewer: ViewerInfo }) {
  const [toasts, setToasts] = useState<LiveSecurityEvent[]>([]);
  const powers = powersOf(viewer);
  const mayListen = powers.accountWide || powers.managesKeys;
  useSubscription<{ securityEventRaised: LiveSecurityEvent }>(
    SECURITY_EVENT_RAISED,
    (d) => {
      const e = d.securityEventRaised;
      window.dispatchEvent(new CustomEvent(SECURITY_EVENT, { detail: e }));
      setToasts((prev) => [e, ...prev].slice(0, 3));
    },
    { skip: !mayListen },
  );
  useEffect(() => {
    if (toasts.length === 0) return;
    const t = setTimeout(() => setToasts((prev) => prev.slice(0, -1)), SHOWN_MS);
    return () => clearTimeout(t);
  }, [toasts]);
  return (
    <div className="toasts" role="status" aria-live="polite" aria-label="New security events">
      {toasts.map((e) => (
        <div className={`toast severity-${e.severity.toLowerCase()}`} key={e.id}>
          <strong>New security event:</strong> {e.kind} ({e.severity.toLowerCase()}){e.key ? ` on ${e.key.name}` : ''} <a href={href({ page: 'security' })}>View</a>
          <button type="button" aria-label="Dismiss" onClick={() => setToasts((prev) => prev.filter((p) => p.id !== e.id))}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

import { useState } from 'react';
import { errorText, gql } from '../api';
import { useQuery } from '../hooks';
import { downloadText, formatDate } from '../format';
import { ErrorBanner, Loading } from '../components/common';

const COMPLIANCE_QUERY = `query Compliance {
  complianceStatus {
    generatedAt
    activeKeys { count }
    expiringSoonKeys { count }
    highPrivilegeKeys { count }
    neverExpiringKeys { count }
    productionKeysWithoutIpRestriction { count }
    rotationOverdueKeys { count }
    unusedKeys { count }
    openSecurityEvents { count critical high medium low }
  }
  verifyAuditChain { valid checked firstBrokenSequence }
}`;

const REPORTS = {
  access: { label: 'Access report', query: `query { accessReport(format: CSV) { content } }`, field: 'accessReport', ranged: false },
  usage: { label: 'Usage report (30 days)', query: `query R($from: DateTime!, $to: DateTime!) { usageReport(from: $from, to: $to, format: CSV) { content } }`, field: 'usageReport', ranged: true },
  security: { label: 'Security report (30 days)', query: `query R($from: DateTime!, $to: DateTime!) { securityReport(from: $from, to: $to, format: CSV) { content } }`, field: 'securityReport', ranged: true },
} as const;

interface Compliance {
  complianceStatus: {
    generatedAt: string;
    activeKeys: { count: number };
    expiringSoonKeys: { count: number };
    highPrivilegeKeys: { count: number };
    neverExpiringKeys: { count: number };
    productionKeysWithoutIpRestriction: { count: number };
    rotationOverdueKeys: { count: number };
    unusedKeys: { count: number };
    openSecurityEvents: { count: number; critical: number; high: number; medium: number; low: number };
  };
  verifyAuditChain: { valid: boolean; checked: number; firstBrokenSequence: number | null };
}

export function CompliancePage() {
  const { data, error, loading } = useQuery<Compliance>(COMPLIANCE_QUERY);
  const [downloadError, setDownloadError] = useState<string | null>(null);
  const download = async (name: keyof typeof REPORTS) => {
    const r = REPORTS[name];
    const to = new Date();
    const from = new Date(to.getTime() - 30 * 86_400_000);
    try {
      const d = await gql<Record<string, { content: string }>>(r.query, r.ranged ? { from: from.toISOString(), to: to.toISOString() } : {});
      downloadText(`keywarden-${name}-report-${to.toISOString().slice(0, 10)}.csv`, d[r.field].content, 'text/csv');
      setDownloadError(null);
    } catch (e) {
      setDownloadError(errorText(e));
    }
  };
  if (loading && !data) return <Loading what="compliance status" />;
  const c = data?.complianceStatus;
  const rows: [string, number | undefined, boolean][] = [
    ['Usable keys', c?.activeKeys.count, false],
    ['Expiring within 14 days', c?.expiringSoonKeys.count, true],
    ['Rotation overdue', c?.rotationOverdueKeys.count, true],
    ['High-privilege keys', c?.highPrivilegeKeys.count, false],
    ['Never expiring', c?.neverExpiringKeys.count, true],
    ['Production keys without IP restriction', c?.productionKeysWithoutIpRestriction.count, true],
    ['Unused for 90 days', c?.unusedKeys.count, true],
    ['Open security events', c?.openSecurityEvents.count, true],
  ];
  return (
    <section>
      <div className="page-head">
        <h1>Compliance</h1>
        {c && <span className="muted">as of {formatDate(c.generatedAt)}</span>}
      </div>
      <ErrorBanner error={error ?? downloadError} />
      {c && (
        <div className="tiles" data-testid="compliance">
          {rows.map(([label, n, bad]) => (
            <div key={label} className={`tile${bad && n ? ' attention' : ''}`}>
              <div className="tile-value">{n}</div>
              <div className="tile-label">{label}</div>
            </div>
          ))}
        </div>
      )}
      {data && (
        <p className={data.verifyAuditChain.valid ? 'ok' : 'error'} data-testid="audit-chain">
          {data.verifyAuditChain.valid
            ? `Audit chain intact: ${data.verifyAuditChain.checked} events checked.`
            : `Audit chain broken at sequence ${data.verifyAuditChain.firstBrokenSequence} (${data.verifyAuditChain.checked} checked).`}
        </p>
      )}
      <div className="card">
        <h2>Reports (CSV)</h2>
        <div className="actions">
          {(Object.keys(REPORTS) as (keyof typeof REPORTS)[]).map((name) => (
            <button type="button" key={name} onClick={() => download(name)}>
              {REPORTS[name].label}
            </button>
          ))}
        </div>
      </div>
    </section>
  );
}

import { formatBytes } from '../format';
import type { UsagePoint } from '../types';
import { Segmented } from './common';

// Allowed and denied verifications per bucket as stacked SVG bars (no chart library needed for
// two series), with the totals and a table of the same numbers for screen readers.

const WIDTH = 720;
const HEIGHT = 180;
const PAD = 24;

export function UsageChart({ points, granularity }: { points: UsagePoint[]; granularity: 'HOUR' | 'DAY' }) {
  const max = Math.max(1, ...points.map((p) => p.allowed + p.denied));
  const slot = (WIDTH - PAD * 2) / Math.max(points.length, 1);
  const barWidth = Math.max(1, slot * 0.7);
  const y = (n: number) => ((HEIGHT - PAD * 2) * n) / max;
  const total = points.reduce((acc, p) => ({ allowed: acc.allowed + p.allowed, denied: acc.denied + p.denied, units: acc.units + p.units, bytes: acc.bytes + p.bytes }), {
    allowed: 0,
    denied: 0,
    units: 0,
    bytes: 0,
  });
  const label = (p: UsagePoint) => (granularity === 'HOUR' ? p.start.slice(5, 13).replace('T', ' ') + ':00' : p.start.slice(0, 10));
  return (
    <figure className="chart" data-testid="usage-chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={`Verifications per ${granularity.toLowerCase()}: ${total.allowed} allowed, ${total.denied} denied`}>
        <line x1={PAD} y1={HEIGHT - PAD} x2={WIDTH - PAD} y2={HEIGHT - PAD} className="axis" />
        <text x={PAD} y={PAD - 8} className="axis-label">
          {max}
        </text>
        {points.map((p, i) => {
          const x = PAD + i * slot + (slot - barWidth) / 2;
          const hAllowed = y(p.allowed);
          const hDenied = y(p.denied);
          return (
            <g key={p.start}>
              <title>{`${label(p)}: ${p.allowed} allowed, ${p.denied} denied, ${p.units} units, ${formatBytes(p.bytes)}`}</title>
              {p.allowed > 0 && <rect className="bar-allowed" data-value={p.allowed} x={x} y={HEIGHT - PAD - hAllowed} width={barWidth} height={hAllowed} />}
              {p.denied > 0 && <rect className="bar-denied" data-value={p.denied} x={x} y={HEIGHT - PAD - hAllowed - hDenied} width={barWidth} height={hDenied} />}
            </g>
          );
        })}
        {points.length > 0 && (
          <>
            <text x={PAD} y={HEIGHT - 6} className="axis-label">
              {label(points[0])}
            </text>
            <text x={WIDTH - PAD} y={HEIGHT - 6} className="axis-label" textAnchor="end">
              {label(points[points.length - 1])}
            </text>
          </>
        )}
      </svg>
      <figcaption>
        <span className="legend allowed">allowed {total.allowed}</span>
        <span className="legend denied">denied {total.denied}</span>
        <span className="legend">units {total.units}</span>
        <span className="legend">bandwidth {formatBytes(total.bytes)}</span>
      </figcaption>
      <details>
        <summary>Data</summary>
        <table>
          <thead>
            <tr>
              <th>{granularity === 'HOUR' ? 'hour' : 'day'}</th>
              <th>allowed</th>
              <th>denied</th>
              <th>units</th>
              <th>bytes</th>
            </tr>
          </thead>
          <tbody>
            {points
              .filter((p) => p.requests > 0)
              .map((p) => (
                <tr key={p.start}>
                  <td>{label(p)}</td>
                  <td>{p.allowed}</td>
                  <td>{p.denied}</td>
                  <td>{p.units}</td>
                  <td>{formatBytes(p.bytes)}</td>
                </tr>
              ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

/** The usage chart's range: 48 hours by the hour, or 30 days by the day. */
export function GranularitySwitch({ value, onChange }: { value: 'HOUR' | 'DAY'; onChange: (g: 'HOUR' | 'DAY') => void }) {
  return (
    <Segmented
      label="Granularity"
      value={value}
      options={[
        ['HOUR', '48 hours'],
        ['DAY', '30 days'],
      ]}
      onChange={onChange}
    />
  );
}

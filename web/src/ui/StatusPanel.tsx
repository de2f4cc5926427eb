// After sending: the state per recipient domain, and Recall while nobody
// has fetched the resources (SPEC §10).
import { useCallback, useEffect, useState } from 'react';
import styled from 'styled-components';
import { describeError } from '../api/errors';
import type { DeliveryState, DeliveryStatus } from '../api/types';
import type { MailActions } from './actions';
import { Badge, Banner, Button, Spinner } from './common';
import { fullDate } from './fmt';

const Panel = styled.section`
  margin-top: 14px;
  border: 1px solid var(--border);
  border-radius: 8px;
  padding: 12px 14px;
  background: var(--surface-2);
  h3 { margin: 0 0 8px; font-size: 14px; }
  table { width: 100%; border-collapse: collapse; font-size: 13px; }
  th { text-align: left; color: var(--text-3); font-weight: 500; padding: 4px 6px; }
  td { padding: 6px; border-top: 1px solid var(--border); vertical-align: top; overflow-wrap: break-word; }
  .reason { color: var(--danger); font-size: 12px; }
  .foot { display: flex; align-items: center; gap: 10px; margin-top: 10px; flex-wrap: wrap; }
  .hint { color: var(--text-3); font-size: 12px; flex: 1; }
`;

const TONE: Record<DeliveryState, 'muted' | 'accent' | 'ok' | 'danger'> = {
  delivered: 'ok',
  queued: 'muted',
  transferred: 'accent',
  fetched: 'ok',
  failed: 'danger',
};

export const STATE_LABEL: Record<DeliveryState, string> = {
  delivered: 'Delivered',
  queued: 'Queued',
  transferred: 'Transferred',
  fetched: 'Fetched',
  failed: 'Failed',
};

const FINAL: readonly string[] = ['delivered', 'fetched', 'failed'];

/** Nothing will change any more: stop polling. */
export function isFinal(s: DeliveryStatus): boolean {
  return s.domains.every((d) => FINAL.includes(d.state));
}

// A state this build does not know yet is shown as the server names it.
const toneOf = (s: string): 'muted' | 'accent' | 'ok' | 'danger' => TONE[s as DeliveryState] ?? 'muted';
const labelOf = (s: string): string => STATE_LABEL[s as DeliveryState] ?? s;

export function StatusPanel({ id, actions, pollMs = 5000 }: { id: string; actions: MailActions; pollMs?: number }) {
  const [status, setStatus] = useState<DeliveryStatus>();
  const [error, setError] = useState<string>();
  const [recalling, setRecalling] = useState(false);

  const load = useCallback(
    async (signal?: AbortSignal) => {
      try {
        setStatus(await actions.status(id, signal));
        setError(undefined);
      } catch (e) {
        if (!signal?.aborted) setError(describeError(e));
      }
    },
    [actions, id],
  );

  useEffect(() => {
    const ctl = new AbortController();
    actions.status(id, ctl.signal).then(
      (s) => {
        setStatus(s);
        setError(undefined);
      },
      (e: unknown) => {
        if (!ctl.signal.aborted) setError(describeError(e));
      },
    );
    return () => ctl.abort();
  }, [actions, id]);

  const final = status ? isFinal(status) : false;
  useEffect(() => {
    if (final) return;
    const t = setInterval(() => void load(), pollMs);
    return () => clearInterval(t);
  }, [final, load, pollMs]);

  const recall = async (): Promise<void> => {
    if (!window.confirm('Recall this message? Recipients who have not fetched it yet will not be able to.')) return;
    setRecalling(true);
    try {
      setStatus(await actions.recall(id));
    } catch (e) {
      setError(describeError(e));
    } finally {
      setRecalling(false);
    }
  };

  return (
    <Panel aria-label="Delivery status" aria-live="polite">
      <h3>Delivery status</h3>
      {error && <Banner $tone="danger">{error}</Banner>}
      {!status && !error && <Spinner />}
      {status && (
        <>
          <table>
            <thead>
              <tr>
                <th>Domain</th>
                <th>Recipients</th>
                <th>State</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {status.domains.map((d, i) => (
                <tr key={`${i}:${d.domain}:${d.state}`}>
                  <td>{d.domain}</td>
                  <td>{d.recipients.join(', ')}</td>
                  <td>
                    <Badge $tone={toneOf(d.state)}>{labelOf(d.state)}</Badge>
                    {d.reason && <div className="reason">{d.reason}</div>}
                  </td>
                  <td>{d.updated ? fullDate(new Date(d.updated)) : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="foot">
            <span className="hint">
              {status.recallable
                ? 'Nobody has fetched this message yet: you can still recall it.'
                : 'Recall is no longer possible.'}
            </span>
            <Button $small onClick={() => void load()}>
              Refresh
            </Button>
            {status.recallable && (
              <Button $small $variant="danger" onClick={() => void recall()} disabled={recalling}>
                Recall
              </Button>
            )}
          </div>
        </>
      )}
    </Panel>
  );
}

// Settings: the auto-forward rule (SPEC §9) and notifications.
import { useEffect, useState } from 'react';
import styled from 'styled-components';
import { describeError } from '../api/errors';
import { isValidAddress } from '../model/address';
import type { ForwardingRule } from '../api/types';
import type { MailActions } from './actions';
import { Banner, Button, Spinner } from './common';
import { Modal } from './Dialog';
import { askNotifications, notificationsAllowed, notificationsSupported } from './notify';
import { SHORTCUTS } from './shortcuts';

const Form = styled.form`
  display: flex;
  flex-direction: column;
  gap: 12px;
  h3 { margin: 10px 0 0; font-size: 14px; }
  p { margin: 0; color: var(--text-2); font-size: 13px; }
  label.row { display: flex; align-items: center; gap: 8px; }
  label.col { display: flex; flex-direction: column; gap: 4px; font-size: 13px; color: var(--text-2); }
  input[type='email'] {
    height: 36px; padding: 0 10px; border: 1px solid var(--border); border-radius: 8px; background: var(--surface);
  }
  input[aria-invalid='true'] { border-color: var(--danger); }
  .err { color: var(--danger); font-size: 12px; }
  .actions { display: flex; gap: 8px; align-items: center; }
  .ok { color: var(--ok); font-size: 13px; }
`;

export function Settings({ actions, onClose }: { actions?: MailActions; onClose: () => void }) {
  const [rule, setRule] = useState<ForwardingRule>();
  const [error, setError] = useState<string>();
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const [notify, setNotify] = useState(notificationsAllowed());

  useEffect(() => {
    if (!actions) return;
    actions
      .getForwarding()
      .then(setRule)
      .catch((e: unknown) => {
        setError(describeError(e));
        setRule({ enabled: false, to: '', keep_copy: true });
      });
  }, [actions]);

  const toInvalid = !!rule && rule.enabled && !isValidAddress(rule.to.trim());

  const submit = async (e: { preventDefault(): void }): Promise<void> => {
    e.preventDefault();
    if (!actions || !rule || toInvalid) return;
    setBusy(true);
    setSaved(false);
    setError(undefined);
    try {
      setRule(await actions.putForwarding({ ...rule, to: rule.to.trim() }));
      setSaved(true);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal title="Settings" onClose={onClose}>
      <Form onSubmit={(e) => void submit(e)}>
        <h3>Automatic forwarding</h3>
        <p>Forward every message that reaches your inbox to another address. The recipient fetches the attachments from the original sender.</p>
        {error && <Banner $tone="danger">{error}</Banner>}
        {!actions && <p>Forwarding can be changed when you are online.</p>}
        {actions && !rule && <Spinner />}
        {rule && (
          <>
            <label className="row">
              <input
                type="checkbox"
                checked={rule.enabled}
                onChange={(e) => setRule({ ...rule, enabled: e.target.checked })}
              />
              Forward my mail
            </label>
            <label className="col">
              Forward to
              <input
                type="email"
                value={rule.to}
                placeholder="name@example.org"
                disabled={!rule.enabled}
                aria-invalid={toInvalid}
                onChange={(e) => setRule({ ...rule, to: e.target.value })}
              />
              {toInvalid && <span className="err">Enter a valid address.</span>}
            </label>
            <label className="row">
              <input
                type="checkbox"
                checked={rule.keep_copy}
                disabled={!rule.enabled}
                onChange={(e) => setRule({ ...rule, keep_copy: e.target.checked })}
              />
              Keep a copy in my inbox
            </label>
            <div className="actions">
              <Button $variant="primary" type="submit" disabled={busy || toInvalid}>
                Save
              </Button>
              {saved && <span className="ok">Saved.</span>}
            </div>
          </>
        )}
        <h3>Notifications</h3>
        {notificationsSupported() ? (
          notify ? (
            <p>You will be notified of new mail while this tab is in the background.</p>
          ) : (
            <div className="actions">
              <Button type="button" onClick={() => void askNotifications().then(setNotify)}>
                Notify me of new mail
              </Button>
            </div>
          )
        ) : (
          <p>This browser does not support notifications.</p>
        )}
      </Form>
    </Modal>
  );
}

const Keys = styled.table`
  width: 100%;
  border-collapse: collapse;
  td { padding: 5px 4px; border-bottom: 1px solid var(--border); }
  kbd {
    font-family: var(--mono); font-size: 12px; padding: 1px 6px; border-radius: 4px;
    border: 1px solid var(--border); background: var(--surface-2);
  }
`;

export function ShortcutHelp({ onClose }: { onClose: () => void }) {
  return (
    <Modal title="Keyboard shortcuts" onClose={onClose}>
      <Keys>
        <tbody>
          {SHORTCUTS.map((s) => (
            <tr key={s.keys + s.action}>
              <td style={{ width: 90 }}>
                <kbd>{s.keys}</kbd>
              </td>
              <td>{s.label}</td>
            </tr>
          ))}
        </tbody>
      </Keys>
    </Modal>
  );
}

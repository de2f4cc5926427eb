// The top of the tree: start-up states, then the mailbox.
import { useEffect, useRef, useState } from 'react';
import styled from 'styled-components';
import { describeError } from '../api/errors';
import type { BootState } from './boot';
import { Button, Center, Spinner } from './common';
import { Mailbox } from './Mailbox';
import { GlobalStyle } from './theme';
import { Logo } from './Logo';

export interface AppProps {
  boot: (set: (s: BootState) => void) => Promise<void>;
  signIn: () => Promise<void>;
}

const Card = styled.main`
  width: min(400px, 100%);
  padding: 32px 28px;
  border-radius: 16px;
  background: var(--surface);
  box-shadow: var(--shadow);
  color: var(--text);
  display: flex;
  flex-direction: column;
  gap: 16px;
  align-items: center;
  h1 { margin: 0; font-size: 22px; font-weight: 650; }
  p { margin: 0; color: var(--text-2); }
`;

function Landing({ reason, onSignIn }: { reason?: string; onSignIn: () => void }) {
  return (
    <Center>
      <Card>
        <Logo size={48} />
        <h1>Federizer Mail</h1>
        <p>{reason ?? 'Mail over OAuth 2.0. Sign in with your account to read and send mail.'}</p>
        <Button $variant="primary" onClick={onSignIn} autoFocus>
          Sign in
        </Button>
      </Card>
    </Center>
  );
}

export function App({ boot, signIn }: AppProps) {
  const [state, setState] = useState<BootState>({ kind: 'loading', message: 'Starting…' });
  const [signInError, setSignInError] = useState<string>();

  // Once per page, also under StrictMode's double effects: a login callback
  // must be completed exactly once.
  const started = useRef(false);
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    boot(setState).catch((e: unknown) =>
      setState({ kind: 'error', message: describeError(e), offlineAvailable: false }),
    );
  }, [boot]);

  const doSignIn = (): void => {
    setSignInError(undefined);
    signIn().catch((e: unknown) => setSignInError(describeError(e)));
  };

  let content;
  switch (state.kind) {
    case 'loading':
      content = (
        <Center role="status">
          <Spinner />
          <span>{state.message}</span>
        </Center>
      );
      break;
    case 'signedOut':
      content = <Landing reason={signInError ?? state.reason} onSignIn={doSignIn} />;
      break;
    case 'error':
      content = <Landing reason={signInError ?? state.message} onSignIn={doSignIn} />;
      break;
    case 'ready':
      content = (
        <Mailbox
          services={state.services}
          onSignedOut={() => setState({ kind: 'signedOut', reason: 'You have signed out.' })}
          onSignIn={doSignIn}
        />
      );
      break;
  }
  return (
    <>
      <GlobalStyle />
      {content}
    </>
  );
}

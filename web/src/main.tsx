// Entry point. A demo mailbox (no server) exists only in development and in
// the `demo` build mode; production builds do not contain it.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { boot, signIn } from './ui/boot';
import { App } from './ui/App';

const root = document.getElementById('root');
if (!root) throw new Error('no #root element');

async function start(): Promise<void> {
  let bootFn = boot;
  let signInFn = signIn;
  if ((import.meta.env.DEV || import.meta.env.MODE === 'demo') && new URLSearchParams(window.location.search).has('demo')) {
    const demo = await import('./demo/boot');
    bootFn = demo.bootDemo;
    signInFn = demo.signInDemo;
  }
  createRoot(root as HTMLElement).render(
    <StrictMode>
      <App boot={bootFn} signIn={signInFn} />
    </StrictMode>,
  );
  if (import.meta.env.PROD && 'serviceWorker' in navigator && window.isSecureContext) {
    const register = (): void => {
      navigator.serviceWorker.register(`${import.meta.env.BASE_URL}sw.js`).catch((e: unknown) => {
        console.warn('service worker not registered', e);
      });
    };
    if (document.readyState === 'complete') register();
    else window.addEventListener('load', register, { once: true });
  }
}

void start();

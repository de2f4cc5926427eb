// Colours, type and spacing as CSS variables: a calm neutral light theme,
// and a dark one when the system prefers it.
import { createGlobalStyle } from 'styled-components';

export const GlobalStyle = createGlobalStyle`
  :root {
    --bg: #f6f7f9;
    --surface: #ffffff;
    --surface-2: #f0f2f5;
    --hover: #eceef2;
    --selected: #e3ebfd;
    --border: #e2e5ea;
    --text: #1c2026;
    --text-2: #59606b;
    --text-3: #80868f;
    --accent: #2f5fd0;
    --accent-text: #ffffff;
    --accent-soft: #e6edfc;
    --danger: #c62f2f;
    --danger-soft: #fdecec;
    --ok: #1f7a4a;
    --ok-soft: #e4f4ea;
    --warn: #8a5a00;
    --warn-soft: #fff4d6;
    --focus: #2f5fd0;
    --shadow: 0 1px 2px rgba(16, 24, 40, 0.06), 0 4px 16px rgba(16, 24, 40, 0.08);
    --radius: 10px;
    --font: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
    --mono: ui-monospace, "SF Mono", Menlo, Consolas, monospace;
    color-scheme: light;
  }
  @media (prefers-color-scheme: dark) {
    :root {
      --bg: #121417;
      --surface: #1a1d21;
      --surface-2: #22262b;
      --hover: #272b31;
      --selected: #23324f;
      --border: #30353c;
      --text: #e7e9ec;
      --text-2: #a9afb8;
      --text-3: #868c95;
      --accent: #7da2ff;
      --accent-text: #0d1526;
      --accent-soft: #1f2b45;
      --danger: #ff8a8a;
      --danger-soft: #3a1f22;
      --ok: #6fd39c;
      --ok-soft: #17301f;
      --warn: #f2c66d;
      --warn-soft: #352b14;
      --focus: #9db8ff;
      --shadow: 0 1px 2px rgba(0, 0, 0, 0.4), 0 6px 20px rgba(0, 0, 0, 0.35);
      color-scheme: dark;
    }
  }
  *, *::before, *::after { box-sizing: border-box; }
  html, body, #root { height: 100%; }
  body {
    margin: 0;
    background: var(--bg);
    color: var(--text);
    font: 14px/1.45 var(--font);
    -webkit-font-smoothing: antialiased;
    text-rendering: optimizeLegibility;
  }
  button, input, textarea, select { font: inherit; color: inherit; }
  :focus-visible { outline: 2px solid var(--focus); outline-offset: 2px; }
  a { color: var(--accent); }
  .visually-hidden {
    position: absolute !important; width: 1px; height: 1px; margin: -1px; padding: 0;
    overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0;
  }
`;

export const NARROW = '@media (max-width: 760px)';
export const MEDIUM = '@media (max-width: 1100px)';

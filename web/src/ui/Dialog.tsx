// A modal dialog with a title and a close button; Escape closes it, wherever
// the focus is (a button that became disabled drops the focus to <body>).
import { useEffect, useRef, type ReactNode } from 'react';
import styled from 'styled-components';
import { Icon, IconButton } from './common';

const Backdrop = styled.div`
  position: fixed;
  inset: 0;
  z-index: 30;
  background: rgba(15, 20, 30, 0.35);
  display: flex;
  align-items: center;
  justify-content: center;
  padding: 16px;
`;

const Box = styled.div`
  width: min(520px, 100%);
  max-height: 100%;
  overflow-y: auto;
  background: var(--surface);
  border-radius: 14px;
  box-shadow: var(--shadow);
  header { display: flex; align-items: center; padding: 12px 12px 4px 20px; }
  h2 { flex: 1; margin: 0; font-size: 17px; font-weight: 600; }
  .content { padding: 8px 20px 20px; }
`;

export function Modal({ title, onClose, children }: { title: string; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDivElement>(null);
  const close = useRef(onClose);
  useEffect(() => {
    close.current = onClose;
  });
  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null;
    ref.current?.focus();
    const onKey = (e: KeyboardEvent): void => {
      if (e.key !== 'Escape' || e.defaultPrevented) return;
      e.preventDefault();
      close.current();
    };
    window.addEventListener('keydown', onKey);
    return () => {
      window.removeEventListener('keydown', onKey);
      prev?.focus();
    };
  }, []);
  return (
    <Backdrop onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <Box
        ref={ref}
        role="dialog"
        aria-modal="true"
        aria-label={title}
        tabIndex={-1}
      >
        <header>
          <h2>{title}</h2>
          <IconButton aria-label="Close" onClick={onClose}>
            <Icon name="close" />
          </IconButton>
        </header>
        <div className="content">{children}</div>
      </Box>
    </Backdrop>
  );
}

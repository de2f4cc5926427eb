// New mail shows in the tab title and, when the person allowed it, as a
// system notification.

const BASE_TITLE = 'Federizer Mail';

export function titleFor(unread: number, folderLabel?: string): string {
  const base = folderLabel ? `${folderLabel} — ${BASE_TITLE}` : BASE_TITLE;
  return unread > 0 ? `(${unread}) ${base}` : base;
}

export function notificationsSupported(): boolean {
  return typeof window !== 'undefined' && 'Notification' in window;
}

export function notificationsAllowed(): boolean {
  return notificationsSupported() && Notification.permission === 'granted';
}

export async function askNotifications(): Promise<boolean> {
  if (!notificationsSupported()) return false;
  if (Notification.permission === 'granted') return true;
  return (await Notification.requestPermission()) === 'granted';
}

export function notifyNewMail(count: number, first: { from: string; subject: string }): void {
  if (!notificationsAllowed() || !document.hidden) return;
  const title = count === 1 ? first.from || 'New message' : `${count} new messages`;
  const body = count === 1 ? first.subject : `${first.from}: ${first.subject}`;
  try {
    const n = new Notification(title, { body, tag: 'federizer-new-mail', icon: '/icon-192.png' });
    n.onclick = () => {
      window.focus();
      n.close();
    };
  } catch {
    // Some platforms only allow notifications from a service worker.
  }
}

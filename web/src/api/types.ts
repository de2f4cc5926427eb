// The shapes the mailbox (MBX) API answers with (SPEC §11, §12).
import type { InlineContent } from '../model/message';
import type { Flags, Folder, MessageObject } from '../model/placeholder';

export interface ResourceInfo {
  digest: string;
  content_id: string;
  size: number;
  type: string;
}

export interface SyncResponse {
  state: string;
  changed: MessageObject[];
  destroyed: string[];
  inline: Record<string, InlineContent>;
  more: boolean;
}

/**
 * A local recipient is `delivered` or `failed` at once; a remote domain goes
 * `queued` → `transferred` → `fetched` (or `failed`). One entry per domain
 * and outcome, so a domain can appear twice.
 */
export type DeliveryState = 'delivered' | 'queued' | 'transferred' | 'fetched' | 'failed';

export interface DomainStatus {
  domain: string;
  recipients: string[];
  state: DeliveryState;
  reason?: string;
  updated?: string;
}

export interface DeliveryStatus {
  id: string;
  domains: DomainStatus[];
  recallable: boolean;
}

export interface ForwardingRule {
  enabled: boolean;
  to: string;
  keep_copy: boolean;
}

export interface MessagePatch {
  folder?: Folder;
  flags?: Partial<Flags>;
}

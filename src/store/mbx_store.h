/*
 * mbx_store.h - what the Mailbox keeps besides resource bytes (blob.h):
 * users' resources, their messages, the per-mailbox modseq and change log
 * sync answers from (SPEC §11), quota usage, forwarding settings (§9),
 * and the durable queue of transfers, pushes, fetches and forwards (§10).
 *
 * Functions are named for what they do; the SQL behind them
 * (mbx_store*.c) is SQLite today and could be PostgreSQL tomorrow without
 * touching a caller. Every change to a mailbox bumps its modseq in the
 * same transaction as the change itself, so a sync can never see one
 * without the other.
 *
 * Threads: any function from any thread; each borrows a pooled
 * connection (db.h). Strings returned live in the arena given.
 *
 * Owners are addresses as the access token's email gives them (the MBX
 * normalises them before they get here).
 */
#ifndef FZ_STORE_MBX_STORE_H
#define FZ_STORE_MBX_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "blob.h"
#include "digest.h"
#include "err.h"

#define FZ_MBX_STORE_COMPONENT "mbx" /* the schema_version row */
#define FZ_MBX_ID_BYTES 16            /* a message id: random, opaque */
#define FZ_MBX_ID_LEN 22              /* ...as base64url */
#define FZ_MBX_TYPE_MAX 255           /* a resource's media type */

typedef struct fz_mbx_store fz_mbx_store;

fz_code fz_mbx_store_open(const char *path, size_t pool_size,
			  fz_mbx_store **out, fz_err *err);
void fz_mbx_store_close(fz_mbx_store *st);

/* --- resources ------------------------------------------------------------
 * A resource row says "owner may read these bytes". The bytes themselves
 * are shared by every owner (one blob per digest). */

typedef struct fz_mbx_resource {
	const char *digest;
	uint64_t size;
	const char *type;   /* media type as uploaded */
	int64_t created_at;
} fz_mbx_resource;

/* Records that owner has the resource, unless it already does (then
 * *added is false and nothing changes). A new row that would take the
 * owner's usage past quota (0: no quota) is refused: FZ_ELIMIT, 507
 * insufficient_storage. */
fz_code fz_mbx_resource_add(fz_mbx_store *st, const char *owner,
			    const fz_mbx_resource *r, uint64_t quota,
			    int64_t now, bool *added, fz_err *err);
/* FZ_ENOTFOUND (404) unless owner has the resource. */
fz_code fz_mbx_resource_find(fz_mbx_store *st, fz_arena *a, const char *owner,
			     const char *digest, fz_mbx_resource *out,
			     fz_err *err);
/* Drops owner's row (FZ_ENOTFOUND when there is none) and queues the
 * digest for collection (fz_mbx_gc). */
fz_code fz_mbx_resource_remove(fz_mbx_store *st, const char *owner,
			       const char *digest, fz_err *err);
/* Bytes of the resources owner has: what the quota counts. */
fz_code fz_mbx_usage(fz_mbx_store *st, const char *owner, uint64_t *bytes,
		     fz_err *err);

/* Garbage collection. Deleting a row that refers to a digest (a resource
 * row, a message's reference) queues the digest; fz_mbx_gc then deletes
 * the blob of every queued digest nothing refers to any more, up to max
 * of them (0: all), *deleted (may be NULL) saying how many.
 *
 * The blob is deleted inside the write transaction that found it
 * unreferenced, and an upload records its resource row before it makes
 * the blob visible (blob.h's finish/commit): so either the upload's row
 * came first and the blob is kept, or the blob went first and the
 * upload's commit puts it back. Neither order loses bytes. */
fz_code fz_mbx_gc(fz_mbx_store *st, fz_blob_store *blobs, size_t max,
		  size_t *deleted, fz_err *err);

/* --- messages ------------------------------------------------------------- */

typedef enum fz_mbx_folder {
	FZ_FOLDER_INBOX,
	FZ_FOLDER_SENT,
	FZ_FOLDER_DRAFTS,
	FZ_FOLDER_TRASH,
	FZ_FOLDER_COUNT,
} fz_mbx_folder;

/* "inbox", "sent", "drafts", "trash". */
const char *fz_mbx_folder_name(fz_mbx_folder f);
/* FZ_ESYNTAX (400) for any other name. */
fz_code fz_mbx_folder_parse(const char *name, fz_mbx_folder *out, fz_err *err);

typedef struct fz_mbx_msg {
	char id[FZ_MBX_ID_LEN + 1];
	const char *owner;
	fz_mbx_folder folder;
	bool seen;
	bool flagged;
	bool sent;              /* immutable from now on */
	const char *message_id; /* "<...>" header value */
	const char *thread_id;  /* X-Thread-ID, or NULL */
	const char *document;   /* compact JSON text of the Placeholder */
	uint64_t modseq;        /* of its last change */
	int64_t created_at;
	int64_t updated_at;
} fz_mbx_msg;

/* Stores a new message for m->owner with a fresh random id (written back
 * into m->id) and the resources its body refers to (refs, nrefs digests;
 * they keep the blobs from collection). m->modseq is set. */
fz_code fz_mbx_msg_add(fz_mbx_store *st, fz_mbx_msg *m,
		       const fz_digest_str *refs, size_t nrefs, int64_t now,
		       fz_err *err);
/* FZ_ENOTFOUND (404) unless owner has message id. */
fz_code fz_mbx_msg_get(fz_mbx_store *st, fz_arena *a, const char *owner,
		       const char *id, fz_mbx_msg *out, fz_err *err);
/* Replaces a draft's document, Message-ID, thread and references.
 * FZ_ECONFLICT (409) once it was sent. */
fz_code fz_mbx_msg_replace_draft(fz_mbx_store *st, const char *owner,
				 const char *id, const char *document,
				 const char *message_id, const char *thread_id,
				 const fz_digest_str *refs, size_t nrefs,
				 int64_t now, uint64_t *modseq, fz_err *err);

/* What fz_mbx_msg_update changes: a NULL pointer leaves it as it is. */
typedef struct fz_mbx_msg_patch {
	const fz_mbx_folder *folder;
	const bool *seen;
	const bool *flagged;
} fz_mbx_msg_patch;

fz_code fz_mbx_msg_update(fz_mbx_store *st, const char *owner, const char *id,
			  const fz_mbx_msg_patch *p, int64_t now,
			  uint64_t *modseq, fz_err *err);
/* Moves the message to the trash, or, when it is there already, destroys
 * it (*destroyed true): the change log keeps its id for sync, its
 * references go to collection, and so do owner's resource rows that no
 * other of owner's messages refers to. */
fz_code fz_mbx_msg_delete(fz_mbx_store *st, const char *owner, const char *id,
			  int64_t now, bool *destroyed, uint64_t *modseq,
			  fz_err *err);

/* --- sync (SPEC §11) -------------------------------------------------------
 * Every change takes the next modseq of its mailbox; the change log keeps
 * the latest modseq of each message id and whether it was destroyed.
 * Entries of destroyed messages older than the floor are forgotten
 * (fz_mbx_changes_prune), so a state below the floor can no longer be
 * answered: FZ_ENOTFOUND with 410 Gone. */

typedef struct fz_mbx_change {
	char id[FZ_MBX_ID_LEN + 1];
	uint64_t modseq;
	bool destroyed;
	fz_mbx_msg msg; /* when not destroyed */
} fz_mbx_change;

typedef struct fz_mbx_changes {
	fz_mbx_change *v;  /* in modseq order, in the arena */
	size_t n;
	uint64_t state;    /* the modseq the page brings the client to */
	bool more;         /* another page is waiting */
} fz_mbx_changes;

/* Changes of owner's mailbox after since (has_since false: every message
 * there is, and no destroyed ids), at most page of them. A since above
 * the current modseq or below the floor is 410. */
fz_code fz_mbx_changes_since(fz_mbx_store *st, fz_arena *a, const char *owner,
			     bool has_since, uint64_t since, size_t page,
			     fz_mbx_changes *out, fz_err *err);
/* The mailbox's current modseq (0 for a mailbox never changed). */
fz_code fz_mbx_modseq(fz_mbx_store *st, const char *owner, uint64_t *out,
		      fz_err *err);
/* Forgets destroyed entries with a modseq at most upto and raises the
 * floor to it. Clients at an older state get 410 and resync. */
fz_code fz_mbx_changes_prune(fz_mbx_store *st, const char *owner,
			     uint64_t upto, fz_err *err);

/* --- forwarding (SPEC §9) --------------------------------------------------- */

typedef struct fz_mbx_forwarding {
	bool enabled;
	const char *target; /* address, or "" */
	bool keep_copy;
} fz_mbx_forwarding;

/* Never set: disabled, no target, keep a copy. */
fz_code fz_mbx_forwarding_get(fz_mbx_store *st, fz_arena *a, const char *owner,
			      fz_mbx_forwarding *out, fz_err *err);
fz_code fz_mbx_forwarding_set(fz_mbx_store *st, const char *owner,
			      const fz_mbx_forwarding *f, int64_t now,
			      fz_err *err);

/* --- the durable queue (SPEC §10) -------------------------------------------
 * An entry is committed before the API answers; a worker claims due
 * entries (claiming leases them, so two workers never take the same one,
 * and a worker that dies releases them when the lease runs out), then
 * reports done, retry or fail. */

typedef enum fz_queue_kind {
	FZ_QUEUE_TRANSFER,
	FZ_QUEUE_PUSH,
	FZ_QUEUE_FETCH,
	FZ_QUEUE_FORWARD,
} fz_queue_kind;

typedef enum fz_queue_state {
	FZ_QUEUE_QUEUED,
	FZ_QUEUE_TRANSFERRED,
	FZ_QUEUE_FETCHED,
	FZ_QUEUE_FAILED,
} fz_queue_state;

const char *fz_queue_kind_name(fz_queue_kind k);
const char *fz_queue_state_name(fz_queue_state s);

typedef struct fz_queue_entry {
	int64_t id;
	const char *message;    /* the message's id in this store */
	fz_queue_kind kind;
	const char *domain;     /* the peer domain */
	fz_queue_state state;
	uint32_t attempts;
	int64_t next_attempt_at;
	const char *last_error; /* or NULL */
	int64_t created_at;
	int64_t updated_at;
} fz_queue_entry;

/* A queued entry due at now; *id (may be NULL) its id. */
fz_code fz_queue_add(fz_mbx_store *st, const char *message, fz_queue_kind kind,
		     const char *domain, int64_t now, int64_t *id, fz_err *err);
/* Leases up to max queued entries due at now for lease seconds, oldest
 * due first, in one transaction; attempts counts the claim. */
fz_code fz_queue_claim(fz_mbx_store *st, fz_arena *a, int64_t now,
		       int64_t lease, size_t max, fz_queue_entry **out,
		       size_t *count, fz_err *err);
/* The entry reached state (transferred or fetched). */
fz_code fz_queue_done(fz_mbx_store *st, int64_t id, fz_queue_state state,
		      int64_t now, fz_err *err);
/* Back to queued, due at next_attempt_at, with why it failed. */
fz_code fz_queue_retry(fz_mbx_store *st, int64_t id, int64_t next_attempt_at,
		       const char *error, int64_t now, fz_err *err);
/* Failed for good. */
fz_code fz_queue_fail(fz_mbx_store *st, int64_t id, const char *error,
		      int64_t now, fz_err *err);
/* The entries of message, oldest first (for status). */
fz_code fz_queue_list(fz_mbx_store *st, fz_arena *a, const char *message,
		      fz_queue_entry **out, size_t *count, fz_err *err);

/* --- sending, status, recall (SPEC §7.1-7.4, §10; mbx_store_send.c) ---------
 *
 * A mailbox exists once its user has called the MBX with a valid token
 * (fz_mbx_mailbox_open): that is what "a local user" means to delivery,
 * since the users themselves live at the AS. Mail to an address of a
 * local domain without a mailbox fails for that recipient ("no such
 * user", like SMTP 550 5.1.1).
 *
 * For the receiving and fetching side: the origin copy of every message
 * sent from here is in table outbox by its Message-ID (unique: a
 * Message-ID is sent once), with `recalled`; fz_mbx_store_message_recalled
 * reads it. A fetch of a recalled message must be refused (SPEC §10).
 * Remote recipient domains each have one queue entry of kind transfer
 * for the origin copy's id, committed with the sent message; the copy a
 * domain gets is fz_delivery_copy(document, domain, NULL) (delivery.h:
 * Bcc only of that domain). Its state (queued, transferred, fetched,
 * failed + last_error) is what the sender's status shows. */

/* Makes owner's mailbox row unless it has one. */
fz_code fz_mbx_mailbox_open(fz_mbx_store *st, const char *owner, fz_err *err);
fz_code fz_mbx_mailbox_exists(fz_mbx_store *st, const char *owner, bool *out,
			      fz_err *err);

typedef enum fz_rcpt_state {
	FZ_RCPT_DELIVERED, /* a local copy is in the recipient's inbox */
	FZ_RCPT_QUEUED,    /* a remote domain's transfer is queued */
	FZ_RCPT_FAILED,    /* with a reason */
} fz_rcpt_state;

const char *fz_rcpt_state_name(fz_rcpt_state s);

/* Why a local delivery failed (the reason column). */
#define FZ_RCPT_NO_USER "no such user here (550 5.1.1)"
#define FZ_RCPT_FULL "the recipient's mailbox is full (552 5.2.2)"
#define FZ_RCPT_RECALLED "recalled by the sender"

typedef struct fz_mbx_send_rcpt {
	const char *address;  /* local@domain */
	const char *domain;
	bool local;           /* a domain of this MBX: delivered now */
	const char *document; /* local: the recipient's copy (JSON text) */
	/* local, optional: the domain the recipient's auto-forward rule sends
	 * to; a delivered copy's forward entry is queued with it (SPEC §9) */
	const char *forward_domain;
	/* out */
	fz_rcpt_state state;
	const char *reason;   /* static; NULL unless failed */
	char id[FZ_MBX_ID_LEN + 1]; /* local and delivered: the copy's id */
} fz_mbx_send_rcpt;

typedef struct fz_mbx_send {
	const char *owner;
	const char *id;          /* the draft, which becomes the sent message */
	uint64_t draft_modseq;   /* the draft as read: a change since is 409 */
	const char *document;    /* the sent document (JSON text) */
	const char *message_id;
	fz_mbx_send_rcpt *rcpts; /* each address once */
	size_t nrcpts;
	uint64_t quota;          /* per recipient; 0: none */
	int64_t now;
} fz_mbx_send;

/* In one transaction: the draft becomes the sent message (folder sent,
 * immutable, its document replaced) and enters the outbox; each local
 * recipient with a mailbox and room for the resources they do not own
 * yet gets an inbox copy naming the same blobs, and owns those
 * resources from now on (counted in their quota: a copy that would take
 * them past it is not delivered, FZ_RCPT_FULL); each remote domain gets
 * one transfer queue entry; every recipient's outcome is recorded; every
 * mailbox changed takes its next modseq. 409 when the message was sent
 * already, its draft changed since draft_modseq, or its Message-ID was
 * sent before. */
fz_code fz_mbx_send_commit(fz_mbx_store *st, fz_mbx_send *s, fz_err *err);

typedef struct fz_mbx_rcpt_status {
	const char *address;
	const char *domain;
	bool local;
	const char *state;   /* delivered, queued, transferred, fetched, failed */
	const char *reason;  /* or NULL */
	int64_t updated_at;
} fz_mbx_rcpt_status;

typedef struct fz_mbx_send_status {
	bool recalled;
	fz_mbx_rcpt_status *v; /* in the order the message names them */
	size_t n;
} fz_mbx_send_status;

/* What happened to the recipients of owner's sent message id: a remote
 * recipient has its domain's transfer state. 404 unless owner sent it
 * from here. */
fz_code fz_mbx_send_status_get(fz_mbx_store *st, fz_arena *a, const char *owner,
			       const char *id, fz_mbx_send_status *out,
			       fz_err *err);

/* Recalls owner's sent message id: marks it recalled and fails its
 * transfer and push entries not yet fetched (FZ_RCPT_RECALLED). 409 when
 * already recalled, when a remote domain has fetched it, or when no
 * remote domain is left to recall it from; 404 as above. */
fz_code fz_mbx_recall(fz_mbx_store *st, const char *owner, const char *id,
		      int64_t now, fz_err *err);

/* Whether the message sent from here with Message-ID message_id (the
 * "<...>" header value) was recalled. FZ_ENOTFOUND (404) when no message
 * with that Message-ID was sent from here. */
fz_code fz_mbx_store_message_recalled(fz_mbx_store *st, const char *message_id,
				      bool *recalled, fz_err *err);

/* --- federation: receiving, pushes, serving fetches (SPEC §7.5, §7.7,
 * §8.3; mbx_store_mta.c) ------------------------------------------------------
 *
 * A received copy is stored at once but stays out of sync (no change-log
 * entry, fetch_pending) until every inline part it names is here; each
 * resource it still lacks is a pending part, and each such digest one
 * fetch queue entry (kind fetch, domain the origin, message the first
 * copy) whose digest fz_mbx_fetch_digest gives. When the bytes arrive
 * (a push, or the fetch worker), fz_mbx_resource_arrived hands them to
 * every copy waiting and reveals the copies that became whole. */

/* An fz_replay_check_fn (dpop.h) over the database; ctx is an
 * fz_mbx_replay. FZ_EREPLAY when (ns, jti) is present and unexpired. */
typedef struct fz_mbx_replay {
	fz_mbx_store *store;
	const char *ns;  /* "dpop" */
	int64_t now;
} fz_mbx_replay;

fz_code fz_mbx_replay_check(void *ctx, const char *jti, int64_t expires_at,
			    fz_err *err);
/* Forgets replay entries expired at now. */
fz_code fz_mbx_replay_prune(fz_mbx_store *st, int64_t now, fz_err *err);

/* One resource a received message names. */
typedef struct fz_mbx_part {
	const char *digest;
	uint64_t size;
	const char *type;  /* the real Content-Type */
	bool inline_part;  /* Content-Disposition inline: needed to show it */
	bool present;      /* the blob is here (fz_blob_exists) */
} fz_mbx_part;

typedef struct fz_mbx_delivery {
	const char *message_id;
	const char *thread_id;        /* or NULL */
	const char *peer;             /* the origin domain fetches go to */
	const char *const *owners;    /* local recipients, each once */
	const char *const *documents; /* owners[i]'s copy (JSON text) */
	size_t nowners;
	const fz_mbx_part *parts;     /* each digest once */
	size_t nparts;
	/* Optional, per owner: the domain owners[i]'s auto-forward rule sends
	 * to, or NULL. A new copy's forward is queued in the delivery's own
	 * transaction, so a crash cannot keep the mail and lose the forward. */
	const char *const *forwards;
	/* Optional: the fetches queued here settled in the same transaction,
	 * before a worker can lease one. push_until: those of parts of at
	 * most push_max_bytes wait until then for the sender's push (SPEC
	 * §7.7); fetch_not_needed: every one fails at once with this reason
	 * (SPEC §9: each copy is forwarded without a copy kept). */
	int64_t push_until;
	uint64_t push_max_bytes;
	const char *fetch_not_needed;
	int64_t now;
} fz_mbx_delivery;

typedef struct fz_mbx_delivered {
	size_t added;          /* copies stored now */
	size_t existed;        /* owners who had this Message-ID already */
	size_t fetches;        /* fetch entries queued */
	size_t forwards;       /* forward entries queued (new copies only) */
	const char **visible;  /* owners whose new copy is visible now (arena) */
	size_t nvisible;
} fz_mbx_delivered;

/* In one transaction, per owner who has no message with this Message-ID
 * yet: an inbox copy (sent, immutable) referring to every part, the
 * resources present recorded as the owner's (no quota: received mail is
 * never refused for size here), the absent ones as pending parts, and
 * the copy revealed unless an inline part is absent. Each absent digest
 * not already queued for this Message-ID becomes one fetch entry. A
 * part counts as present only when a resource row names its digest
 * too, so collection cannot take the blob meanwhile. */
fz_code fz_mbx_deliver(fz_mbx_store *st, fz_arena *a, const fz_mbx_delivery *d,
		       fz_mbx_delivered *out, fz_err *err);

/* The bytes of digest are in the blob store now: every copy waiting for
 * them gets them (its owner's resource row), and every copy left with no
 * inline part pending becomes visible, and queued fetches of the digest
 * are done (state fetched); *owners (arena) lists the owners whose
 * mailbox changed, for notification. */
fz_code fz_mbx_resource_arrived(fz_mbx_store *st, fz_arena *a,
				const char *digest, int64_t now,
				const char ***owners, size_t *n, fz_err *err);

/* The digest a fetch queue entry is for. FZ_ENOTFOUND otherwise. */
fz_code fz_mbx_fetch_digest(fz_mbx_store *st, int64_t queue_id,
			    fz_digest_str *out, fz_err *err);

/* A received copy of message_id owned by owner (for a push: the
 * document tells which digests it may carry), or FZ_ENOTFOUND. */
fz_code fz_mbx_received_find(fz_mbx_store *st, fz_arena *a,
			     const char *message_id, fz_mbx_msg *out,
			     fz_err *err);

/* The id of owner's copy of message_id (the newest), or FZ_ENOTFOUND. */
fz_code fz_mbx_copy_of(fz_mbx_store *st, const char *owner, const char *message_id,
		       char id[FZ_MBX_ID_LEN + 1], fz_err *err);

/* The origin copy of a message sent from here (the outbox's), and
 * whether it was recalled. FZ_ENOTFOUND (404) when none. */
fz_code fz_mbx_outbox_find(fz_mbx_store *st, fz_arena *a,
			   const char *message_id, fz_mbx_msg *out,
			   bool *recalled, fz_err *err);

/* Records that domain fetched digest of origin copy message (the first
 * time counts), and moves that domain's transfer entry from transferred
 * to fetched: the pull model's delivery receipt (SPEC §10). */
fz_code fz_mbx_fetch_log_add(fz_mbx_store *st, const char *message,
			     const char *domain, const char *digest,
			     int64_t now, fz_err *err);

typedef struct fz_mbx_fetch_rec {
	const char *domain;
	const char *digest;
	int64_t at;
} fz_mbx_fetch_rec;

/* What was fetched of message, oldest first. */
fz_code fz_mbx_fetch_log_list(fz_mbx_store *st, fz_arena *a, const char *message,
			      fz_mbx_fetch_rec **out, size_t *n, fz_err *err);

/* --- the MTA worker (src/mta/; mbx_store_worker.c) ---------------------------
 * What the worker needs beyond claim: reports that count only while the
 * worker still holds the lease it was given (a recall, a push that
 * brought the bytes, or a lease that ran out and went to another worker
 * meanwhile all win over a late report), the next time an entry falls
 * due, and lookups by the ids queue entries carry. */

typedef struct fz_queue_report {
	int64_t id;
	int64_t lease_until;     /* what the claim set: now + lease */
	fz_queue_state state;    /* queued (retry), transferred, fetched, failed */
	int64_t next_attempt_at; /* for a retry */
	const char *error;       /* why, or NULL */
	int64_t now;
} fz_queue_report;

/* Applies r unless the entry left the claim meanwhile (*applied false).
 * A transfer reported transferred becomes fetched at once when the
 * recipient domain fetched from it already (the fetch can overtake the
 * report). */
fz_code fz_queue_report_lease(fz_mbx_store *st, const fz_queue_report *r,
			      bool *applied, fz_err *err);

/* The earliest time a queued entry can be claimed (its due time or the
 * end of its lease); *any false when nothing is queued. */
fz_code fz_queue_next_due(fz_mbx_store *st, int64_t *due, bool *any,
			  fz_err *err);

/* Any owner's message by its id (queue entries name messages so). */
fz_code fz_mbx_msg_by_id(fz_mbx_store *st, fz_arena *a, const char *id,
			 fz_mbx_msg *out, fz_err *err);

/* Size and media type of a part some received copy still waits for;
 * FZ_ENOTFOUND when none waits for digest any more. */
fz_code fz_mbx_pending_part(fz_mbx_store *st, fz_arena *a, const char *digest,
			    uint64_t *size, const char **type, fz_err *err);

#endif

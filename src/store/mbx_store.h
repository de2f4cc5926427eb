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

#endif

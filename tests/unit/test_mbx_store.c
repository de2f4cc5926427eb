/* The Mailbox store on a real SQLite file and blob directory: resources
 * with dedupe and quota, garbage collection, messages through their
 * life (draft, replace, sent refuses, patch, trash, destroy), sync with
 * paging, destroyed ids and the 410 floor, modseq monotonic under
 * concurrent writers, forwarding settings, and the durable queue with
 * its leases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blob.h"
#include "db.h"
#include "mbx_store.h"

#define T0 1700000000
#define ALICE "alice@example.com"
#define BOB "bob@example.com"

struct fixture {
	char dir[128];
	char db[192];
	char blobs[192];
	fz_mbx_store *st;
	fz_blob_store *bs;
	fz_arena *a;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	snprintf(f->dir, sizeof(f->dir), "%s/fz-mbxstore-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/mbx.db", f->dir);
	snprintf(f->blobs, sizeof(f->blobs), "%s/blobs", f->dir);
	if (fz_mbx_store_open(f->db, 4, &f->st, NULL) != FZ_OK ||
	    fz_blob_fs_open(f->blobs, &f->bs, NULL, NULL) != FZ_OK)
		return -1;
	f->a = fz_arena_new(0, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[256];

	fz_mbx_store_close(f->st);
	fz_blob_close(f->bs);
	fz_arena_free(f->a);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Puts text as a blob and returns its digest. */
static fz_digest_str blob_put(struct fixture *f, const char *text)
{
	fz_blob_put *p;
	fz_digest_str d;

	assert_int_equal(fz_blob_put_begin(f->bs, 1 << 20, &p, NULL), FZ_OK);
	assert_int_equal(fz_blob_put_write(p, text, strlen(text), NULL), FZ_OK);
	assert_int_equal(fz_blob_put_finish(p, &d, NULL, NULL), FZ_OK);
	assert_int_equal(fz_blob_put_commit(p, NULL, NULL), FZ_OK);
	fz_blob_put_abort(p);
	return d;
}

static void add_resource(struct fixture *f, const char *owner, const char *digest,
			 uint64_t size, uint64_t quota, fz_code want, bool want_added)
{
	fz_mbx_resource r = {.digest = digest, .size = size, .type = "text/plain"};
	bool added = !want_added;

	assert_int_equal(fz_mbx_resource_add(f->st, owner, &r, quota, T0, &added, NULL), want);
	if (want == FZ_OK)
		assert_int_equal(added, want_added);
}

static void test_resources_and_quota(void **state)
{
	struct fixture *f = *state;
	fz_mbx_resource r;
	fz_err err = {0};
	uint64_t used = 1;
	const char *d1 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	const char *d2 = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA";
	const char *d3 = "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCA";

	assert_int_equal(fz_mbx_usage(f->st, ALICE, &used, NULL), FZ_OK);
	assert_int_equal(used, 0);
	add_resource(f, ALICE, d1, 600, 1000, FZ_OK, true);
	/* the same again: nothing changes, no quota counted twice */
	add_resource(f, ALICE, d1, 600, 1000, FZ_OK, false);
	assert_int_equal(fz_mbx_usage(f->st, ALICE, &used, NULL), FZ_OK);
	assert_int_equal(used, 600);
	/* 600 + 401 > 1000 */
	{
		fz_mbx_resource big = {.digest = d2, .size = 401, .type = "x/y"};
		bool added = true;

		assert_int_equal(fz_mbx_resource_add(f->st, ALICE, &big, 1000, T0, &added, &err),
				 FZ_ELIMIT);
		assert_int_equal(err.status, 507);
		assert_false(added);
	}
	/* exactly at the quota is fine; no quota at all too */
	add_resource(f, ALICE, d2, 400, 1000, FZ_OK, true);
	add_resource(f, ALICE, d3, 1u << 30, 0, FZ_OK, true);
	/* Bob has his own rows for the same bytes */
	add_resource(f, BOB, d1, 600, 1000, FZ_OK, true);

	assert_int_equal(fz_mbx_resource_find(f->st, f->a, ALICE, d2, &r, NULL), FZ_OK);
	assert_string_equal(r.digest, d2);
	assert_int_equal(r.size, 400);
	assert_string_equal(r.type, "text/plain");
	fz_err_clear(&err);
	assert_int_equal(fz_mbx_resource_find(f->st, f->a, BOB, d2, &r, &err), FZ_ENOTFOUND);
	assert_int_equal(err.status, 404);

	assert_int_equal(fz_mbx_resource_remove(f->st, ALICE, d2, NULL), FZ_OK);
	assert_int_equal(fz_mbx_resource_remove(f->st, ALICE, d2, NULL), FZ_ENOTFOUND);
	assert_int_equal(fz_mbx_resource_find(f->st, f->a, ALICE, d2, &r, NULL), FZ_ENOTFOUND);
}

static fz_mbx_msg draft(const char *owner, const char *doc)
{
	fz_mbx_msg m = {
		.owner = owner,
		.folder = FZ_FOLDER_DRAFTS,
		.seen = true,
		.message_id = "<m1@example.com>",
		.thread_id = "<m1@example.com>",
		.document = doc,
	};
	return m;
}

static void test_gc(void **state)
{
	struct fixture *f = *state;
	fz_digest_str kept = blob_put(f, "kept by a message");
	fz_digest_str gone = blob_put(f, "nobody wants me");
	fz_digest_str shared = blob_put(f, "two owners");
	fz_mbx_msg m = draft(ALICE, "{}");
	bool exists, destroyed;
	uint64_t modseq;
	size_t deleted = 9;

	add_resource(f, ALICE, kept.s, 17, 0, FZ_OK, true);
	add_resource(f, ALICE, gone.s, 15, 0, FZ_OK, true);
	add_resource(f, ALICE, shared.s, 10, 0, FZ_OK, true);
	add_resource(f, BOB, shared.s, 10, 0, FZ_OK, true);
	assert_int_equal(fz_mbx_msg_add(f->st, &m, &kept, 1, T0, NULL), FZ_OK);

	/* nothing queued yet */
	assert_int_equal(fz_mbx_gc(f->st, f->bs, 0, &deleted, NULL), FZ_OK);
	assert_int_equal(deleted, 0);

	assert_int_equal(fz_mbx_resource_remove(f->st, ALICE, kept.s, NULL), FZ_OK);
	assert_int_equal(fz_mbx_resource_remove(f->st, ALICE, gone.s, NULL), FZ_OK);
	assert_int_equal(fz_mbx_resource_remove(f->st, ALICE, shared.s, NULL), FZ_OK);
	assert_int_equal(fz_mbx_gc(f->st, f->bs, 0, &deleted, NULL), FZ_OK);
	assert_int_equal(deleted, 1);
	assert_int_equal(fz_blob_exists(f->bs, gone.s, &exists, NULL), FZ_OK);
	assert_false(exists);
	/* the message's reference keeps one, Bob's row the other */
	assert_int_equal(fz_blob_exists(f->bs, kept.s, &exists, NULL), FZ_OK);
	assert_true(exists);
	assert_int_equal(fz_blob_exists(f->bs, shared.s, &exists, NULL), FZ_OK);
	assert_true(exists);

	/* destroying the message (trash, then for good) lets it go */
	assert_int_equal(fz_mbx_msg_delete(f->st, ALICE, m.id, T0, &destroyed, &modseq, NULL), FZ_OK);
	assert_false(destroyed);
	assert_int_equal(fz_mbx_msg_delete(f->st, ALICE, m.id, T0, &destroyed, &modseq, NULL), FZ_OK);
	assert_true(destroyed);
	assert_int_equal(fz_mbx_gc(f->st, f->bs, 0, &deleted, NULL), FZ_OK);
	assert_int_equal(deleted, 1);
	assert_int_equal(fz_blob_exists(f->bs, kept.s, &exists, NULL), FZ_OK);
	assert_false(exists);
}

static void test_destroy_frees_owner_rows(void **state)
{
	struct fixture *f = *state;
	fz_digest_str att = blob_put(f, "an attachment");
	fz_mbx_msg m1 = draft(ALICE, "{}"), m2 = draft(ALICE, "{}");
	fz_mbx_resource r;
	bool destroyed;
	uint64_t modseq, used;

	add_resource(f, ALICE, att.s, 13, 0, FZ_OK, true);
	assert_int_equal(fz_mbx_msg_add(f->st, &m1, &att, 1, T0, NULL), FZ_OK);
	assert_int_equal(fz_mbx_msg_add(f->st, &m2, &att, 1, T0, NULL), FZ_OK);
	/* m1 destroyed: m2 still refers to it, the row stays */
	assert_int_equal(fz_mbx_msg_delete(f->st, ALICE, m1.id, T0, &destroyed, &modseq, NULL), FZ_OK);
	assert_int_equal(fz_mbx_msg_delete(f->st, ALICE, m1.id, T0, &destroyed, &modseq, NULL), FZ_OK);
	assert_int_equal(fz_mbx_resource_find(f->st, f->a, ALICE, att.s, &r, NULL), FZ_OK);
	/* m2 destroyed: the last reference went, so did the row and quota */
	assert_int_equal(fz_mbx_msg_delete(f->st, ALICE, m2.id, T0, &destroyed, &modseq, NULL), FZ_OK);
	assert_int_equal(fz_mbx_msg_delete(f->st, ALICE, m2.id, T0, &destroyed, &modseq, NULL), FZ_OK);
	assert_int_equal(fz_mbx_resource_find(f->st, f->a, ALICE, att.s, &r, NULL), FZ_ENOTFOUND);
	assert_int_equal(fz_mbx_usage(f->st, ALICE, &used, NULL), FZ_OK);
	assert_int_equal(used, 0);
}

static void test_message_life(void **state)
{
	struct fixture *f = *state;
	fz_mbx_msg m = draft(ALICE, "{\"a\":1}"), got;
	fz_mbx_folder trash = FZ_FOLDER_INBOX;
	bool flag = true, destroyed;
	fz_mbx_msg_patch p = {.flagged = &flag};
	fz_err err = {0};
	uint64_t modseq = 0, last;

	assert_int_equal(fz_mbx_msg_add(f->st, &m, NULL, 0, T0, NULL), FZ_OK);
	assert_int_equal(strlen(m.id), FZ_MBX_ID_LEN);
	assert_int_equal(m.modseq, 1);
	assert_int_equal(fz_mbx_msg_get(f->st, f->a, ALICE, m.id, &got, NULL), FZ_OK);
	assert_string_equal(got.id, m.id);
	assert_string_equal(got.document, "{\"a\":1}");
	assert_string_equal(got.message_id, "<m1@example.com>");
	assert_int_equal(got.folder, FZ_FOLDER_DRAFTS);
	assert_true(got.seen);
	assert_false(got.flagged);
	assert_false(got.sent);
	/* another owner cannot see it */
	assert_int_equal(fz_mbx_msg_get(f->st, f->a, BOB, m.id, &got, &err), FZ_ENOTFOUND);
	assert_int_equal(err.status, 404);

	assert_int_equal(fz_mbx_msg_replace_draft(f->st, ALICE, m.id, "{\"a\":2}", "<m2@example.com>",
						  NULL, NULL, 0, T0 + 1, &modseq, NULL), FZ_OK);
	assert_int_equal(modseq, 2);
	assert_int_equal(fz_mbx_msg_get(f->st, f->a, ALICE, m.id, &got, NULL), FZ_OK);
	assert_string_equal(got.document, "{\"a\":2}");
	assert_null(got.thread_id);
	assert_int_equal(got.modseq, 2);
	assert_int_equal(got.updated_at, T0 + 1);

	last = modseq;
	assert_int_equal(fz_mbx_msg_update(f->st, ALICE, m.id, &p, T0, &modseq, NULL), FZ_OK);
	assert_true(modseq > last);
	assert_int_equal(fz_mbx_msg_get(f->st, f->a, ALICE, m.id, &got, NULL), FZ_OK);
	assert_true(got.flagged);
	assert_true(got.seen); /* left alone */
	trash = FZ_FOLDER_SENT;
	p = (fz_mbx_msg_patch){.folder = &trash};
	assert_int_equal(fz_mbx_msg_update(f->st, ALICE, m.id, &p, T0, &modseq, NULL), FZ_OK);
	assert_int_equal(fz_mbx_msg_get(f->st, f->a, ALICE, m.id, &got, NULL), FZ_OK);
	assert_int_equal(got.folder, FZ_FOLDER_SENT);
	assert_int_equal(fz_mbx_msg_update(f->st, BOB, m.id, &p, T0, &modseq, NULL), FZ_ENOTFOUND);

	/* a sent message refuses replacement */
	{
		fz_mbx_msg s = draft(ALICE, "{}");

		s.sent = true;
		s.folder = FZ_FOLDER_SENT;
		assert_int_equal(fz_mbx_msg_add(f->st, &s, NULL, 0, T0, NULL), FZ_OK);
		fz_err_clear(&err);
		assert_int_equal(fz_mbx_msg_replace_draft(f->st, ALICE, s.id, "{}", "<x@example.com>",
							  NULL, NULL, 0, T0, &modseq, &err), FZ_ECONFLICT);
		assert_int_equal(err.status, 409);
	}

	assert_int_equal(fz_mbx_msg_delete(f->st, ALICE, m.id, T0, &destroyed, &modseq, NULL), FZ_OK);
	assert_false(destroyed);
	assert_int_equal(fz_mbx_msg_get(f->st, f->a, ALICE, m.id, &got, NULL), FZ_OK);
	assert_int_equal(got.folder, FZ_FOLDER_TRASH);
	assert_int_equal(fz_mbx_msg_delete(f->st, ALICE, m.id, T0, &destroyed, &modseq, NULL), FZ_OK);
	assert_true(destroyed);
	assert_int_equal(fz_mbx_msg_get(f->st, f->a, ALICE, m.id, &got, NULL), FZ_ENOTFOUND);
	assert_int_equal(fz_mbx_msg_delete(f->st, ALICE, m.id, T0, &destroyed, &modseq, NULL), FZ_ENOTFOUND);
}

static void test_folders(void **state)
{
	fz_mbx_folder fo;
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_mbx_folder_parse("trash", &fo, NULL), FZ_OK);
	assert_int_equal(fo, FZ_FOLDER_TRASH);
	assert_string_equal(fz_mbx_folder_name(FZ_FOLDER_SENT), "sent");
	assert_int_equal(fz_mbx_folder_parse("Inbox", &fo, &err), FZ_ESYNTAX);
	assert_int_equal(err.status, 400);
	assert_int_equal(fz_mbx_folder_parse(NULL, &fo, NULL), FZ_ESYNTAX);
}

static void test_sync(void **state)
{
	struct fixture *f = *state;
	fz_mbx_msg m[5];
	fz_mbx_changes ch;
	fz_err err = {0};
	bool destroyed;
	uint64_t modseq, state1, cur;
	size_t i;

	/* an empty mailbox: state 0, nothing */
	assert_int_equal(fz_mbx_changes_since(f->st, f->a, ALICE, false, 0, 10, &ch, NULL), FZ_OK);
	assert_int_equal(ch.n, 0);
	assert_int_equal(ch.state, 0);
	assert_false(ch.more);

	for (i = 0; i < 5; i++) {
		m[i] = draft(ALICE, "{}");
		assert_int_equal(fz_mbx_msg_add(f->st, &m[i], NULL, 0, T0, NULL), FZ_OK);
		assert_int_equal(m[i].modseq, i + 1);
	}
	/* Bob's changes never show in Alice's sync */
	{
		fz_mbx_msg b = draft(BOB, "{}");
		assert_int_equal(fz_mbx_msg_add(f->st, &b, NULL, 0, T0, NULL), FZ_OK);
		assert_int_equal(b.modseq, 1);
	}

	/* a full sync in pages of 2 */
	assert_int_equal(fz_mbx_changes_since(f->st, f->a, ALICE, false, 0, 2, &ch, NULL), FZ_OK);
	assert_int_equal(ch.n, 2);
	assert_true(ch.more);
	assert_int_equal(ch.state, 2);
	assert_string_equal(ch.v[0].id, m[0].id);
	assert_string_equal(ch.v[0].msg.owner, ALICE);
	assert_false(ch.v[0].destroyed);
	assert_int_equal(fz_mbx_changes_since(f->st, f->a, ALICE, true, ch.state, 2, &ch, NULL), FZ_OK);
	assert_int_equal(ch.n, 2);
	assert_true(ch.more);
	assert_int_equal(fz_mbx_changes_since(f->st, f->a, ALICE, true, ch.state, 2, &ch, NULL), FZ_OK);
	assert_int_equal(ch.n, 1);
	assert_false(ch.more);
	assert_int_equal(ch.state, 5);
	state1 = ch.state;

	/* nothing new: nothing */
	assert_int_equal(fz_mbx_changes_since(f->st, f->a, ALICE, true, state1, 10, &ch, NULL), FZ_OK);
	assert_int_equal(ch.n, 0);
	assert_int_equal(ch.state, state1);

	/* a flag, a trash and a destroy: each message once, at its last modseq */
	{
		bool seen = false;
		fz_mbx_msg_patch p = {.seen = &seen};

		assert_int_equal(fz_mbx_msg_update(f->st, ALICE, m[1].id, &p, T0, &modseq, NULL), FZ_OK);
		assert_int_equal(fz_mbx_msg_update(f->st, ALICE, m[1].id, &p, T0, &modseq, NULL), FZ_OK);
	}
	assert_int_equal(fz_mbx_msg_delete(f->st, ALICE, m[3].id, T0, &destroyed, &modseq, NULL), FZ_OK);
	assert_int_equal(fz_mbx_msg_delete(f->st, ALICE, m[3].id, T0, &destroyed, &modseq, NULL), FZ_OK);
	assert_int_equal(modseq, 9);
	assert_int_equal(fz_mbx_changes_since(f->st, f->a, ALICE, true, state1, 10, &ch, NULL), FZ_OK);
	assert_int_equal(ch.n, 2);
	assert_string_equal(ch.v[0].id, m[1].id);
	assert_false(ch.v[0].destroyed);
	assert_false(ch.v[0].msg.seen);
	assert_string_equal(ch.v[1].id, m[3].id);
	assert_true(ch.v[1].destroyed);
	assert_int_equal(ch.state, 9);
	/* a full sync leaves destroyed ids out */
	assert_int_equal(fz_mbx_changes_since(f->st, f->a, ALICE, false, 0, 10, &ch, NULL), FZ_OK);
	assert_int_equal(ch.n, 4);
	for (i = 0; i < ch.n; i++)
		assert_false(ch.v[i].destroyed);

	/* a state from the future is 410 too (a restored database) */
	assert_int_equal(fz_mbx_changes_since(f->st, f->a, ALICE, true, 99, 10, &ch, &err), FZ_ENOTFOUND);
	assert_int_equal(err.status, 410);

	/* pruning raises the floor: an older state is 410, a newer one fine */
	assert_int_equal(fz_mbx_changes_prune(f->st, ALICE, 9, NULL), FZ_OK);
	fz_err_clear(&err);
	assert_int_equal(fz_mbx_changes_since(f->st, f->a, ALICE, true, state1, 10, &ch, &err), FZ_ENOTFOUND);
	assert_int_equal(err.status, 410);
	assert_string_equal(err.oauth, "state_too_old");
	assert_int_equal(fz_mbx_changes_since(f->st, f->a, ALICE, true, 9, 10, &ch, NULL), FZ_OK);
	assert_int_equal(ch.n, 0);
	assert_int_equal(fz_mbx_modseq(f->st, ALICE, &cur, NULL), FZ_OK);
	assert_int_equal(cur, 9);
	assert_int_equal(fz_mbx_modseq(f->st, "nobody@example.com", &cur, NULL), FZ_OK);
	assert_int_equal(cur, 0);
}

struct writer {
	fz_mbx_store *st;
	uint64_t seen[50];
};

static void *write_many(void *arg)
{
	struct writer *w = arg;
	size_t i;

	for (i = 0; i < 50; i++) {
		fz_mbx_msg m = draft(ALICE, "{}");

		if (fz_mbx_msg_add(w->st, &m, NULL, 0, T0, NULL) != FZ_OK)
			return NULL;
		w->seen[i] = m.modseq;
	}
	return w;
}

static void test_modseq_concurrent(void **state)
{
	struct fixture *f = *state;
	struct writer w[4];
	pthread_t t[4];
	static bool taken[201];
	fz_mbx_changes ch;
	size_t i, j;
	void *ret;

	for (i = 0; i < 4; i++) {
		w[i].st = f->st;
		assert_int_equal(pthread_create(&t[i], NULL, write_many, &w[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], &ret), 0);
		assert_non_null(ret);
	}
	/* every modseq given once, each writer's strictly increasing */
	memset(taken, 0, sizeof(taken));
	for (i = 0; i < 4; i++) {
		for (j = 0; j < 50; j++) {
			assert_true(w[i].seen[j] >= 1 && w[i].seen[j] <= 200);
			assert_false(taken[w[i].seen[j]]);
			taken[w[i].seen[j]] = true;
			if (j > 0)
				assert_true(w[i].seen[j] > w[i].seen[j - 1]);
		}
	}
	assert_int_equal(fz_mbx_changes_since(f->st, f->a, ALICE, false, 0, 500, &ch, NULL), FZ_OK);
	assert_int_equal(ch.n, 200);
	assert_int_equal(ch.state, 200);
	for (i = 1; i < ch.n; i++)
		assert_true(ch.v[i].modseq > ch.v[i - 1].modseq);
}

static void test_forwarding(void **state)
{
	struct fixture *f = *state;
	fz_mbx_forwarding fw, set = {.enabled = true, .target = "bobby@example.org", .keep_copy = false};
	fz_mbx_msg m = draft(ALICE, "{}");
	uint64_t cur;

	assert_int_equal(fz_mbx_forwarding_get(f->st, f->a, ALICE, &fw, NULL), FZ_OK);
	assert_false(fw.enabled);
	assert_string_equal(fw.target, "");
	assert_true(fw.keep_copy);
	assert_int_equal(fz_mbx_forwarding_set(f->st, ALICE, &set, T0, NULL), FZ_OK);
	assert_int_equal(fz_mbx_forwarding_get(f->st, f->a, ALICE, &fw, NULL), FZ_OK);
	assert_true(fw.enabled);
	assert_string_equal(fw.target, "bobby@example.org");
	assert_false(fw.keep_copy);
	/* the settings row is the mailbox row: the modseq is unharmed */
	assert_int_equal(fz_mbx_msg_add(f->st, &m, NULL, 0, T0, NULL), FZ_OK);
	assert_int_equal(m.modseq, 1);
	assert_int_equal(fz_mbx_forwarding_get(f->st, f->a, ALICE, &fw, NULL), FZ_OK);
	assert_true(fw.enabled);
	assert_int_equal(fz_mbx_modseq(f->st, ALICE, &cur, NULL), FZ_OK);
	assert_int_equal(cur, 1);
}

static void test_queue(void **state)
{
	struct fixture *f = *state;
	fz_queue_entry *e;
	size_t n;
	int64_t id1, id2, id3;

	assert_int_equal(fz_queue_add(f->st, "msg1", FZ_QUEUE_TRANSFER, "example.net", T0, &id1, NULL), FZ_OK);
	assert_int_equal(fz_queue_add(f->st, "msg1", FZ_QUEUE_TRANSFER, "example.org", T0 + 5, &id2, NULL), FZ_OK);
	assert_int_equal(fz_queue_add(f->st, "msg2", FZ_QUEUE_FETCH, "example.com", T0 + 100, &id3, NULL), FZ_OK);

	/* due at T0 + 10: two, oldest first, leased */
	assert_int_equal(fz_queue_claim(f->st, f->a, T0 + 10, 60, 10, &e, &n, NULL), FZ_OK);
	assert_int_equal(n, 2);
	assert_int_equal(e[0].id, id1);
	assert_string_equal(e[0].domain, "example.net");
	assert_string_equal(e[0].message, "msg1");
	assert_int_equal(e[0].kind, FZ_QUEUE_TRANSFER);
	assert_int_equal(e[0].state, FZ_QUEUE_QUEUED);
	assert_int_equal(e[0].attempts, 1);
	/* leased: a second worker gets nothing */
	assert_int_equal(fz_queue_claim(f->st, f->a, T0 + 11, 60, 10, &e, &n, NULL), FZ_OK);
	assert_int_equal(n, 0);
	/* a dead worker's lease runs out */
	assert_int_equal(fz_queue_claim(f->st, f->a, T0 + 71, 60, 1, &e, &n, NULL), FZ_OK);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].id, id1);
	assert_int_equal(e[0].attempts, 2);

	assert_int_equal(fz_queue_done(f->st, id1, FZ_QUEUE_TRANSFERRED, T0 + 72, NULL), FZ_OK);
	assert_int_equal(fz_queue_retry(f->st, id2, T0 + 200, "connection refused", T0 + 72, NULL), FZ_OK);
	assert_int_equal(fz_queue_done(f->st, id2, FZ_QUEUE_QUEUED, T0, NULL), FZ_EINTERNAL);
	assert_int_equal(fz_queue_done(f->st, 999, FZ_QUEUE_FETCHED, T0, NULL), FZ_ENOTFOUND);

	/* at T0 + 150: msg2 is due, id2 waits for its retry time */
	assert_int_equal(fz_queue_claim(f->st, f->a, T0 + 150, 60, 10, &e, &n, NULL), FZ_OK);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].id, id3);
	assert_int_equal(fz_queue_fail(f->st, id3, "no such domain", T0 + 151, NULL), FZ_OK);
	assert_int_equal(fz_queue_claim(f->st, f->a, T0 + 300, 60, 10, &e, &n, NULL), FZ_OK);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].id, id2);
	assert_string_equal(e[0].last_error, "connection refused");

	assert_int_equal(fz_queue_list(f->st, f->a, "msg1", &e, &n, NULL), FZ_OK);
	assert_int_equal(n, 2);
	assert_int_equal(e[0].state, FZ_QUEUE_TRANSFERRED);
	assert_null(e[0].last_error);
	assert_int_equal(fz_queue_list(f->st, f->a, "msg2", &e, &n, NULL), FZ_OK);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].state, FZ_QUEUE_FAILED);
	assert_string_equal(e[0].last_error, "no such domain");
	assert_string_equal(fz_queue_kind_name(FZ_QUEUE_FORWARD), "forward");
	assert_string_equal(fz_queue_state_name(FZ_QUEUE_FETCHED), "fetched");
	assert_int_equal(fz_queue_list(f->st, f->a, "none", &e, &n, NULL), FZ_OK);
	assert_int_equal(n, 0);
}

static void test_reopen_keeps_everything(void **state)
{
	struct fixture *f = *state;
	fz_mbx_msg m = draft(ALICE, "{}"), got;
	fz_queue_entry *e;
	size_t n;

	assert_int_equal(fz_mbx_msg_add(f->st, &m, NULL, 0, T0, NULL), FZ_OK);
	assert_int_equal(fz_queue_add(f->st, m.id, FZ_QUEUE_PUSH, "example.net", T0, NULL, NULL), FZ_OK);
	fz_mbx_store_close(f->st);
	assert_int_equal(fz_mbx_store_open(f->db, 2, &f->st, NULL), FZ_OK);
	assert_int_equal(fz_mbx_msg_get(f->st, f->a, ALICE, m.id, &got, NULL), FZ_OK);
	assert_int_equal(fz_queue_claim(f->st, f->a, T0, 60, 10, &e, &n, NULL), FZ_OK);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].kind, FZ_QUEUE_PUSH);
}

/* A received message for bob with a small inline part and a big one
 * (mbx_mta_receive.c), both to fetch, settled as the receiver settles
 * them: push_until and not_needed of fz_mbx_delivery. */
static void deliver_two_parts(struct fixture *f, const char *mid,
			      int64_t push_until, const char *not_needed)
{
	static const char *const owners[] = {"bob@example.net"};
	static const char *const docs[] = {"{\"envelope\":[],\"body\":{}}"};
	fz_mbx_part parts[] = {
		{.digest = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", .size = 10,
		 .type = "text/plain", .inline_part = true},
		{.digest = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA", .size = 100000,
		 .type = "image/png"},
	};
	fz_mbx_delivery d = {.message_id = mid, .peer = "example.com", .owners = owners,
			     .documents = docs, .nowners = 1, .parts = parts, .nparts = 2,
			     .push_until = push_until, .push_max_bytes = 64 * 1024,
			     .fetch_not_needed = not_needed, .now = T0};
	fz_mbx_delivered out;

	assert_int_equal(fz_mbx_deliver(f->st, f->a, &d, &out, NULL), FZ_OK);
	assert_int_equal(out.added, 1);
	assert_int_equal(out.fetches, 2);
}

/* SPEC §7.7: the small part's fetch waits for the push, the big one's
 * goes at once; forwarded without a copy, neither goes. Both settled in
 * the delivery's transaction, so a worker that claims right after the
 * commit already finds them so. */
static void test_fetch_settled_in_delivery(void **state)
{
	struct fixture *f = *state;
	char id[FZ_MBX_ID_LEN + 1];
	fz_queue_entry *e;
	size_t n;

	deliver_two_parts(f, "<m1@example.com>", T0 + 30, NULL);
	assert_int_equal(fz_queue_claim(f->st, f->a, T0, 60, 10, &e, &n, NULL), FZ_OK);
	assert_int_equal(n, 1); /* the big part only */
	assert_int_equal(e[0].kind, FZ_QUEUE_FETCH);
	assert_int_equal(fz_queue_done(f->st, e[0].id, FZ_QUEUE_FETCHED, T0 + 2, NULL), FZ_OK);
	assert_int_equal(fz_queue_claim(f->st, f->a, T0 + 29, 60, 10, &e, &n, NULL), FZ_OK);
	assert_int_equal(n, 0);
	assert_int_equal(fz_queue_claim(f->st, f->a, T0 + 30, 60, 10, &e, &n, NULL), FZ_OK);
	assert_int_equal(n, 1);
	assert_int_equal(fz_queue_done(f->st, e[0].id, FZ_QUEUE_FETCHED, T0 + 31, NULL), FZ_OK);

	deliver_two_parts(f, "<m2@example.com>", 0, "forwarded");
	assert_int_equal(fz_queue_claim(f->st, f->a, T0, 60, 10, &e, &n, NULL), FZ_OK);
	assert_int_equal(n, 0);
	assert_int_equal(fz_queue_claim(f->st, f->a, T0 + 100, 60, 10, &e, &n, NULL), FZ_OK);
	assert_int_equal(n, 0);
	assert_int_equal(fz_mbx_copy_of(f->st, "bob@example.net", "<m2@example.com>", id, NULL), FZ_OK);
	assert_int_equal(fz_queue_list(f->st, f->a, id, &e, &n, NULL), FZ_OK);
	assert_int_equal(n, 2);
	assert_int_equal(e[0].state, FZ_QUEUE_FAILED);
	assert_string_equal(e[1].last_error, "forwarded");
}

/* SPEC §9: a new copy whose owner forwards carries its forward entry in
 * the delivery's transaction; the same message again queues nothing. */
static void test_deliver_queues_forward(void **state)
{
	struct fixture *f = *state;
	static const char *const owners[] = {"bob@example.net", "carol@example.net"};
	static const char *const docs[] = {"{\"envelope\":[],\"body\":{}}",
					   "{\"envelope\":[],\"body\":{}}"};
	static const char *const fwd[] = {"example.org", NULL};
	fz_mbx_delivery d = {.message_id = "<f1@example.com>", .peer = "example.com",
			     .owners = owners, .documents = docs, .nowners = 2, .forwards = fwd,
			     .now = T0};
	fz_mbx_delivered out;
	char id[FZ_MBX_ID_LEN + 1];
	fz_queue_entry *e;
	size_t n;

	assert_int_equal(fz_mbx_deliver(f->st, f->a, &d, &out, NULL), FZ_OK);
	assert_int_equal(out.added, 2);
	assert_int_equal(out.forwards, 1);
	assert_int_equal(fz_mbx_copy_of(f->st, "bob@example.net", "<f1@example.com>", id, NULL),
			 FZ_OK);
	assert_int_equal(fz_queue_list(f->st, f->a, id, &e, &n, NULL), FZ_OK);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].kind, FZ_QUEUE_FORWARD);
	assert_string_equal(e[0].domain, "example.org");
	assert_int_equal(fz_mbx_copy_of(f->st, "carol@example.net", "<f1@example.com>", id, NULL),
			 FZ_OK);
	assert_int_equal(fz_queue_list(f->st, f->a, id, &e, &n, NULL), FZ_OK);
	assert_int_equal(n, 0);

	assert_int_equal(fz_mbx_deliver(f->st, f->a, &d, &out, NULL), FZ_OK);
	assert_int_equal(out.added, 0);
	assert_int_equal(out.forwards, 0);
	assert_int_equal(fz_queue_claim(f->st, f->a, T0, 60, 10, &e, &n, NULL), FZ_OK);
	assert_int_equal(n, 1);
}

/* A full disk is 507 insufficient_storage, not an internal error: made
 * real with max_page_count, where SQLite says SQLITE_FULL as it does
 * when the filesystem refuses to grow the file. */
static void test_db_full_is_507(void **state)
{
	struct fixture *f = *state;
	char path[256];
	fz_db *db = NULL;
	sqlite3 *c;
	fz_err err = {0};
	fz_code rc;

	snprintf(path, sizeof(path), "%s/full.db", f->dir);
	assert_int_equal(fz_db_open(path, 1, &db, NULL), FZ_OK);
	c = fz_db_acquire(db);
	assert_int_equal(fz_db_exec(c, "CREATE TABLE t (x BLOB); PRAGMA max_page_count = 8", NULL),
			 FZ_OK);
	rc = fz_db_exec(c, "INSERT INTO t VALUES (zeroblob(1000000))", &err);
	assert_int_equal(rc, FZ_ELIMIT);
	assert_int_equal(err.status, 507);
	assert_string_equal(err.oauth, "insufficient_storage");
	/* what was there stays readable and writable once there is room */
	assert_int_equal(fz_db_exec(c, "INSERT INTO t VALUES (x'00')", NULL), FZ_OK);
	fz_db_release(db, c);
	fz_db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_resources_and_quota, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_frees_owner_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message_life, setup, teardown),
		cmocka_unit_test(test_folders),
		cmocka_unit_test_setup_teardown(test_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modseq_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forwarding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deliver_queues_forward, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_settled_in_delivery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(test_db_full_is_507, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Sending in the Mailbox store (mbx_store_send.c) on a real SQLite file:
 * one commit delivers local copies that own the same resources, fails
 * unknown users and full mailboxes, queues one transfer per remote
 * domain; a changed draft, a second send and a reused Message-ID are
 * 409 with nothing left behind; status; recall and its refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbx_store.h"

#define T0 1700000000
#define ALICE "alice@example.com"
#define BOB "bob@example.com"
#define D1 "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
#define D2 "LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564"
#define DOC "{\"sent\":\"doc\"}"

struct fixture {
	char dir[128];
	char db[192];
	fz_mbx_store *st;
	fz_arena *a;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	snprintf(f->dir, sizeof(f->dir), "%s/fz-sendstore-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/mbx.db", f->dir);
	if (fz_mbx_store_open(f->db, 2, &f->st, NULL) != FZ_OK)
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
	fz_arena_free(f->a);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void own(struct fixture *f, const char *owner, const char *digest, uint64_t size)
{
	fz_mbx_resource r = {.digest = digest, .size = size, .type = "text/plain"};
	bool added;

	assert_int_equal(fz_mbx_resource_add(f->st, owner, &r, 0, T0, &added, NULL), FZ_OK);
}

/* A draft of alice's naming D1 (100 bytes, hers). */
static fz_mbx_msg draft(struct fixture *f, const char *message_id)
{
	fz_mbx_msg m = {.owner = ALICE, .folder = FZ_FOLDER_DRAFTS, .seen = true,
			.message_id = message_id, .document = "{\"draft\":1}"};
	fz_digest_str ref;

	own(f, ALICE, D1, 100);
	snprintf(ref.s, sizeof(ref.s), "%s", D1);
	assert_int_equal(fz_mbx_msg_add(f->st, &m, &ref, 1, T0, NULL), FZ_OK);
	return m;
}

static fz_mbx_send sending(const fz_mbx_msg *m, fz_mbx_send_rcpt *r, size_t n)
{
	return (fz_mbx_send){.owner = ALICE, .id = m->id, .draft_modseq = m->modseq,
			     .document = DOC, .message_id = m->message_id, .rcpts = r,
			     .nrcpts = n, .quota = 1000, .now = T0 + 1};
}

static size_t transfers(struct fixture *f, const char *id, const char *domain)
{
	fz_queue_entry *e;
	size_t n = 0, i, k = 0;

	assert_int_equal(fz_queue_list(f->st, f->a, id, &e, &n, NULL), FZ_OK);
	for (i = 0; i < n; i++)
		k += e[i].kind == FZ_QUEUE_TRANSFER && strcmp(e[i].domain, domain) == 0;
	return k;
}

static void test_commit(void **state)
{
	struct fixture *f = *state;
	fz_mbx_msg m = draft(f, "<1@example.com>"), got;
	fz_mbx_send_rcpt r[] = {
		{.address = BOB, .domain = "example.com", .local = true, .document = "{\"bob\":1}"},
		{.address = "nobody@example.com", .domain = "example.com", .local = true,
		 .document = "{}"},
		{.address = "carol@example.net", .domain = "example.net"},
		{.address = "dan@example.net", .domain = "example.net"},
	};
	fz_mbx_send s = sending(&m, r, 4);
	fz_mbx_send_status st;
	fz_mbx_resource res;
	uint64_t before, after;
	bool recalled = true;

	assert_int_equal(fz_mbx_mailbox_open(f->st, BOB, NULL), FZ_OK);
	assert_int_equal(fz_mbx_modseq(f->st, BOB, &before, NULL), FZ_OK);
	assert_int_equal(fz_mbx_send_commit(f->st, &s, NULL), FZ_OK);
	assert_int_equal(r[0].state, FZ_RCPT_DELIVERED);
	assert_int_equal(strlen(r[0].id), FZ_MBX_ID_LEN);
	assert_int_equal(r[1].state, FZ_RCPT_FAILED);
	assert_string_equal(r[1].reason, FZ_RCPT_NO_USER);
	assert_int_equal(r[2].state, FZ_RCPT_QUEUED);
	assert_int_equal(r[3].state, FZ_RCPT_QUEUED);
	/* one transfer for the domain, none for the local one */
	assert_int_equal(transfers(f, m.id, "example.net"), 1);
	assert_int_equal(transfers(f, m.id, "example.com"), 0);
	/* the sent message */
	assert_int_equal(fz_mbx_msg_get(f->st, f->a, ALICE, m.id, &got, NULL), FZ_OK);
	assert_true(got.sent);
	assert_int_equal(got.folder, FZ_FOLDER_SENT);
	assert_string_equal(got.document, DOC);
	/* bob's copy, his modseq, his ownership of the same bytes */
	assert_int_equal(fz_mbx_msg_get(f->st, f->a, BOB, r[0].id, &got, NULL), FZ_OK);
	assert_int_equal(got.folder, FZ_FOLDER_INBOX);
	assert_false(got.seen);
	assert_string_equal(got.document, "{\"bob\":1}");
	assert_string_equal(got.message_id, "<1@example.com>");
	assert_int_equal(fz_mbx_modseq(f->st, BOB, &after, NULL), FZ_OK);
	assert_true(after > before);
	assert_int_equal(fz_mbx_resource_find(f->st, f->a, BOB, D1, &res, NULL), FZ_OK);
	assert_int_equal(res.size, 100);
	/* status in the order named */
	assert_int_equal(fz_mbx_send_status_get(f->st, f->a, ALICE, m.id, &st, NULL), FZ_OK);
	assert_int_equal(st.n, 4);
	assert_string_equal(st.v[0].state, "delivered");
	assert_string_equal(st.v[1].state, "failed");
	assert_string_equal(st.v[2].address, "carol@example.net");
	assert_string_equal(st.v[2].state, "queued");
	assert_false(st.recalled);
	/* bob has no status of alice's message */
	assert_int_equal(fz_mbx_send_status_get(f->st, f->a, BOB, m.id, &st, NULL), FZ_ENOTFOUND);
	assert_int_equal(fz_mbx_store_message_recalled(f->st, "<1@example.com>", &recalled, NULL),
			 FZ_OK);
	assert_false(recalled);
	assert_int_equal(fz_mbx_store_message_recalled(f->st, "<2@example.com>", &recalled, NULL),
			 FZ_ENOTFOUND);
}

/* A copy that would take bob past his quota is not delivered; bytes he
 * owns already cost him nothing. */
static void test_quota(void **state)
{
	struct fixture *f = *state;
	fz_mbx_msg m = draft(f, "<q@example.com>");
	fz_mbx_send_rcpt r = {.address = BOB, .domain = "example.com", .local = true,
			      .document = "{}"};
	fz_mbx_send s = sending(&m, &r, 1);
	fz_mbx_msg m2;
	fz_mbx_send s2;

	assert_int_equal(fz_mbx_mailbox_open(f->st, BOB, NULL), FZ_OK);
	own(f, BOB, D2, 950);
	assert_int_equal(fz_mbx_send_commit(f->st, &s, NULL), FZ_OK);
	assert_int_equal(r.state, FZ_RCPT_FAILED);
	assert_string_equal(r.reason, FZ_RCPT_FULL);
	/* once he owns D1, the next copy fits */
	own(f, BOB, D1, 100);
	m2 = draft(f, "<q2@example.com>");
	s2 = sending(&m2, &r, 1);
	assert_int_equal(fz_mbx_send_commit(f->st, &s2, NULL), FZ_OK);
	assert_int_equal(r.state, FZ_RCPT_DELIVERED);
}

/* 409s leave nothing behind: still a draft, nothing queued. */
static void test_conflicts(void **state)
{
	struct fixture *f = *state;
	fz_mbx_msg m = draft(f, "<c@example.com>"), m2, got;
	fz_mbx_send_rcpt r = {.address = "carol@example.net", .domain = "example.net"};
	fz_mbx_send s = sending(&m, &r, 1);
	fz_err e = {0};
	uint64_t modseq;
	bool seen = false;
	fz_mbx_msg_patch p = {.seen = &seen};

	/* the draft changed after it was read */
	assert_int_equal(fz_mbx_msg_update(f->st, ALICE, m.id, &p, T0, &modseq, NULL), FZ_OK);
	assert_int_equal(fz_mbx_send_commit(f->st, &s, &e), FZ_ECONFLICT);
	assert_int_equal(e.status, 409);
	assert_int_equal(transfers(f, m.id, "example.net"), 0);
	assert_int_equal(fz_mbx_msg_get(f->st, f->a, ALICE, m.id, &got, NULL), FZ_OK);
	assert_false(got.sent);
	/* read again, it goes; a second time is 409 */
	s.draft_modseq = modseq;
	assert_int_equal(fz_mbx_send_commit(f->st, &s, NULL), FZ_OK);
	assert_int_equal(fz_mbx_send_commit(f->st, &s, &e), FZ_ECONFLICT);
	/* another draft with the same Message-ID */
	m2 = draft(f, "<c@example.com>");
	s = sending(&m2, &r, 1);
	assert_int_equal(fz_mbx_send_commit(f->st, &s, &e), FZ_ECONFLICT);
	assert_non_null(strstr(e.msg, "Message-ID"));
	assert_int_equal(transfers(f, m2.id, "example.net"), 0);
	/* another user's draft is none of theirs */
	m2 = draft(f, "<d@example.com>");
	s = sending(&m2, &r, 1);
	s.owner = BOB;
	assert_int_equal(fz_mbx_send_commit(f->st, &s, &e), FZ_ENOTFOUND);
}

static void test_recall(void **state)
{
	struct fixture *f = *state;
	fz_mbx_msg m = draft(f, "<r@example.com>"), m2;
	fz_mbx_send_rcpt r = {.address = "carol@example.net", .domain = "example.net"};
	fz_mbx_send s = sending(&m, &r, 1);
	fz_mbx_send_status st;
	fz_queue_entry *e;
	size_t n;
	bool recalled = false;
	fz_err err = {0};

	assert_int_equal(fz_mbx_send_commit(f->st, &s, NULL), FZ_OK);
	assert_int_equal(fz_mbx_recall(f->st, BOB, m.id, T0 + 2, NULL), FZ_ENOTFOUND);
	assert_int_equal(fz_mbx_recall(f->st, ALICE, m.id, T0 + 2, NULL), FZ_OK);
	assert_int_equal(fz_mbx_store_message_recalled(f->st, "<r@example.com>", &recalled, NULL),
			 FZ_OK);
	assert_true(recalled);
	assert_int_equal(fz_mbx_send_status_get(f->st, f->a, ALICE, m.id, &st, NULL), FZ_OK);
	assert_true(st.recalled);
	assert_string_equal(st.v[0].state, "failed");
	assert_string_equal(st.v[0].reason, FZ_RCPT_RECALLED);
	/* the worker finds nothing to do */
	assert_int_equal(fz_queue_claim(f->st, f->a, T0 + 10, 60, 10, &e, &n, NULL), FZ_OK);
	assert_int_equal(n, 0);
	assert_int_equal(fz_mbx_recall(f->st, ALICE, m.id, T0 + 3, &err), FZ_ECONFLICT);
	/* fetched: too late */
	m2 = draft(f, "<r2@example.com>");
	s = sending(&m2, &r, 1);
	assert_int_equal(fz_mbx_send_commit(f->st, &s, NULL), FZ_OK);
	assert_int_equal(fz_queue_list(f->st, f->a, m2.id, &e, &n, NULL), FZ_OK);
	assert_int_equal(n, 1);
	assert_int_equal(fz_queue_done(f->st, e[0].id, FZ_QUEUE_FETCHED, T0 + 5, NULL), FZ_OK);
	assert_int_equal(fz_mbx_recall(f->st, ALICE, m2.id, T0 + 6, &err), FZ_ECONFLICT);
	assert_non_null(strstr(err.msg, "fetched"));
	assert_int_equal(fz_mbx_send_status_get(f->st, f->a, ALICE, m2.id, &st, NULL), FZ_OK);
	assert_string_equal(st.v[0].state, "fetched");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conflicts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recall, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

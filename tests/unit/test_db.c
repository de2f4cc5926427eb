/* The connection pool's statement cache: a statement comes back reset
 * and unbound, a query nested inside the same query gets its own
 * statement, a statement a caller forgot is reset when the connection
 * goes back, and a thread holding no pooled connection is not cached. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"

#define Q "SELECT v FROM t WHERE k = ?"

struct fixture {
	char dir[64];
	char path[128];
	fz_db *db;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	sqlite3 *c;

	snprintf(f->dir, sizeof(f->dir), "%s/fz-db-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
	if (fz_db_open(f->path, 2, &f->db, NULL) != FZ_OK)
		return -1;
	c = fz_db_acquire(f->db);
	if (fz_db_exec(c, "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT);"
			  "INSERT INTO t VALUES (1, 'one'), (2, 'two');", NULL) != FZ_OK)
		return -1;
	fz_db_release(f->db, c);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char p[192];

	fz_db_close(f->db);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static const char *lookup(sqlite3_stmt *st, int k)
{
	sqlite3_bind_int(st, 1, k);
	if (sqlite3_step(st) != SQLITE_ROW)
		return NULL;
	return fz_db_col_text(st, 0);
}

static void test_reuse_is_reset(void **state)
{
	struct fixture *f = *state;
	sqlite3 *c = fz_db_acquire(f->db);
	sqlite3_stmt *a, *b;

	assert_int_equal(fz_db_prepare(c, Q, &a, NULL), FZ_OK);
	assert_string_equal(lookup(a, 1), "one");
	fz_db_done(a); /* mid-result: the row must not stick */
	assert_int_equal(fz_db_prepare(c, Q, &b, NULL), FZ_OK);
	assert_ptr_equal(a, b);
	assert_false(sqlite3_stmt_busy(b));
	assert_int_equal(sqlite3_bind_parameter_count(b), 1);
	assert_int_equal(sqlite3_step(b), SQLITE_DONE); /* unbound: k = NULL */
	fz_db_done(b);
	fz_db_release(f->db, c);
}

static void test_nested_same_query(void **state)
{
	struct fixture *f = *state;
	sqlite3 *c = fz_db_acquire(f->db);
	sqlite3_stmt *outer, *inner;

	assert_int_equal(fz_db_prepare(c, Q, &outer, NULL), FZ_OK);
	assert_string_equal(lookup(outer, 1), "one");
	assert_int_equal(fz_db_prepare(c, Q, &inner, NULL), FZ_OK);
	assert_ptr_not_equal(outer, inner);
	assert_string_equal(lookup(inner, 2), "two");
	assert_string_equal(fz_db_col_text(outer, 0), "one");
	fz_db_done(inner);
	fz_db_done(outer);
	fz_db_release(f->db, c);
}

static void test_release_resets_forgotten(void **state)
{
	struct fixture *f = *state;
	sqlite3 *c = fz_db_acquire(f->db);
	sqlite3_stmt *st, *again;

	assert_int_equal(fz_db_prepare(c, Q, &st, NULL), FZ_OK);
	assert_string_equal(lookup(st, 1), "one");
	fz_db_release(f->db, c); /* an error path that skipped fz_db_done */
	assert_false(sqlite3_stmt_busy(st));
	c = fz_db_acquire(f->db);
	assert_int_equal(fz_db_exec(c, "BEGIN IMMEDIATE; UPDATE t SET v = 'uno' "
				       "WHERE k = 1; COMMIT", NULL), FZ_OK);
	assert_int_equal(fz_db_prepare(c, Q, &again, NULL), FZ_OK);
	assert_string_equal(lookup(again, 1), "uno");
	fz_db_done(again);
	fz_db_release(f->db, c);
}

static void test_schema_change_reprepares(void **state)
{
	struct fixture *f = *state;
	sqlite3 *c = fz_db_acquire(f->db);
	sqlite3_stmt *st;

	assert_int_equal(fz_db_prepare(c, "SELECT * FROM t WHERE k = ?", &st, NULL), FZ_OK);
	fz_db_done(st);
	assert_int_equal(fz_db_exec(c, "ALTER TABLE t ADD COLUMN w TEXT DEFAULT 'x'",
				    NULL), FZ_OK);
	assert_int_equal(fz_db_prepare(c, "SELECT * FROM t WHERE k = ?", &st, NULL), FZ_OK);
	sqlite3_bind_int(st, 1, 2);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_count(st), 3);
	fz_db_done(st);
	fz_db_release(f->db, c);
}

static void test_bad_sql_is_an_error(void **state)
{
	struct fixture *f = *state;
	sqlite3 *c = fz_db_acquire(f->db);
	sqlite3_stmt *st = (sqlite3_stmt *)1;
	fz_err err = { 0 };

	assert_int_equal(fz_db_prepare(c, "SELEC nothing", &st, &err), FZ_EIO);
	assert_null(st);
	assert_non_null(strstr(err.msg, "database prepare"));
	fz_db_done(NULL);
	fz_db_release(f->db, c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reuse_is_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nested_same_query, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_resets_forgotten, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_change_reprepares, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_sql_is_an_error, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

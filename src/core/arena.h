/*
 * arena.h - per-request memory, in the manner of nginx's pools.
 *
 * A request allocates from one arena and never frees piecemeal; the arena is
 * freed once when the request ends, whatever path it took. Resources that are
 * not memory (a json_t, a file descriptor, a hash context) are tied to the
 * arena with a cleanup callback, so an early return cannot leak them either.
 */
#ifndef FZ_CORE_ARENA_H
#define FZ_CORE_ARENA_H

#include <stdarg.h>
#include <stddef.h>

#include "err.h"

/* Block size when none is given: large enough for a typical request's
 * headers, params and small strings, small enough to waste little. */
#define FZ_ARENA_BLOCK_DEFAULT 4096

typedef struct fz_arena fz_arena;
typedef struct fz_arena_cleanup fz_arena_cleanup;
typedef void (*fz_arena_cleanup_fn)(void *data);

/* A new arena. block_size 0 means FZ_ARENA_BLOCK_DEFAULT; limit caps the
 * bytes the arena may take from malloc in total (0: no cap), so one request
 * cannot grow without bound. NULL when out of memory. */
fz_arena *fz_arena_new(size_t block_size, size_t limit);

/* Runs the armed cleanups, newest first, then frees every block. NULL is a
 * no-op. */
void fz_arena_free(fz_arena *a);

/* n bytes aligned for any type; NULL when out of memory, over the limit, or
 * n overflows. A request for 0 bytes returns a valid unique pointer. */
void *fz_arena_alloc(fz_arena *a, size_t n);
/* As fz_arena_alloc for nmemb * size zeroed bytes, overflow checked. */
void *fz_arena_calloc(fz_arena *a, size_t nmemb, size_t size);

/* Copies, NUL-terminated. strndup copies at most n bytes and stops at a
 * NUL; memdup copies exactly n bytes and adds a NUL after them. */
char *fz_arena_strdup(fz_arena *a, const char *s);
char *fz_arena_strndup(fz_arena *a, const char *s, size_t n);
char *fz_arena_memdup(fz_arena *a, const void *p, size_t n);

char *fz_arena_printf(fz_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
char *fz_arena_vprintf(fz_arena *a, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Registers fn(data) to run when the arena is freed. If registration itself
 * fails (out of memory), fn(data) runs at once and NULL is returned, so the
 * resource is released on that path too; the caller must then not use it.
 * The handle may be passed to fz_arena_cleanup_disarm. */
fz_arena_cleanup *fz_arena_on_free(fz_arena *a, fz_arena_cleanup_fn fn,
				   void *data);

/* Forgets a cleanup without running it: for a resource whose ownership
 * moved elsewhere (an fd handed to a response that closes it). NULL is a
 * no-op. */
void fz_arena_cleanup_disarm(fz_arena_cleanup *c);

/* Ties a jansson value to the arena (json_decref at free). Returns j, or
 * NULL when j was NULL or could not be tied (then it is already released). */
struct json_t;
struct json_t *fz_arena_own_json(fz_arena *a, struct json_t *j);

/* Bytes taken from malloc so far, headers included: for tests and limits. */
size_t fz_arena_footprint(const fz_arena *a);

#endif

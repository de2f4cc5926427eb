/*
 * arena.c - bump allocation in a list of blocks. Small requests share the
 * current block; a large one gets a block of its own so it does not strand
 * the rest of the current block. Cleanups live in the arena too and run
 * newest first, the order a function would have released things itself.
 */
#include "arena.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct block {
	struct block *next;
	size_t cap;  /* bytes in data[] */
	size_t used; /* bytes handed out, alignment padding included */
	max_align_t data[];
};

struct fz_arena_cleanup {
	fz_arena_cleanup_fn fn; /* NULL once disarmed */
	void *data;
	fz_arena_cleanup *next;
};

struct fz_arena {
	struct block *cur;    /* where small allocations go */
	struct block *blocks; /* every block, for freeing */
	fz_arena_cleanup *cleanups;
	size_t block_size;
	size_t limit;
	size_t footprint;
};

#define ALIGN _Alignof(max_align_t)

static size_t align_up(size_t n)
{
	return (n + ALIGN - 1) & ~(ALIGN - 1);
}

static struct block *block_new(fz_arena *a, size_t cap)
{
	struct block *b;
	size_t total;

	if (cap > SIZE_MAX - sizeof(*b))
		return NULL;
	total = sizeof(*b) + cap;
	if (a->limit != 0 && (total > a->limit || a->footprint > a->limit - total))
		return NULL;
	b = malloc(total);
	if (b == NULL)
		return NULL;
	b->cap = cap;
	b->used = 0;
	b->next = a->blocks;
	a->blocks = b;
	a->footprint += total;
	return b;
}

fz_arena *fz_arena_new(size_t block_size, size_t limit)
{
	fz_arena *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->block_size = align_up(block_size == 0 ? FZ_ARENA_BLOCK_DEFAULT : block_size);
	a->limit = limit;
	a->footprint = sizeof(*a);
	return a;
}

void fz_arena_free(fz_arena *a)
{
	fz_arena_cleanup *c;
	struct block *b, *next;

	if (a == NULL)
		return;
	/* A cleanup may itself register more (a json_t owning a file): keep
	 * draining until the list stays empty. */
	while ((c = a->cleanups) != NULL) {
		a->cleanups = c->next;
		if (c->fn != NULL)
			c->fn(c->data);
	}
	for (b = a->blocks; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(a);
}

void *fz_arena_alloc(fz_arena *a, size_t n)
{
	struct block *b;
	size_t need;
	void *p;

	if (n > SIZE_MAX - ALIGN)
		return NULL;
	need = align_up(n == 0 ? 1 : n);
	b = a->cur;
	if (b != NULL && b->cap - b->used >= need) {
		p = (unsigned char *)b->data + b->used;
		b->used += need;
		return p;
	}
	/* Large pieces get their own block: the current one keeps its room. */
	if (need > a->block_size / 4) {
		b = block_new(a, need);
		if (b == NULL)
			return NULL;
		b->used = need;
		return b->data;
	}
	b = block_new(a, a->block_size);
	if (b == NULL)
		return NULL;
	a->cur = b;
	b->used = need;
	return b->data;
}

void *fz_arena_calloc(fz_arena *a, size_t nmemb, size_t size)
{
	void *p;

	if (size != 0 && nmemb > SIZE_MAX / size)
		return NULL;
	p = fz_arena_alloc(a, nmemb * size);
	if (p != NULL)
		memset(p, 0, nmemb * size);
	return p;
}

char *fz_arena_memdup(fz_arena *a, const void *p, size_t n)
{
	char *s;

	if (n == SIZE_MAX)
		return NULL;
	s = fz_arena_alloc(a, n + 1);
	if (s == NULL)
		return NULL;
	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

char *fz_arena_strdup(fz_arena *a, const char *s)
{
	return fz_arena_memdup(a, s, strlen(s));
}

char *fz_arena_strndup(fz_arena *a, const char *s, size_t n)
{
	return fz_arena_memdup(a, s, strnlen(s, n));
}

char *fz_arena_vprintf(fz_arena *a, const char *fmt, va_list ap)
{
	struct block *b = a->cur;
	va_list again;
	size_t room = 0;
	char *out;
	int len;

	/* Format straight into the free tail of the current block; only when
	 * it does not fit, measure and format a second time. */
	if (b != NULL)
		room = b->cap - b->used;
	va_copy(again, ap);
	len = vsnprintf(room > 0 ? (char *)b->data + b->used : NULL, room, fmt, ap);
	if (len < 0) {
		va_end(again);
		return NULL;
	}
	if ((size_t)len < room) {
		out = (char *)b->data + b->used;
		/* cap and used are multiples of ALIGN, so this stays <= cap */
		b->used += align_up((size_t)len + 1);
		va_end(again);
		return out;
	}
	out = fz_arena_alloc(a, (size_t)len + 1);
	if (out != NULL)
		vsnprintf(out, (size_t)len + 1, fmt, again);
	va_end(again);
	return out;
}

char *fz_arena_printf(fz_arena *a, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = fz_arena_vprintf(a, fmt, ap);
	va_end(ap);
	return s;
}

fz_arena_cleanup *fz_arena_on_free(fz_arena *a, fz_arena_cleanup_fn fn,
				   void *data)
{
	fz_arena_cleanup *c = fz_arena_alloc(a, sizeof(*c));

	if (c == NULL) {
		fn(data);
		return NULL;
	}
	c->fn = fn;
	c->data = data;
	c->next = a->cleanups;
	a->cleanups = c;
	return c;
}

void fz_arena_cleanup_disarm(fz_arena_cleanup *c)
{
	if (c != NULL)
		c->fn = NULL;
}

static void json_release(void *j)
{
	json_decref(j);
}

struct json_t *fz_arena_own_json(fz_arena *a, struct json_t *j)
{
	if (j == NULL)
		return NULL;
	if (fz_arena_on_free(a, json_release, j) == NULL)
		return NULL;
	return j;
}

size_t fz_arena_footprint(const fz_arena *a)
{
	return a->footprint;
}

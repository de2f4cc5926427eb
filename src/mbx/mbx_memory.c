/*
 * mbx_memory.c - bounds on the memory the Mailbox keeps when idle again.
 *
 * `make soak` showed the MBX's RSS rising for the whole run (+10 % after
 * the warm-up), all of it heap that malloc kept, none of it leaked. Two
 * things made the high-water mark climb:
 *
 * - glibc gives every thread that meets a locked arena an arena of its
 *   own, up to eight per core: in the MBX eleven or more. Each keeps what
 *   its thread freed for that thread alone and grows at that thread's
 *   own peak, so the process kept the sum of a dozen peaks, each reached
 *   at a different rare moment: 2 to 3 MiB free in the arenas, against
 *   0.5 MiB with one arena. One arena keeps one peak, that of all
 *   threads together; the per-thread caches of small chunks (tcache)
 *   spare most allocations its lock.
 *
 * - SQLite's page cache, up to 2000 KiB per connection by default, holds
 *   the pages a transaction read until another connection's commit
 *   clears it. Queries over a mailbox (a user's quota sums all their
 *   resources) read more pages as it fills, so the caches' peak rose
 *   with the database (0.2 to 2.5 MiB in eight minutes, without end in
 *   sight). A soft heap limit makes SQLite recycle its own cached pages
 *   once over it, instead of asking malloc for more; nothing fails at
 *   the limit, reads just come from the OS's cache more often.
 */
#include "mbx_memory.h"

#include <malloc.h>
#include <sqlite3.h>

size_t fz_mbx_db_connections(const fz_mbx_config *cfg)
{
	return (size_t)(cfg->limits.threads + 1 + cfg->queue.workers);
}

void fz_mbx_memory_setup(const fz_mbx_config *cfg)
{
	const fz_mbx_limits_config *l = &cfg->limits;

	if (l->malloc_arenas > 0)
		(void)mallopt(M_ARENA_MAX, (int)l->malloc_arenas);
	(void)sqlite3_soft_heap_limit64((sqlite3_int64)(fz_mbx_db_connections(cfg) *
							l->sqlite_heap_per_connection));
}

/*
 * mbx_memory.h - how much memory the Mailbox process lets glibc's malloc
 * and SQLite keep, set once at start, before any thread exists.
 */
#ifndef FZ_MBX_MBX_MEMORY_H
#define FZ_MBX_MBX_MEMORY_H

#include <stddef.h>

#include "config_mbx.h"

/* The database connections the MBX pools: one per HTTP worker, one for
 * maintenance, one per MTA worker thread. */
size_t fz_mbx_db_connections(const fz_mbx_config *cfg);

/* limits.malloc_arenas for the whole process (HTTP workers, MTA workers
 * and the rest), and SQLite's heap, all connections together, capped at
 * limits.sqlite_heap_per_connection per pooled connection. Call once,
 * before fz_mbx_open and before any other thread starts. */
void fz_mbx_memory_setup(const fz_mbx_config *cfg);

#endif

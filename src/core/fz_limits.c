/*
 * fz_limits.c - the default limits. Kept as data, not scattered constants, so
 * a configuration loader overrides fields and nothing else changes.
 */
#include "fz_limits.h"

static const fz_limits defaults = {
	.max_document_bytes = FZ_LIMIT_DOCUMENT_BYTES,
	.max_depth = FZ_LIMIT_DEPTH,
	.max_parts = FZ_LIMIT_PARTS,
	.max_recipients = FZ_LIMIT_RECIPIENTS,
	.max_header_value_bytes = FZ_LIMIT_HEADER_VALUE_BYTES,
	.max_chain_hops = FZ_LIMIT_CHAIN_HOPS,
};

void fz_limits_default(fz_limits *l)
{
	*l = defaults;
}

const fz_limits *fz_limits_defaults(void)
{
	return &defaults;
}

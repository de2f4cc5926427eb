/*
 * discovery_doc.h - what a peer's discovery documents say, read strictly:
 * the body as a JSON object, the AS metadata (RFC 8414), the MBX's
 * protected resource metadata (RFC 9728) and Note 1's redirect target.
 * No I/O: discovery_fetch.c hands these what it fetched, the fuzz target
 * hands them bytes. Messages name the document's URL.
 */
#ifndef FZ_NET_DISCOVERY_DOC_H
#define FZ_NET_DISCOVERY_DOC_H

#include <jansson.h>
#include <stddef.h>

#include "arena.h"
#include "discovery_int.h"
#include "err.h"
#include "url.h"

/* body[0..len), fetched from url, as a JSON object owned by a. */
fz_code fz_disc_json_object(fz_arena *a, const char *url, const char *body, size_t len,
			    json_t **out, fz_err *err);

/* The AS metadata j fetched from url: issuer (naming base), jwks_uri and
 * token_endpoint into a new *out that also keeps base and resolve. */
fz_code fz_disc_read_as_doc(const json_t *j, const char *url, const char *base,
			    const char *resolve, fz_disc_svc **out, fz_err *err);

/* The MBX's resource metadata j fetched from url: resource (naming
 * base), federizer_mta_client_id and at most max_as
 * authorization_servers into a new *out. */
fz_code fz_disc_read_rs_doc(const json_t *j, const char *url, const char *base,
			    const char *resolve, size_t max_as, fz_disc_svc **out,
			    fz_err *err);

/* The base a redirect from base (https://host[:port]/) to loc names: an
 * https URL, or an absolute path on the base's origin; no query or
 * fragment; the path ends in '/' so the well-known names can be
 * appended. *out lives in a; u keeps the parsed URL (fz_url_clear it,
 * on failure too). */
fz_code fz_disc_redirect_target(fz_arena *a, const char *base, const char *loc, fz_url *u,
				char **out, fz_err *err);

#endif

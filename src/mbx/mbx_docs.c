/*
 * mbx_docs.c - GET /api/docs: the MBX's API reference, the HTML page the
 * build renders from api/mbx.yaml (build/api/mbx.html), served from the
 * file the configuration names (docs_file), as the AS serves its own at
 * /docs (as_docs.c). The file is opened at each request, so a rebuilt
 * page is served without a restart, and a server configured without one
 * answers 404 like any path it does not have.
 *
 * The page is Redocly's: a prerendered document plus its inline script.
 * The CSP lets that script and its styles run, and nothing load from
 * elsewhere; the page is on the webmail's origin, so it may not be
 * framed either.
 */
#include "mbx_http.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DOCS_PATH "/api/docs"
#define DOCS_CSP "default-src 'none'; script-src 'unsafe-inline'; " \
	"style-src 'unsafe-inline'; img-src data:; font-src data:; " \
	"worker-src blob:; connect-src 'self'; frame-ancestors 'none'; " \
	"base-uri 'none'; form-action 'none'"

#define NO_DOCS "no API reference is served here"

static fz_code h_docs(fz_http_req *req, void *ctx, fz_err *err)
{
	const fz_mbx *m = ctx;
	const char *path = m->cfg->docs_file;
	struct stat st;
	fz_code rc;
	int fd;

	if (path == NULL || *path == '\0')
		return fz_fail_http(err, FZ_ENOTFOUND, 404, "not_found", NO_DOCS);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
		errno = EISDIR;
	}
	if (fd < 0) {
		/* The operator's business, not a server failure: the log says
		 * which file, the client hears only 404. */
		fprintf(stderr, "federizer mbx: docs_file %s: %s\n", path, strerror(errno));
		return fz_fail_http(err, FZ_ENOTFOUND, 404, "not_found", NO_DOCS);
	}
	if ((rc = fz_http_add_header(req, "Cache-Control", "no-cache", err)) ||
	    (rc = fz_http_add_header(req, "Content-Security-Policy", DOCS_CSP, err)) ||
	    (rc = fz_http_add_header(req, "Referrer-Policy", "no-referrer", err))) {
		close(fd);
		return rc;
	}
	return fz_http_respond_fd(req, 200, "text/html; charset=utf-8", fd, 0,
				  (uint64_t)st.st_size, err);
}

fz_code fz_mbx_docs_routes(fz_http_server *srv, fz_mbx *m, fz_err *err)
{
	return fz_http_server_add(srv, "GET", DOCS_PATH, h_docs, m, err);
}

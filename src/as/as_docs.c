/*
 * as_docs.c - GET /docs: the AS's API reference, the HTML page the build
 * renders from api/as.yaml (build/api/as.html), served from the file the
 * configuration names (docs_file). The file is opened at each request, so
 * a rebuilt page is served without a restart, and a server configured
 * without one answers 404 like any path it does not have.
 *
 * The page is Redocly's: a prerendered document plus its inline script
 * (search, expanding schemas). The CSP lets that script and its styles
 * run, and nothing load from elsewhere. (The server adds
 * X-Content-Type-Options: nosniff to every answer.)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "as_http.h"

#define DOCS_CSP "default-src 'none'; script-src 'unsafe-inline'; " \
	"style-src 'unsafe-inline'; img-src data:; font-src data:; " \
	"worker-src blob:; connect-src 'self'; frame-ancestors 'none'; " \
	"base-uri 'none'; form-action 'none'"

#define NO_DOCS "no API reference is served here"

static fz_code h_docs(fz_http_req *req, void *ctx, fz_err *err)
{
	const fz_as *as = ctx;
	const char *path = as->cfg->docs_file;
	struct stat st;
	fz_code rc;
	int fd;

	if (path == NULL || *path == '\0')
		return fz_fail(err, FZ_ENOTFOUND, NO_DOCS);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
		errno = EISDIR;
	}
	if (fd < 0) {
		/* The operator's business, not a server failure: the log says
		 * which file, the client hears only 404. */
		fprintf(stderr, "federizer as: docs_file %s: %s\n", path, strerror(errno));
		return fz_fail(err, FZ_ENOTFOUND, NO_DOCS);
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

fz_code fz_as_docs_routes(fz_http_server *srv, fz_as *as, fz_err *err)
{
	return fz_http_server_add(srv, "GET", FZ_AS_PATH_DOCS, h_docs, as, err);
}

/*
 * mbx_metadata.c - what the MBX tells the world about itself, and the
 * webmail it serves on the same origin.
 *
 * RFC 9728 protected resource metadata: which AS issues our tokens, and
 * (SPEC §5 Note 2) the client_id of our sibling MTA, which receiving
 * domains compare with an assertion's azp.
 *
 * The webmail is static files (web/dist): index.html for "/" and for
 * "/oauth/callback" (the redirect URI, SPEC §12), hashed assets cached
 * for good, sw.js and index.html always revalidated so an update reaches
 * every browser.
 */
#include "mbx_http.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WEB_NAME_MAX 255
#define CACHE_IMMUTABLE "public, max-age=31536000, immutable"
#define CACHE_REVALIDATE "no-cache"
#define METADATA_MAX_AGE "public, max-age=300"

static fz_code h_metadata(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_mbx *m = ctx;
	fz_code rc = fz_http_add_header(req, "Cache-Control", METADATA_MAX_AGE, err);

	if (rc != FZ_OK)
		return rc;
	return fz_http_respond_json(req, 200,
				    json_pack("{s:s,s:[s],s:[s],s:[s],s:s}",
					      "resource", m->cfg->base_url,
					      "authorization_servers", m->cfg->authorization_server,
					      "bearer_methods_supported", "header",
					      "scopes_supported", FZ_MBX_SCOPE,
					      "federizer_mta_client_id", m->cfg->mta_client_id),
				    err);
}

fz_code fz_mbx_metadata_routes(fz_http_server *srv, fz_mbx *m, fz_err *err)
{
	return fz_http_server_add(srv, "GET", FZ_MBX_PATH_METADATA, h_metadata, m, err);
}

/* --- the webmail ------------------------------------------------------------ */

static const struct {
	const char *ext;
	const char *type;
} types[] = {
	{".html", "text/html; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"},
	{".mjs", "text/javascript; charset=utf-8"},
	{".css", "text/css; charset=utf-8"},
	{".json", "application/json"},
	{".map", "application/json"},
	{".webmanifest", "application/manifest+json"},
	{".svg", "image/svg+xml"},
	{".png", "image/png"},
	{".ico", "image/x-icon"},
	{".woff2", "font/woff2"},
	{".txt", "text/plain; charset=utf-8"},
};

static const char *type_of(const char *name)
{
	const char *dot = strrchr(name, '.');
	size_t i;

	for (i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

/* One path segment of a built file: no dot first (no "..", no hidden
 * files), nothing a path could be made of. */
static bool web_name_ok(const char *s)
{
	size_t i, n = s ? strlen(s) : 0;

	if (n == 0 || n > WEB_NAME_MAX || s[0] == '.')
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
			return false;
	}
	return true;
}

static fz_code not_found(fz_err *err)
{
	return fz_fail_http(err, FZ_ENOTFOUND, 404, "not_found", "no such file");
}

/* Serves <webmail>/<dir>/<name> (dir may be NULL). */
static fz_code serve_file(fz_mbx *m, fz_http_req *req, const char *dir,
			  const char *name, const char *cache, fz_err *err)
{
	char *path;
	struct stat st;
	int fd;
	fz_code rc;

	if (!web_name_ok(name))
		return not_found(err);
	path = dir ? fz_arena_printf(req->arena, "%s/%s/%s", m->cfg->webmail, dir, name)
		   : fz_arena_printf(req->arena, "%s/%s", m->cfg->webmail, name);
	if (path == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? not_found(err)
				       : fz_fail(err, FZ_EIO, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return not_found(err);
	}
	rc = fz_http_add_header(req, "Cache-Control", cache, err);
	if (rc == FZ_OK)
		rc = fz_http_add_header(req, "Referrer-Policy", "no-referrer", err);
	if (rc != FZ_OK) {
		close(fd);
		return rc;
	}
	return fz_http_respond_fd(req, 200, type_of(name), fd, 0, (uint64_t)st.st_size, err);
}

static fz_code h_index(fz_http_req *req, void *ctx, fz_err *err)
{
	return serve_file(ctx, req, NULL, "index.html", CACHE_REVALIDATE, err);
}

static fz_code h_top_file(fz_http_req *req, void *ctx, fz_err *err)
{
	return serve_file(ctx, req, NULL, fz_http_req_param(req, "file"),
			  CACHE_REVALIDATE, err);
}

/* Vite names assets by their content hash: they never change. */
static fz_code h_asset(fz_http_req *req, void *ctx, fz_err *err)
{
	return serve_file(ctx, req, "assets", fz_http_req_param(req, "file"),
			  CACHE_IMMUTABLE, err);
}

fz_code fz_mbx_web_routes(fz_http_server *srv, fz_mbx *m, fz_err *err)
{
	fz_code rc;

	if (m->cfg->webmail == NULL)
		return FZ_OK;
	if ((rc = fz_http_server_add(srv, "GET", "/", h_index, m, err)) ||
	    (rc = fz_http_server_add(srv, "GET", "/oauth/callback", h_index, m, err)) ||
	    (rc = fz_http_server_add(srv, "GET", "/{file}", h_top_file, m, err)) ||
	    (rc = fz_http_server_add(srv, "GET", "/assets/{file}", h_asset, m, err)))
		return rc;
	return FZ_OK;
}

/*
 * http_client_pool.c - a stack of idle clients under a mutex: the most
 * recently used client, whose connection is the likeliest still open,
 * goes out first.
 */
#include "http_client_pool.h"

#include <pthread.h>
#include <stdlib.h>

struct fz_http_client_pool {
	fz_http_client_config cfg;
	pthread_mutex_t lock;
	fz_http_client **idle;
	size_t nidle, max_idle;
};

fz_code fz_http_client_pool_new(const fz_http_client_config *cfg, size_t max_idle,
				fz_http_client_pool **out, fz_err *err)
{
	fz_http_client_pool *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (p != NULL && max_idle > 0)
		p->idle = calloc(max_idle, sizeof(*p->idle));
	if (p == NULL || (max_idle > 0 && p->idle == NULL)) {
		free(p);
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	p->cfg = *cfg;
	p->max_idle = max_idle;
	pthread_mutex_init(&p->lock, NULL);
	*out = p;
	return FZ_OK;
}

void fz_http_client_pool_free(fz_http_client_pool *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nidle; i++)
		fz_http_client_free(p->idle[i]);
	pthread_mutex_destroy(&p->lock);
	free(p->idle);
	free(p);
}

fz_code fz_http_client_pool_get(fz_http_client_pool *p, fz_http_client **out, fz_err *err)
{
	*out = NULL;
	pthread_mutex_lock(&p->lock);
	if (p->nidle > 0)
		*out = p->idle[--p->nidle];
	pthread_mutex_unlock(&p->lock);
	if (*out != NULL)
		return FZ_OK;
	return fz_http_client_new(&p->cfg, out, err);
}

void fz_http_client_pool_put(fz_http_client_pool *p, fz_http_client *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	if (p->nidle < p->max_idle) {
		p->idle[p->nidle++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&p->lock);
	fz_http_client_free(c);
}

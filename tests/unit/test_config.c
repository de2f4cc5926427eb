/* The configuration reader and the AS's settings: defaults, every key
 * read, and every refusal naming its key and line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "config_mbx.h"

#define BASE "issuer: https://as.example.com/\n"       \
	     "tls: {cert: /etc/fz/cert.pem, key: /etc/fz/key.pem}\n" \
	     "database: /var/lib/fz/as.db\n"             \
	     "keys: {dir: /var/lib/fz/keys}\n"           \
	     "domains: [example.com]\n"

static fz_code parse(const char *text, fz_as_config *c, fz_err *err)
{
	return fz_as_config_parse(text, strlen(text), c, err);
}

/* Parses text, expects failure, and that the message holds each
 * NULL-terminated fragment. */
static void refused(const char *text, ...)
{
	fz_as_config c;
	fz_err err = {0};
	const char *frag;
	va_list ap;

	assert_int_not_equal(parse(text, &c, &err), FZ_OK);
	assert_null(c.cfg);
	va_start(ap, text);
	while ((frag = va_arg(ap, const char *)) != NULL) {
		if (strstr(err.msg, frag) == NULL)
			fail_msg("message '%s' lacks '%s'", err.msg, frag);
	}
	va_end(ap);
}

static void test_minimal_defaults(void **state)
{
	fz_as_config c;
	fz_err err = {0};

	(void)state;
	assert_int_equal(parse(BASE, &c, &err), FZ_OK);
	assert_string_equal(c.issuer, "https://as.example.com/");
	assert_string_equal(c.listen_host, FZ_AS_LISTEN_HOST_DEFAULT);
	assert_int_equal(c.listen_port, FZ_AS_LISTEN_PORT_DEFAULT);
	assert_string_equal(c.tls_cert, "/etc/fz/cert.pem");
	assert_string_equal(c.tls_key, "/etc/fz/key.pem");
	assert_string_equal(c.database, "/var/lib/fz/as.db");
	assert_string_equal(c.keys_dir, "/var/lib/fz/keys");
	assert_int_equal(c.keys_alg, FZ_ALG_ES256);
	assert_int_equal(c.keys_reload, FZ_AS_KEYS_RELOAD_DEFAULT);
	assert_int_equal(c.ndomains, 1);
	assert_string_equal(c.domains[0], "example.com");
	assert_null(c.ca_file);
	assert_null(c.dns_host);
	assert_true(c.access_log);
	assert_null(c.docs_file);
	assert_int_equal(c.tokens.access_ttl, FZ_AS_ACCESS_TTL_DEFAULT);
	assert_int_equal(c.tokens.refresh_ttl, FZ_AS_REFRESH_TTL_DEFAULT);
	assert_int_equal(c.tokens.code_ttl, FZ_AS_CODE_TTL_DEFAULT);
	assert_int_equal(c.tokens.assertion_ttl, FZ_AS_ASSERTION_TTL_DEFAULT);
	assert_int_equal(c.tokens.fetch_ttl, FZ_AS_FETCH_TTL_DEFAULT);
	assert_int_equal(c.limits.threads, FZ_AS_THREADS_DEFAULT);
	assert_int_equal(c.limits.header_timeout, FZ_AS_HEADER_TIMEOUT_DEFAULT);
	assert_int_equal(c.limits.max_body_bytes, FZ_AS_MAX_BODY_BYTES_DEFAULT);
	assert_int_equal(c.login.max_failures, FZ_AS_LOGIN_MAX_FAILURES_DEFAULT);
	assert_int_equal(c.login.lockout, FZ_AS_LOGIN_LOCKOUT_DEFAULT);
	assert_int_equal(c.login.session_ttl, FZ_AS_LOGIN_SESSION_TTL_DEFAULT);
	assert_int_equal(c.login.form_ttl, FZ_AS_LOGIN_FORM_TTL_DEFAULT);
	assert_false(c.dpop.nonce);
	assert_int_equal(c.jose.leeway, FZ_JOSE_LEEWAY);
	assert_true(c.discovery.ttl_min == FZ_CFG_UNSET);
	assert_true(c.discovery.negative_ttl == FZ_CFG_UNSET);
	assert_int_equal(fz_as_config_max_signed_ttl(&c), FZ_AS_ASSERTION_TTL_DEFAULT);
	fz_as_config_free(&c);
	fz_as_config_free(&c); /* twice is harmless */
}

static void test_every_key(void **state)
{
	static const char text[] =
		"# every key the AS reads\n"
		"issuer: https://as.example.com:8443\n"
		"listen: '[::1]:8443'\n"
		"tls:\n  cert: c.pem\n  key: k.pem\n"
		"database: as.db\n"
		"keys:\n  dir: keys\n  alg: RS256\n  rsa_bits: 3072\n  reload_interval: 5\n"
		"domains:\n  - Example.COM\n  - example.net\n"
		"ca_file: ca.pem\n"
		"dns_server: ns.example.com:5353\n"
		"access_log: false\n"
		"docs_file: build/api/as.html\n"
		"tokens: {access_ttl: 600, refresh_ttl: 86400, code_ttl: 30,"
		" assertion_ttl: 3600, fetch_ttl: 60}\n"
		"limits: {max_connections: 10, per_ip_connections: 2, timeout: 5, threads: 2,"
		" header_timeout: 7, max_header_bytes: 16384, max_body_bytes: 4096, max_form_params: 8,"
		" max_param_bytes: 2048, arena_bytes: 1048576}\n"
		"login: {max_failures: 3, max_address_failures: 9, window: 60, lockout: 120,"
		" session_ttl: 600, form_ttl: 300}\n"
		"dpop: {nonce: true, nonce_ttl: 30}\n"
		"jose: {leeway: 5, dpop_iat_window: 20, max_jws_bytes: 4096, max_dpop_bytes: 2048}\n";
	fz_as_config c;
	fz_err err = {0};

	(void)state;
	assert_int_equal(parse(text, &c, &err), FZ_OK);
	assert_string_equal(c.issuer, "https://as.example.com:8443");
	assert_string_equal(c.listen_host, "::1");
	assert_int_equal(c.listen_port, 8443);
	assert_int_equal(c.keys_alg, FZ_ALG_RS256);
	assert_int_equal(c.keys_rsa_bits, 3072);
	assert_int_equal(c.keys_reload, 5);
	assert_int_equal(c.ndomains, 2);
	assert_string_equal(c.domains[0], "example.com");
	assert_true(fz_as_config_has_domain(&c, "EXAMPLE.net", 11));
	assert_false(fz_as_config_has_domain(&c, "example.org", 11));
	assert_string_equal(c.ca_file, "ca.pem");
	assert_string_equal(c.dns_host, "ns.example.com");
	assert_int_equal(c.dns_port, 5353);
	assert_false(c.access_log);
	assert_string_equal(c.docs_file, "build/api/as.html");
	assert_int_equal(c.tokens.access_ttl, 600);
	assert_int_equal(c.tokens.code_ttl, 30);
	assert_int_equal(c.tokens.fetch_ttl, 60);
	assert_int_equal(c.limits.max_connections, 10);
	assert_int_equal(c.limits.header_timeout, 7);
	assert_int_equal(c.limits.max_param_bytes, 2048);
	assert_int_equal(c.login.max_address_failures, 9);
	assert_int_equal(c.login.session_ttl, 600);
	assert_int_equal(c.login.form_ttl, 300);
	assert_true(c.dpop.nonce);
	assert_int_equal(c.dpop.nonce_ttl, 30);
	assert_int_equal(c.jose.leeway, 5);
	assert_int_equal(c.jose.dpop_max_bytes, 2048);
	assert_int_equal(fz_as_config_max_signed_ttl(&c), 3600);
	fz_as_config_free(&c);
}

static void test_unknown_keys(void **state)
{
	(void)state;
	refused(BASE "isuer: https://x.example/\n", "line 6", "unknown key 'isuer'", NULL);
	refused(BASE "tokens:\n  acces_ttl: 60\n", "line 7", "'acces_ttl' in tokens", NULL);
	refused(BASE "keys2: {}\n", "unknown key 'keys2'", NULL);
	/* A typo of a required key is named as the typo, not as absence. */
	refused("isuer: https://as.example.com/\n", "line 1: unknown key 'isuer'",
		"did you mean 'issuer'", NULL);
	refused("issuer: https://as.example.com/\ntls: {cert: c, kye: k}\n", "line 2",
		"unknown key 'kye'", "did you mean 'key'", NULL);
	refused("issuer: https://as.example.com/\nvery_different: 1\n", "tls is required", NULL);
	/* A key below an unknown one is not reported first. */
	refused(BASE "extra:\n  nested: 1\n", "unknown key 'extra'", NULL);
}

static void test_required(void **state)
{
	(void)state;
	refused("", "issuer is required", NULL);
	refused("issuer: https://as.example.com/\n", "tls is required", NULL);
	refused("issuer: https://as.example.com/\ntls: {cert: c}\n", "tls.key is required",
		NULL);
	refused("issuer: https://as.example.com/\ntls: {cert: c, key: k}\n",
		"database is required", NULL);
	refused("issuer: https://as.example.com/\ntls: {cert: c, key: k}\ndatabase: d\n",
		"keys is required", NULL);
	refused("issuer: https://as.example.com/\ntls: {cert: c, key: k}\ndatabase: d\n"
		"keys: {alg: ES256}\n", "keys.dir is required", NULL);
	refused("issuer: https://as.example.com/\ntls: {cert: c, key: k}\ndatabase: d\n"
		"keys: {dir: k}\n", "domains is required", NULL);
	refused("issuer: https://as.example.com/\ntls: {cert: c, key: k}\ndatabase: d\n"
		"keys: {dir: k}\ndomains: []\n", "domains", "must not be empty", NULL);
	refused("issuer:\ntls: {cert: c, key: k}\n", "issuer is required", NULL);
	refused("issuer: ''\n", "issuer", "must not be empty", NULL);
}

static void test_bad_issuer(void **state)
{
	(void)state;
	refused("issuer: http://as.example.com/\n", "line 1: issuer", "https", NULL);
	refused("issuer: not a url\n", "line 1: issuer", "not a URL", NULL);
	refused("issuer: https://as.example.com/oauth\n", "no path", NULL);
	refused("issuer: https://as.example.com/?a=b\n", "no query", NULL);
	refused("issuer: https://as.example.com/#f\n", "no query or fragment", NULL);
	refused("issuer: [https://as.example.com/]\n", "single value", NULL);
}

static void test_bad_listen(void **state)
{
	(void)state;
	refused(BASE "listen: 127.0.0.1\n", "line 6: listen", "host:port", NULL);
	refused(BASE "listen: 127.0.0.1:0\n", "bad port '0'", NULL);
	refused(BASE "listen: 127.0.0.1:70000\n", "bad port '70000'", NULL);
	refused(BASE "listen: 127.0.0.1:https\n", "bad port 'https'", NULL);
	refused(BASE "listen: 127.0.0.1:-1\n", "bad port", NULL);
	refused(BASE "listen: as.example.com:443\n", "not a numeric IP address", NULL);
	refused(BASE "listen: ::1:443\n", "host:port", NULL);
	refused(BASE "listen: '[zz]:443'\n", "not a numeric IP address", NULL);
	refused(BASE "dns_server: 'bad_name:53'\n", "IP address or a DNS name", NULL);
}

static void test_bad_values(void **state)
{
	(void)state;
	refused(BASE "tokens: {access_ttl: 901}\n", "tokens.access_ttl",
		"from 1 to 900", "'901'", NULL);
	refused(BASE "tokens: {access_ttl: -1}\n", "tokens.access_ttl", NULL);
	refused(BASE "tokens: {code_ttl: 1h}\n", "tokens.code_ttl", NULL);
	refused(BASE "tokens: {refresh_ttl: 99999999999999999999999}\n", "refresh_ttl", NULL);
	refused(BASE "tokens: {fetch_ttl: 0}\n", "fetch_ttl", NULL);
	refused(BASE "tokens: [1]\n", "tokens", "mapping", NULL);
	refused(BASE "tokens: {access_ttl: {a: 1}}\n", "single value, not a mapping", NULL);
	refused(BASE "limits: {threads: 0}\n", "limits.threads", NULL);
	refused(BASE "limits: {header_timeout: 0}\n", "limits.header_timeout", NULL);
	refused(BASE "limits: {header_timeout: 3601}\n", "limits.header_timeout", NULL);
	refused(BASE "limits: {max_header_bytes: 100}\n", "limits.max_header_bytes", NULL);
	refused(BASE "dpop: {nonce: yes}\n", "dpop.nonce", "true or false", NULL);
	refused(BASE "access_log: 1\n", "access_log", "true or false", NULL);
	refused(BASE "jose: {leeway: 100000}\n", "jose.leeway", NULL);
	refused(BASE "discovery: {ttl_max: 0}\n", "discovery.ttl_max", NULL);
	refused(BASE "discovery: {dns_tries: 11}\n", "discovery.dns_tries", NULL);
	refused(BASE "discovery: {negative_tll: 5}\n", "negative_tll", NULL);
	refused(BASE "login: {window: 0}\n", "login.window", NULL);
	refused(BASE "login: {session_ttl: 59}\n", "login.session_ttl", NULL);
	refused(BASE "login: {form_ttl: 86401}\n", "login.form_ttl", NULL);
}

static void test_bad_keys_and_domains(void **state)
{
	static const char head[] = "issuer: https://as.example.com/\n"
				   "tls: {cert: c, key: k}\ndatabase: d\n";
	char text[512];

	(void)state;
	snprintf(text, sizeof(text), "%skeys: {dir: k, alg: HS256}\ndomains: [example.com]\n",
		 head);
	refused(text, "line 4: keys.alg", "ES256 or RS256", NULL);
	snprintf(text, sizeof(text), "%skeys: {dir: k, alg: none}\ndomains: [example.com]\n",
		 head);
	refused(text, "keys.alg", NULL);
	snprintf(text, sizeof(text), "%skeys: {dir: k, rsa_bits: 1024}\ndomains: [example.com]\n",
		 head);
	refused(text, "keys.rsa_bits", NULL);
	snprintf(text, sizeof(text), "%skeys: {dir: k}\ndomains: [localhost]\n", head);
	refused(text, "domains[0]", "not a domain name", NULL);
	snprintf(text, sizeof(text), "%skeys: {dir: k}\ndomains: [-bad.example]\n", head);
	refused(text, "domains[0]", NULL);
	snprintf(text, sizeof(text), "%skeys: {dir: k}\ndomains: [a.example, A.Example]\n", head);
	refused(text, "domains[1]", "listed twice", NULL);
	snprintf(text, sizeof(text), "%skeys: {dir: k}\ndomains: [[a.example]]\n", head);
	refused(text, "domains[0]", "non-empty value", NULL);
	snprintf(text, sizeof(text), "%skeys: {dir: k}\ndomains: example.com\n", head);
	refused(text, "domains", "must be a list", NULL);
	snprintf(text, sizeof(text), "%skeys: dir\ndomains: [example.com]\n", head);
	refused(text, "keys", "mapping", NULL);
}

static void test_yaml_refusals(void **state)
{
	(void)state;
	refused(BASE "ca_file: &a ca.pem\n", "line 6", "anchors", NULL);
	refused(BASE "x: &a {b: 1}\ny: *a\n", "anchors", NULL);
	refused(BASE "ca_file: !!str ca.pem\n", "tags", NULL);
	refused(BASE "database: again\n", "line 6", "duplicate key 'database'", NULL);
	refused(BASE "ca_file: [unclosed\n", "YAML", NULL);
	refused("- a\n- b\n", "top of the file must be a mapping", NULL);
	refused("plain\n", "top of the file must be a mapping", NULL);
	refused(BASE "---\nissuer: x\n", "one YAML document", NULL);
	refused(BASE "? [a, b]\n: c\n", "plain scalars", NULL);
	refused(BASE "a: {b: {c: {d: {e: {f: {g: {h: {i: 1}}}}}}}}\n", "nested deeper", NULL);
}

static void test_generic_reader(void **state)
{
	static const char text[] = "a: 1\nb:\n  - x\n  - y\nc: ~\nd: {e: f}\n";
	const fz_cfg_node *root, *b, *d;
	fz_cfg *cfg;
	fz_err err = {0};
	uint64_t v = 7;
	const char *s = NULL;

	(void)state;
	assert_int_equal(fz_cfg_parse(text, strlen(text), &cfg, &err), FZ_OK);
	root = fz_cfg_root(cfg);
	assert_int_equal(fz_cfg_node_kind(root), FZ_CFG_MAP);
	assert_int_equal(fz_cfg_uint(root, "a", 0, 10, &v, &err), FZ_OK);
	assert_int_equal(v, 1);
	b = fz_cfg_get(root, "b");
	assert_non_null(b);
	assert_int_equal(fz_cfg_node_kind(b), FZ_CFG_SEQ);
	assert_int_equal(fz_cfg_node_count(b), 2);
	assert_string_equal(fz_cfg_node_text(fz_cfg_node_at(b, 1)), "y");
	assert_string_equal(fz_cfg_node_path(fz_cfg_node_at(b, 1)), "b[1]");
	assert_int_equal(fz_cfg_node_line(fz_cfg_node_at(b, 1)), 4);
	assert_null(fz_cfg_node_at(b, 2));
	/* A null value is absent; the getter leaves the default. */
	assert_int_equal(fz_cfg_string(root, "c", false, &s, &err), FZ_OK);
	assert_null(s);
	/* d.e was never read: the unused check finds it. */
	assert_int_equal(fz_cfg_map(root, "d", false, &d, &err), FZ_OK);
	assert_non_null(d);
	assert_int_equal(fz_cfg_check_unused(cfg, &err), FZ_ESTRUCT);
	assert_non_null(strstr(err.msg, "unknown key 'e' in d"));
	assert_int_equal(fz_cfg_string(d, "e", true, &s, &err), FZ_OK);
	assert_string_equal(s, "f");
	assert_int_equal(fz_cfg_check_unused(cfg, &err), FZ_OK);
	fz_cfg_free(cfg);

	assert_int_equal(fz_cfg_parse("", 0, &cfg, &err), FZ_OK);
	assert_int_equal(fz_cfg_node_count(fz_cfg_root(cfg)), 0);
	fz_cfg_free(cfg);
	assert_int_equal(fz_cfg_parse("a: 1", FZ_CFG_MAX_BYTES + 1, &cfg, &err), FZ_ELIMIT);
}

static void test_dns_names(void **state)
{
	(void)state;
	assert_true(fz_cfg_dns_name_valid("example.com", 11));
	assert_true(fz_cfg_dns_name_valid("a-b.c", 5));
	assert_false(fz_cfg_dns_name_valid("", 0));
	assert_false(fz_cfg_dns_name_valid("a..b", 4));
	assert_false(fz_cfg_dns_name_valid("a-.b", 4));
	assert_false(fz_cfg_dns_name_valid("a.b.", 4));
	assert_false(fz_cfg_dns_name_valid("a_b.c", 5));
	assert_false(fz_cfg_dns_name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b",
					   66));
}

/* The Mailbox verifies DPoP proofs on /mta/v1 too: its jose block takes
 * the same four limits as the AS's, through the same reader; so does its
 * discovery block. */
static void test_mbx_jose_block(void **state)
{
	static const char yaml[] =
		"base_url: https://mbx.example.com/\n"
		"listen: 127.0.0.1:8443\n"
		"tls: {cert: c.pem, key: k.pem}\n"
		"database: mbx.db\n"
		"blobs: blobs\n"
		"domains: [example.com]\n"
		"authorization_server: https://as.example.com/\n"
		"mta: {client_id: mta.example.com}\n"
		"jose: {leeway: 5, dpop_iat_window: 20, max_jws_bytes: 4096, max_dpop_bytes: 2048}\n"
		"limits: {header_timeout: 4, malloc_arenas: 0, sqlite_heap_per_connection: 65536}\n"
		"discovery: {dns_timeout_ms: 500, dns_tries: 2, http_timeout: 7,"
		" cache_max_entries: 64, ttl_min: 0, ttl_max: 120, negative_ttl: 0}\n";
	fz_mbx_config c;
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_mbx_config_parse(yaml, sizeof(yaml) - 1, &c, &err), FZ_OK);
	assert_int_equal(c.jose.leeway, 5);
	assert_int_equal(c.jose.dpop_iat_window, 20);
	assert_int_equal(c.jose.jws_max_bytes, 4096);
	assert_int_equal(c.jose.dpop_max_bytes, 2048);
	assert_int_equal(c.limits.header_timeout, 4);
	assert_int_equal(c.limits.malloc_arenas, 0);
	assert_int_equal(c.limits.sqlite_heap_per_connection, 65536);
	assert_int_equal(c.limits.timeout, FZ_MBX_TIMEOUT_DEFAULT);
	assert_int_equal(c.discovery.dns_timeout_ms, 500);
	assert_int_equal(c.discovery.dns_tries, 2);
	assert_int_equal(c.discovery.http_timeout, 7);
	assert_int_equal(c.discovery.cache_max_entries, 64);
	assert_int_equal(c.discovery.ttl_min, 0);
	assert_int_equal(c.discovery.ttl_max, 120);
	assert_int_equal(c.discovery.negative_ttl, 0);
	fz_mbx_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_mbx_jose_block),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_required),
		cmocka_unit_test(test_bad_issuer),
		cmocka_unit_test(test_bad_listen),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_bad_keys_and_domains),
		cmocka_unit_test(test_yaml_refusals),
		cmocka_unit_test(test_generic_reader),
		cmocka_unit_test(test_dns_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tls_ctx — server contexts. See tls.h for the policy. The key file is read once, before
 * smtpd drops privileges and chroots; nothing here opens files afterwards.
 */
#include <stdio.h>

#include <openssl/err.h>

#include "tls/tls.h"

void
tls_error(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		(void)snprintf(buf, len, "unknown TLS error");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
}

SSL_CTX *
tls_ctx_new(const SSL_METHOD *method, uint64_t options, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	ERR_clear_error();
	ctx = SSL_CTX_new(method);
	if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		tls_error(err, errlen);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | options);
	/* Partial writes let the event loop write what fits and come back for the rest. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
}

SSL_CTX *
tls_server_ctx(const char *cert, const char *key, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	ctx = tls_ctx_new(TLS_server_method(), SSL_OP_CIPHER_SERVER_PREFERENCE, err, errlen);
	if (ctx == NULL)
		return NULL;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		tls_error(err, errlen);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

void
tls_describe(SSL *ssl, char *buf, size_t len)
{
	int alg = 0, bits;

	bits = SSL_get_cipher_bits(ssl, &alg);
	(void)snprintf(buf, len, "%s with cipher %s (%d/%d bits)", SSL_get_version(ssl),
	    SSL_get_cipher_name(ssl), bits, alg);
}

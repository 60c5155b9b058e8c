/*
 * tls_client — the outbound side: one SSL_CTX for every delivery, and the DANE (RFC 7672)
 * steps of one connection, on OpenSSL 3's DANE API.
 *
 * Policy: TLS 1.2 and 1.3, no compression, no renegotiation, no session cache (a worker
 * talks to many hosts, and resumption would skip the certificate the DANE check needs).
 * The verify mode is SSL_VERIFY_NONE: opportunistic TLS (RFC 7435) encrypts without
 * authenticating, so a certificate error must not stop the handshake; with DANE the caller
 * checks the outcome after the handshake (tls_client_dane_ok) and refuses to go on when it
 * failed, which also lets it say why. No PKIX trust store is loaded: RFC 7672 §3.1 uses
 * only DANE-TA(2) and DANE-EE(3) records, whose trust comes from DNSSEC, not from CAs.
 *
 * DANE per connection: tls_client_dane_enable() enables it with the TLSA base domain (the MX host
 * name, RFC 7672 §3.2.2, which is also the SNI and the reference identifier for DANE-TA
 * name checks), turns off name checks for DANE-EE (RFC 7672 §3.2.2: the key itself is
 * what is trusted); tls_client_dane_add() adds one record, skipping usages 0 and 1 (RFC
 * 7672 §3.1.3). Records OpenSSL cannot use (an unknown selector or matching type, a digest
 * of the wrong length) count as unusable; when none is usable the caller treats the
 * connection as encrypt-only (RFC 7672 §2.2).
 *
 * Errors come back as text (the first OpenSSL error) for the log and the DSN.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "tls/tls.h"

SSL_CTX *
tls_client_ctx(char *err, size_t errlen)
{
	SSL_CTX *ctx;

	ctx = tls_ctx_new(TLS_client_method(), SSL_OP_NO_TICKET, err, errlen);
	if (ctx == NULL)
		return NULL;
	if (SSL_CTX_dane_enable(ctx) <= 0) {
		tls_error(err, errlen);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

int
tls_client_dane_enable(SSL *ssl, const char *base, char *err, size_t errlen)
{
	ERR_clear_error();
	if (base == NULL || base[0] == '\0') {
		(void)snprintf(err, errlen, "DANE needs the server's host name");
		return -1;
	}
	if (SSL_dane_enable(ssl, base) <= 0) {
		tls_error(err, errlen);
		return -1;
	}
	(void)SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	return 0;
}

int
tls_client_dane_add(
    SSL *ssl, uint8_t usage, uint8_t selector, uint8_t mtype, const uint8_t *data, size_t len)
{
	int r;

	/* RFC 7672 §3.1.3: PKIX-TA(0) and PKIX-EE(1) are not used for SMTP. */
	if (usage != 2 && usage != 3)
		return 0;
	r = SSL_dane_tlsa_add(ssl, usage, selector, mtype, data, len);
	if (r < 0) {
		/* A malformed record (a digest of the wrong length) is unusable, not fatal. */
		ERR_clear_error();
		return 0;
	}
	return r > 0 ? 1 : 0;
}

int
tls_client_dane_ok(SSL *ssl, char *err, size_t errlen)
{
	long v = SSL_get_verify_result(ssl);
	int depth = SSL_get0_dane_authority(ssl, NULL, NULL);

	if (v == X509_V_OK && depth >= 0)
		return 0;
	if (v != X509_V_OK)
		(void)snprintf(err, errlen, "%s", X509_verify_cert_error_string(v));
	else
		(void)snprintf(err, errlen, "no TLSA record matched the certificate chain");
	return -1;
}

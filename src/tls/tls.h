/*
 * tls — OpenSSL 3 contexts for mxd. Server side: STARTTLS (RFC 3207) on the MX and
 * submission ports and implicit TLS (RFC 8314) on submissions. The outbound client and
 * DANE (RFC 7672) arrive with issue 4.
 *
 * Policy: TLS 1.2 and 1.3 only, no compression, no renegotiation, the server's cipher
 * order. Errors are returned as text (the OpenSSL error queue, first entry) for the log.
 */
#ifndef TLS_TLS_H
#define TLS_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

/* A context with our policy (TLS 1.2+, no compression or renegotiation, partial writes, no
   session cache) plus options. NULL with a reason in err. */
SSL_CTX *tls_ctx_new(const SSL_METHOD *, uint64_t options, char *err, size_t errlen);
/* Loads a certificate chain and key (PEM). Returns NULL with a reason in err. */
SSL_CTX *tls_server_ctx(const char *cert, const char *key, char *err, size_t errlen);
/* "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)" for Received: and logs. */
void tls_describe(SSL *, char *, size_t);
/* The first queued OpenSSL error as text (clears the queue). */
void tls_error(char *, size_t);

/*
 * --- client side (tls_client.c) --------------------------------------------------------
 * tls_client_ctx(): the context for every outbound connection: TLS 1.2+, no compression,
 * no renegotiation, no session cache, SSL_CTX_dane_enable() done, verify mode none
 * (opportunistic TLS does not authenticate, RFC 7435; DANE is checked after the handshake
 * with tls_client_dane_ok()). NULL with a reason in err. The caller frees it with
 * SSL_CTX_free().
 *
 * DANE (RFC 7672) on one SSL before its handshake: tls_client_dane_enable() with the TLSA
 * base domain (the MX host name: also SNI and the DANE-TA reference identifier; DANE-EE
 * name checks are off), 0 or -1 with err; then tls_client_dane_add() per TLSA record: 1
 * when OpenSSL can use it, 0 when not (usages 0/1 are always skipped, RFC 7672 §3.1.3).
 * After the handshake, tls_client_dane_ok(): 0 when the chain verified and a TLSA record
 * matched (SSL_get_verify_result() == X509_V_OK and SSL_get0_dane_authority() >= 0), else
 * -1 with the reason in err.
 */
SSL_CTX *tls_client_ctx(char *err, size_t errlen);
int tls_client_dane_enable(SSL *, const char *base, char *err, size_t errlen);
int tls_client_dane_add(
    SSL *, uint8_t usage, uint8_t selector, uint8_t mtype, const uint8_t *data, size_t len);
int tls_client_dane_ok(SSL *, char *err, size_t errlen);
/* --- end of tls_client.c section --- */

#endif

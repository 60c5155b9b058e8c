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

#include <openssl/ssl.h>

/* Loads a certificate chain and key (PEM). Returns NULL with a reason in err. */
SSL_CTX	*tls_server_ctx(const char *cert, const char *key, char *err, size_t errlen);
/* "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)" for Received: and logs. */
void	 tls_describe(SSL *, char *, size_t);
/* The first queued OpenSSL error as text (clears the queue). */
void	 tls_error(char *, size_t);

#endif

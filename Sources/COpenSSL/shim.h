// The system's OpenSSL (Debian: libssl-dev), as the TLS module sees it.
// Swift imports OpenSSL's functions directly, but not its function-like macros: each
// macro the module needs gets a `static inline` wrapper here, named after the macro
// with a `shim_` prefix, and with its return type spelled out.
#ifndef GUIDE_COPENSSL_SHIM_H
#define GUIDE_COPENSSL_SHIM_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

// Configuring a context (SSL_CTX_ctrl underneath).
static inline long shim_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return SSL_CTX_set_min_proto_version(ctx, version);
}
static inline long shim_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return SSL_CTX_set_max_proto_version(ctx, version);
}
static inline long shim_SSL_CTX_set1_groups_list(SSL_CTX *ctx, const char *groups) {
    return SSL_CTX_set1_groups_list(ctx, groups);
}
// SSL_OP_* are built with a macro too (SSL_OP_BIT), so Swift does not see them.
static inline uint64_t shim_SSL_OP_NO_RENEGOTIATION(void) { return SSL_OP_NO_RENEGOTIATION; }
static inline uint64_t shim_SSL_OP_NO_COMPRESSION(void) { return SSL_OP_NO_COMPRESSION; }

// ALPN on a server (RFC 7301): of the protocols the client offers, take the first of ours
// that it offers too; none in common ends the handshake with no_application_protocol, as
// RFC 7301 and Go do. `arg` is our list, a 2-byte big-endian length then the protocols in
// wire format (each a length byte and its name); the context keeps it alive. A callback,
// not a macro, but Swift cannot hand a C function a C callback with no context: this can.
static inline int shim_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                                   const unsigned char *in, unsigned int inlen, void *arg) {
    (void)ssl;
    const unsigned char *ours = arg;
    unsigned int length = ((unsigned int)ours[0] << 8) | ours[1];
    unsigned char *chosen = NULL;
    if (SSL_select_next_proto(&chosen, outlen, ours + 2, length, in, inlen) != OPENSSL_NPN_NEGOTIATED) {
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}
static inline void shim_SSL_CTX_set_alpn_server(SSL_CTX *ctx, const unsigned char *ours) {
    SSL_CTX_set_alpn_select_cb(ctx, shim_alpn_select, (void *)ours);
}

// One connection (SSL_ctrl underneath).
static inline long shim_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}
static inline long shim_SSL_get_negotiated_group(SSL *ssl) {
    return SSL_get_negotiated_group(ssl);
}

// A BIO of our own tells OpenSSL "nothing yet, try again" through these flags.
static inline void shim_BIO_set_retry_read(BIO *bio) { BIO_set_retry_read(bio); }
static inline void shim_BIO_set_retry_write(BIO *bio) { BIO_set_retry_write(bio); }
static inline void shim_BIO_clear_retry_flags(BIO *bio) { BIO_clear_retry_flags(bio); }
// Names printed the RFC 2253 way (`CN=localhost,O=Example`), as Go prints them.
static inline unsigned long shim_XN_FLAG_RFC2253(void) { return XN_FLAG_RFC2253; }
static inline long shim_BIO_get_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }

// Typed stacks: the peer's certificate chain and a certificate's subjectAltName list.
static inline int shim_sk_X509_num(const STACK_OF(X509) *chain) { return sk_X509_num(chain); }
static inline X509 *shim_sk_X509_value(const STACK_OF(X509) *chain, int index) {
    return sk_X509_value(chain, index);
}
static inline int shim_sk_GENERAL_NAME_num(const GENERAL_NAMES *names) { return sk_GENERAL_NAME_num(names); }
static inline GENERAL_NAME *shim_sk_GENERAL_NAME_value(const GENERAL_NAMES *names, int index) {
    return sk_GENERAL_NAME_value(names, index);
}

#endif

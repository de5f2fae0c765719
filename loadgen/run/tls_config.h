// The TLS side of loadgen's clients (https:// and wss://), independent of the I/O backend:
// the process's one OpenSSL client context built from k6's TLS options, what every new
// connection sets on its SSL object (SNI, the name to verify, a client certificate), and
// k6's error codes and texts for what goes wrong (k6-compat §3.5).
//
// Verification is against the system's store (OpenSSL's default paths, so SSL_CERT_FILE and
// SSL_CERT_DIR work as they do for k6's Go client) unless insecureSkipTLSVerify is set.
#pragma once

#include <string>

#include <openssl/ssl.h>

#include "loadgen/config/options.h"
#include "loadgen/run/http_exchange.h"

namespace faultline::loadgen {

// Builds the process's TLS settings from the final options; false with the reason (a bad
// tlsAuth certificate or key, an unknown cipher suite, a version range OpenSSL refuses).
// Called once before any VU connects; without it the defaults hold (verify, TLS 1.2-1.3).
bool configure_tls(const Options& options, std::string& error);

// A new connection's SSL object for `server_name` (a host name or an IP literal), from the
// shared context: SNI for names, the name or address the certificate must carry (unless
// verification is off), the client certificate of the tlsAuth entry whose domains match.
// Null when OpenSSL cannot make one. Thread-safe.
SSL* tls_new_connection(const std::string& server_name);

// The failure of a handshake (or of a TLS read/write): `ssl_error` is the OpenSSL error
// code when the failure came from OpenSSL (0 otherwise), `other` the text to use when
// neither the verification result nor OpenSSL says more.
HttpFailure tls_failure(SSL* ssl, unsigned long ssl_error, const std::string& other);

// "tls1.2", "tls1.3"... for an established connection ("" without one).
const char* tls_version_name(const SSL* ssl);

// Puts the connection's TLS version and cipher suite into `out`.
void note_tls(const SSL* ssl, HttpExchange& out);

}  // namespace faultline::loadgen

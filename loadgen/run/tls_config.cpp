#include "loadgen/run/tls_config.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <strings.h>

#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace faultline::loadgen {

namespace {

// A tlsAuth entry ready to hand to connections.
struct ClientCert {
  std::vector<std::string> domains;
  X509* cert = nullptr;
  STACK_OF(X509) * chain = nullptr;
  EVP_PKEY* key = nullptr;
};

struct State {
  std::mutex mutex;
  SSL_CTX* ctx = nullptr;
  bool insecure = false;
  std::vector<ClientCert> certs;
};

// Never destroyed: connections may still be closing while the process exits, and OpenSSL
// tears itself down at exit on its own.
State& state() {
  static State* s = new State;
  return *s;
}

void free_certs(std::vector<ClientCert>& certs) {
  for (auto& c : certs) {
    X509_free(c.cert);
    if (c.chain) sk_X509_pop_free(c.chain, X509_free);
    EVP_PKEY_free(c.key);
  }
  certs.clear();
}

std::string openssl_reason() {
  unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  const char* r = e ? ERR_reason_error_string(e) : nullptr;
  return r ? r : "unknown error";
}

int version_number(const std::string& name) {
  static const std::map<std::string, int> versions = {{"ssl3.0", SSL3_VERSION},
                                                      {"tls1.0", TLS1_VERSION},
                                                      {"tls1.1", TLS1_1_VERSION},
                                                      {"tls1.2", TLS1_2_VERSION},
                                                      {"tls1.3", TLS1_3_VERSION}};
  auto it = versions.find(name);
  return it == versions.end() ? 0 : it->second;
}

bool load_client_cert(const TlsAuth& a, ClientCert& out, std::string& error) {
  out.domains = a.domains;
  std::unique_ptr<BIO, decltype(&BIO_free)> certs(
      BIO_new_mem_buf(a.cert.data(), static_cast<int>(a.cert.size())), BIO_free);
  out.cert = PEM_read_bio_X509_AUX(certs.get(), nullptr, nullptr, nullptr);
  if (out.cert == nullptr) {
    ERR_clear_error();
    error = "tls: failed to find any PEM data in certificate input";
    return false;
  }
  out.chain = sk_X509_new_null();
  while (X509* extra = PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr)) {
    sk_X509_push(out.chain, extra);
  }
  ERR_clear_error();  // the end of the PEM text
  std::unique_ptr<BIO, decltype(&BIO_free)> key(
      BIO_new_mem_buf(a.key.data(), static_cast<int>(a.key.size())), BIO_free);
  // With no callback, OpenSSL takes the last argument as the passphrase.
  std::string password = a.password;
  out.key = PEM_read_bio_PrivateKey(key.get(), nullptr, nullptr, password.data());
  if (out.key == nullptr) {
    std::string why = openssl_reason();
    error = a.key.find("-----BEGIN") == std::string::npos
                ? "tls: failed to find any PEM data in key input"
                : "tls: failed to parse private key: " + why;
    return false;
  }
  if (X509_check_private_key(out.cert, out.key) != 1) {
    ERR_clear_error();
    error = "tls: private key does not match public key";
    return false;
  }
  return true;
}

// k6 takes Go's suite names (IANA's, plus two short aliases); OpenSSL has its own names.
bool set_cipher_suites(SSL_CTX* ctx, const std::vector<std::string>& names, std::string& error) {
  std::map<std::string, std::string> by_standard;
  {
    SSL_CTX* all = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_security_level(all, 0);
    SSL_CTX_set_cipher_list(all, "ALL:@SECLEVEL=0");
    STACK_OF(SSL_CIPHER)* list = SSL_CTX_get_ciphers(all);
    for (int i = 0; i < sk_SSL_CIPHER_num(list); ++i) {
      const SSL_CIPHER* c = sk_SSL_CIPHER_value(list, i);
      by_standard[SSL_CIPHER_standard_name(c)] = SSL_CIPHER_get_name(c);
    }
    SSL_CTX_free(all);
  }
  std::string tls12, tls13;
  for (const auto& name : names) {
    std::string standard = name;
    if (name == "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305" ||
        name == "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305") {
      standard += "_SHA256";
    }
    auto it = by_standard.find(standard);
    if (it == by_standard.end()) {
      error = "unknown cipher suite: " + name;
      return false;
    }
    bool v13 = standard.rfind("TLS_AES_", 0) == 0 || standard.rfind("TLS_CHACHA20_", 0) == 0;
    std::string& list = v13 ? tls13 : tls12;
    if (!list.empty()) list += ':';
    list += v13 ? standard : it->second;
  }
  if (!tls12.empty() && SSL_CTX_set_cipher_list(ctx, tls12.c_str()) != 1) {
    error = "tls: cipher suites not usable: " + openssl_reason();
    return false;
  }
  if (!tls13.empty() && SSL_CTX_set_ciphersuites(ctx, tls13.c_str()) != 1) {
    error = "tls: cipher suites not usable: " + openssl_reason();
    return false;
  }
  return true;
}

SSL_CTX* new_context(const Options& o, std::string& error) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) {
    error = "tls: " + openssl_reason();
    return nullptr;
  }
  // The system's store; SSL_CERT_FILE and SSL_CERT_DIR point elsewhere.
  SSL_CTX_set_default_verify_paths(ctx);
  // Sessions are kept per virtual user (the clients), not in a process-wide cache.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  // HTTP/1.1 is what loadgen speaks, over https and wss alike.
  static const unsigned char alpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  int min = TLS1_2_VERSION, max = TLS1_3_VERSION;
  if (o.tls_version) {
    if (!o.tls_version->min.empty()) min = version_number(o.tls_version->min);
    if (!o.tls_version->max.empty()) max = version_number(o.tls_version->max);
  }
  // OpenSSL's default security level refuses the versions before 1.2.
  if (min < TLS1_2_VERSION) SSL_CTX_set_security_level(ctx, 0);
  if (SSL_CTX_set_min_proto_version(ctx, min) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, max) != 1) {
    error = "tls: unsupported TLS version range: " + openssl_reason();
    SSL_CTX_free(ctx);
    return nullptr;
  }
  if (o.tls_cipher_suites && !o.tls_cipher_suites->empty() &&
      !set_cipher_suites(ctx, *o.tls_cipher_suites, error)) {
    SSL_CTX_free(ctx);
    return nullptr;
  }
  return ctx;
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

bool domain_matches(const std::string& pattern, const std::string& host) {
  if (strcasecmp(pattern.c_str(), host.c_str()) == 0) return true;
  if (pattern.rfind("*.", 0) == 0) {
    size_t dot = host.find('.');
    return dot != std::string::npos && strcasecmp(pattern.c_str() + 1, host.c_str() + dot) == 0;
  }
  return false;
}

// Go's RFC 3339 form of a UTC time, as its x509 errors print it.
std::string utc_text(const struct tm& tm) {
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string rfc3339(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return "";
  return utc_text(tm);
}

std::string now_rfc3339() {
  std::time_t now = std::time(nullptr);
  struct tm tm {};
  gmtime_r(&now, &tm);
  return utc_text(tm);
}

// Where an expired (or not yet valid) certificate's date is kept for the error text: the
// peer's certificate is gone by the time the handshake's failure is reported.
void free_text(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<std::string*>(ptr);
}

int validity_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_text);
  return index;
}

int note_validity(int ok, X509_STORE_CTX* store) {
  int err = X509_STORE_CTX_get_error(store);
  if (!ok && (err == X509_V_ERR_CERT_HAS_EXPIRED || err == X509_V_ERR_CERT_NOT_YET_VALID)) {
    auto* ssl =
        static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    X509* cert = X509_STORE_CTX_get_current_cert(store);
    if (ssl && cert && SSL_get_ex_data(ssl, validity_index()) == nullptr) {
      bool expired = err == X509_V_ERR_CERT_HAS_EXPIRED;
      SSL_set_ex_data(
          ssl, validity_index(),
          new std::string((expired ? " is after " : " is before ") +
                          rfc3339(expired ? X509_get0_notAfter(cert) : X509_get0_notBefore(cert))));
    }
  }
  return ok;
}

// Go's names for TLS alerts, as its "remote error: tls: …" texts show them.
const char* alert_text(int alert) {
  switch (alert) {
    case 10:
      return "unexpected message";
    case 20:
      return "bad record MAC";
    case 40:
      return "handshake failure";
    case 42:
      return "bad certificate";
    case 43:
      return "unsupported certificate";
    case 44:
      return "revoked certificate";
    case 45:
      return "expired certificate";
    case 46:
      return "unknown certificate";
    case 47:
      return "illegal parameter";
    case 48:
      return "unknown certificate authority";
    case 49:
      return "access denied";
    case 50:
      return "error decoding message";
    case 51:
      return "error decrypting message";
    case 70:
      return "protocol version not supported";
    case 71:
      return "insufficient security level";
    case 80:
      return "internal error";
    case 86:
      return "inappropriate fallback";
    case 90:
      return "user canceled";
    case 109:
      return "missing extension";
    case 110:
      return "unsupported extension";
    case 112:
      return "unrecognized name";
    case 116:
      return "certificate required";
    case 120:
      return "no application protocol";
    default:
      return nullptr;
  }
}

}  // namespace

bool configure_tls(const Options& o, std::string& error) {
  std::vector<ClientCert> certs;
  if (o.tls_auth) {
    for (const auto& a : *o.tls_auth) {
      certs.emplace_back();
      if (!load_client_cert(a, certs.back(), error)) {
        free_certs(certs);
        return false;
      }
    }
  }
  SSL_CTX* ctx = new_context(o, error);
  if (ctx == nullptr) {
    free_certs(certs);
    return false;
  }
  State& s = state();
  std::lock_guard lock(s.mutex);
  if (s.ctx) SSL_CTX_free(s.ctx);
  free_certs(s.certs);
  s.ctx = ctx;
  s.certs = std::move(certs);
  s.insecure = o.insecure_skip_tls_verify.value_or(false);
  return true;
}

SSL* tls_new_connection(const std::string& server_name) {
  State& s = state();
  SSL* ssl = nullptr;
  {
    std::lock_guard lock(s.mutex);
    if (s.ctx == nullptr) {
      std::string ignored;
      s.ctx = new_context(Options{}, ignored);
    }
    ssl = s.ctx ? SSL_new(s.ctx) : nullptr;
  }
  if (ssl == nullptr) return nullptr;
  bool ip = is_ip_literal(server_name);
  if (!ip) SSL_set_tlsext_host_name(ssl, server_name.c_str());
  if (s.insecure) {
    SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
  } else {
    SSL_set_verify(ssl, SSL_VERIFY_PEER, note_validity);
    if (ip) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server_name.c_str());
    } else {
      SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      SSL_set1_host(ssl, server_name.c_str());
    }
  }
  const ClientCert* pick = nullptr;
  for (const auto& c : s.certs) {
    for (const auto& d : c.domains) {
      if (domain_matches(d, server_name)) pick = &c;
    }
    if (pick) break;
  }
  // No entry names this host: like k6's Go client, offer the first certificate.
  if (pick == nullptr && !s.certs.empty()) pick = &s.certs.front();
  if (pick) SSL_use_cert_and_key(ssl, pick->cert, pick->key, pick->chain, 1);
  return ssl;
}

HttpFailure tls_failure(SSL* ssl, unsigned long ssl_error, const std::string& other) {
  long verify = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
  switch (verify) {
    case X509_V_OK:
      break;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return {1311, "x509: certificate doesn't match hostname"};
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
      return {1310, "x509: unknown authority"};
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID: {
      // k6 passes Go's CertificateInvalidError through with the generic code.
      std::string text = "x509: certificate has expired or is not yet valid";
      if (auto* when = static_cast<std::string*>(SSL_get_ex_data(ssl, validity_index()))) {
        text += ": current time " + now_rfc3339() + *when;
      }
      return {1000, text};
    }
    default:
      return {1000, std::string("x509: ") + X509_verify_cert_error_string(verify)};
  }
  if (ssl_error != 0) {
    int reason = ERR_GET_REASON(ssl_error);
    if (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
        reason == SSL_R_RECORD_LENGTH_MISMATCH) {
      return {1301, "tls: first record does not look like a TLS handshake"};
    }
    // An alert from the server: Go reports it as "remote error", which k6 files under
    // non-TCP network errors.
    if (reason > SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256) {
      const char* name = alert_text(reason - SSL_AD_REASON_OFFSET);
      return {1010,
              std::string("remote error: tls: ") +
                  (name ? name : "alert(" + std::to_string(reason - SSL_AD_REASON_OFFSET) + ")")};
    }
    const char* text = ERR_reason_error_string(ssl_error);
    return {1300, std::string("tls: ") + (text ? text : "handshake failure")};
  }
  return {1300, other};
}

void note_tls(const SSL* ssl, HttpExchange& out) {
  out.tls_version = tls_version_name(ssl);
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
  out.tls_cipher = cipher ? SSL_CIPHER_standard_name(cipher) : "";
}

const char* tls_version_name(const SSL* ssl) {
  if (ssl == nullptr) return "";
  switch (SSL_version(ssl)) {
    case TLS1_3_VERSION:
      return "tls1.3";
    case TLS1_2_VERSION:
      return "tls1.2";
    case TLS1_1_VERSION:
      return "tls1.1";
    case TLS1_VERSION:
      return "tls1.0";
    case SSL3_VERSION:
      return "ssl3.0";
    default:
      return "";
  }
}

}  // namespace faultline::loadgen

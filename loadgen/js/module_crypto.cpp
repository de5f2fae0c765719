// Module `k6/crypto` (k6-js-api §8.3) on OpenSSL 3, and the two WebCrypto functions of the
// global `crypto` (§2.5: getRandomValues, randomUUID), which the prelude takes from these
// natives so that all randomness comes from one place.
#include <js/ArrayBuffer.h>
#include <js/MemoryFunctions.h>
#include <js/Object.h>
#include <js/experimental/TypedData.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

#include <cmath>
#include <memory>

#include "loadgen/js/codec.h"
#include "loadgen/js/errors.h"
#include "loadgen/js/modules.h"
#include "loadgen/js/util.h"

namespace faultline::loadgen::js {

namespace {

// k6's algorithm names and OpenSSL's.
struct Algorithm {
  const char* k6;
  const char* openssl;
};
constexpr Algorithm kAlgorithms[] = {{"md4", "MD4"},
                                     {"md5", "MD5"},
                                     {"sha1", "SHA1"},
                                     {"sha256", "SHA2-256"},
                                     {"sha384", "SHA2-384"},
                                     {"sha512", "SHA2-512"},
                                     {"sha512_224", "SHA2-512/224"},
                                     {"sha512_256", "SHA2-512/256"},
                                     {"ripemd160", "RIPEMD-160"}};
constexpr size_t kAlgorithmCount = std::size(kAlgorithms);

// The OpenSSL objects every runtime uses, fetched once per process. They live in a library
// context of our own: OpenSSL 3 keeps MD4 only in its legacy provider, and loading that
// provider here rather than into the default context leaves the rest of the process (and
// the system's openssl.cnf policy) untouched; k6 computes these digests in Go, whatever
// the system's OpenSSL policy says, and so do we. Deliberately never freed: OpenSSL's own
// exit handler may already have run when static destructors do.
class OpenSsl {
 public:
  static const OpenSsl& get() {
    static const OpenSsl* instance = new OpenSsl();
    return *instance;
  }
  // Null when OpenSSL cannot provide the algorithm (MD4 without the legacy provider).
  const EVP_MD* md(size_t algorithm) const { return mds_[algorithm]; }
  EVP_MAC* hmac() const { return hmac_; }
  OSSL_LIB_CTX* lib() const { return lib_; }

 private:
  OpenSsl() {
    lib_ = OSSL_LIB_CTX_new();
    if (!lib_) return;
    OSSL_PROVIDER_load(lib_, "default");
    OSSL_PROVIDER_load(lib_, "legacy");  // for MD4; its absence only costs MD4
    for (size_t i = 0; i < kAlgorithmCount; ++i) {
      mds_[i] = EVP_MD_fetch(lib_, kAlgorithms[i].openssl, nullptr);
    }
    hmac_ = EVP_MAC_fetch(lib_, OSSL_MAC_NAME_HMAC, nullptr);
  }

  OSSL_LIB_CTX* lib_ = nullptr;
  EVP_MD* mds_[kAlgorithmCount] = {};
  EVP_MAC* hmac_ = nullptr;
};

// The index of k6 algorithm `name`, or -1.
int find_algorithm(const std::string& name) {
  for (size_t i = 0; i < kAlgorithmCount; ++i) {
    if (name == kAlgorithms[i].k6) return static_cast<int>(i);
  }
  return -1;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using MacCtx = std::unique_ptr<EVP_MAC_CTX, MacCtxFree>;

// A running digest or HMAC. sum() works like Go's hash.Sum: it finishes a copy, so the
// hasher can take more data and be summed again (k6's digest() does not reset it).
class Hasher {
 public:
  // Null when OpenSSL cannot set the algorithm up.
  static std::unique_ptr<Hasher> digest(int algorithm) {
    const EVP_MD* md = OpenSsl::get().md(algorithm);
    if (!md) return nullptr;
    auto h = std::unique_ptr<Hasher>(new Hasher());
    h->md_.reset(EVP_MD_CTX_new());
    if (!h->md_ || !EVP_DigestInit_ex2(h->md_.get(), md, nullptr)) return nullptr;
    return h;
  }

  static std::unique_ptr<Hasher> hmac(int algorithm, const std::string& key) {
    const OpenSsl& ssl = OpenSsl::get();
    if (!ssl.md(algorithm) || !ssl.hmac()) return nullptr;
    auto h = std::unique_ptr<Hasher>(new Hasher());
    h->mac_.reset(EVP_MAC_CTX_new(ssl.hmac()));
    if (!h->mac_) return nullptr;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                         const_cast<char*>(kAlgorithms[algorithm].openssl), 0),
        OSSL_PARAM_construct_end()};
    // An empty key is valid HMAC (Go accepts it); key.data() is never null, which is what
    // tells OpenSSL a key is being set.
    if (!EVP_MAC_init(h->mac_.get(), reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                      params)) {
      return nullptr;
    }
    return h;
  }

  // Roughly what OpenSSL allocates for the context (an HMAC holds three digest states).
  size_t footprint() const { return md_ ? 512 : 2048; }

  bool update(const std::string& data) {
    auto bytes = reinterpret_cast<const unsigned char*>(data.data());
    return md_ ? EVP_DigestUpdate(md_.get(), bytes, data.size()) == 1
               : EVP_MAC_update(mac_.get(), bytes, data.size()) == 1;
  }

  bool sum(std::string& out) const {
    if (md_) {
      MdCtx copy(EVP_MD_CTX_new());
      unsigned int size = 0;
      out.resize(EVP_MAX_MD_SIZE);
      if (!copy || !EVP_MD_CTX_copy_ex(copy.get(), md_.get()) ||
          !EVP_DigestFinal_ex(copy.get(), reinterpret_cast<unsigned char*>(out.data()), &size)) {
        return false;
      }
      out.resize(size);
      return true;
    }
    MacCtx copy(EVP_MAC_CTX_dup(mac_.get()));
    if (!copy) return false;
    size_t size = 0;
    out.resize(EVP_MAC_CTX_get_mac_size(copy.get()));
    if (!EVP_MAC_final(copy.get(), reinterpret_cast<unsigned char*>(out.data()), &size,
                       out.size())) {
      return false;
    }
    out.resize(size);
    return true;
  }

 private:
  Hasher() = default;
  MdCtx md_;
  MacCtx mac_;
};

bool unavailable(JSContext* cx, int algorithm) {
  return throw_go_error(cx, std::string(kAlgorithms[algorithm].k6) +
                                " is not available: OpenSSL could not set it up");
}

bool invalid_type(JSContext* cx, const std::string& prefix, const std::string& go_type) {
  return throw_go_error(
      cx, prefix + "invalid type " + go_type + ", expected string, []byte or ArrayBuffer");
}

// The algorithm named by a Go string argument; throws k6's error for unknown names.
bool algorithm_arg(JSContext* cx, JS::HandleValue v, int& algorithm) {
  auto name = go_string(cx, v);
  if (!name) return false;
  algorithm = find_algorithm(*name);
  if (algorithm < 0) return throw_go_error(cx, "invalid algorithm: " + *name);
  return true;
}

// The digest `sum` in k6's output encoding `encoding_arg`.
bool encode_sum(JSContext* cx, const std::string& sum, JS::HandleValue encoding_arg,
                JS::MutableHandleValue out) {
  auto encoding = go_string(cx, encoding_arg);
  if (!encoding) return false;
  std::string text;
  if (*encoding == "hex") {
    text = hex_encode(sum);
  } else if (*encoding == "base64") {
    text = base64_encode(sum, kBase64Std);
  } else if (*encoding == "base64url") {
    text = base64_encode(sum, kBase64Url);
  } else if (*encoding == "base64rawurl") {
    text = base64_encode(sum, kBase64RawUrl);
  } else if (*encoding == "binary") {
    JSObject* buffer = new_array_buffer(cx, sum);
    if (!buffer) return false;
    out.setObject(*buffer);
    return true;
  } else {
    return throw_go_error(cx, "invalid output encoding: " + *encoding);
  }
  JSString* s = new_string(cx, text);
  if (!s) return false;
  out.setString(s);
  return true;
}

bool finish(JSContext* cx, const Hasher& h, JS::HandleValue encoding, JS::MutableHandleValue out) {
  std::string sum;
  if (!h.sum(sum)) return throw_go_error(cx, "the digest could not be computed");
  return encode_sum(cx, sum, encoding, out);
}

// hash(algorithm, input, encoding): md5() and its siblings.
bool hash_once(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  int algorithm = 0;
  if (!algorithm_arg(cx, args.get(0), algorithm)) return false;
  auto h = Hasher::digest(algorithm);
  if (!h) return unavailable(cx, algorithm);
  std::string data, go_type;
  if (!go_bytes(cx, args.get(1), data, go_type)) {
    return invalid_type(cx, std::string(kAlgorithms[algorithm].k6) + " failed: ", go_type);
  }
  if (!h->update(data)) return unavailable(cx, algorithm);
  return finish(cx, *h, args.get(2), args.rval());
}

// hmac(algorithm, secret, data, encoding).
bool hmac_once(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  int algorithm = 0;
  if (!algorithm_arg(cx, args.get(0), algorithm)) return false;
  std::string key, data, go_type;
  if (!go_bytes(cx, args.get(1), key, go_type)) return invalid_type(cx, "", go_type);
  auto h = Hasher::hmac(algorithm, key);
  if (!h) return unavailable(cx, algorithm);
  if (!go_bytes(cx, args.get(2), data, go_type)) return invalid_type(cx, "", go_type);
  if (!h->update(data)) return unavailable(cx, algorithm);
  return finish(cx, *h, args.get(3), args.rval());
}

// The handle createHash/createHMAC give the module's Hasher class: an object owning a
// Hasher, freed with it.
void finalize_handle(JS::GCContext*, JSObject* obj) {
  auto* h = JS::GetMaybePtrFromReservedSlot<Hasher>(obj, 0);
  if (!h) return;
  JS::RemoveAssociatedMemory(obj, h->footprint(), JS::MemoryUse::Embedding1);
  delete h;
}
constexpr JSClassOps kHandleOps = {nullptr, nullptr,         nullptr, nullptr, nullptr,
                                   nullptr, finalize_handle, nullptr, nullptr, nullptr};
constexpr JSClass kHandleClass = {
    "HasherHandle", JSCLASS_HAS_RESERVED_SLOTS(1) | JSCLASS_FOREGROUND_FINALIZE, &kHandleOps};

bool return_handle(JSContext* cx, std::unique_ptr<Hasher> h, JS::CallArgs& args) {
  JSObject* obj = JS_NewObject(cx, &kHandleClass);
  if (!obj) return false;
  // The GC cannot see OpenSSL's allocations; without being told, a loop creating hashers
  // grows the process by megabytes before the next collection.
  JS::AddAssociatedMemory(obj, h->footprint(), JS::MemoryUse::Embedding1);
  JS::SetReservedSlot(obj, 0, JS::PrivateValue(h.release()));
  args.rval().setObject(*obj);
  return true;
}

Hasher* handle_of(JS::HandleValue v) {
  if (!v.isObject() || JS::GetClass(&v.toObject()) != &kHandleClass) return nullptr;
  return JS::GetMaybePtrFromReservedSlot<Hasher>(&v.toObject(), 0);
}

// createHash(algorithm) -> handle.
bool create_hash(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  int algorithm = 0;
  if (!algorithm_arg(cx, args.get(0), algorithm)) return false;
  auto h = Hasher::digest(algorithm);
  if (!h) return unavailable(cx, algorithm);
  return return_handle(cx, std::move(h), args);
}

// createHMAC(algorithm, secret) -> handle.
bool create_hmac(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  int algorithm = 0;
  if (!algorithm_arg(cx, args.get(0), algorithm)) return false;
  std::string key, go_type;
  if (!go_bytes(cx, args.get(1), key, go_type)) return invalid_type(cx, "", go_type);
  auto h = Hasher::hmac(algorithm, key);
  if (!h) return unavailable(cx, algorithm);
  return return_handle(cx, std::move(h), args);
}

// hasherUpdate(handle, data).
bool hasher_update(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Hasher* h = handle_of(args.get(0));
  if (!h) return throw_type_error(cx, "not a Hasher");
  std::string data, go_type;
  if (!go_bytes(cx, args.get(1), data, go_type)) return invalid_type(cx, "", go_type);
  if (!h->update(data)) return throw_go_error(cx, "the digest could not be updated");
  args.rval().setUndefined();
  return true;
}

// hasherDigest(handle, encoding).
bool hasher_digest(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Hasher* h = handle_of(args.get(0));
  if (!h) return throw_type_error(cx, "not a Hasher");
  return finish(cx, *h, args.get(1), args.rval());
}

// An ArrayBuffer of `size` random bytes, filled in place.
bool random_bytes(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  double size = 0;
  if (!JS::ToNumber(cx, args.get(0), &size)) return false;
  size = std::isnan(size) ? 0 : std::trunc(size);
  if (size < 1) return throw_go_error(cx, "invalid size");
  JS::RootedObject buffer(cx, JS::NewArrayBuffer(cx, static_cast<size_t>(size)));
  if (!buffer) return false;
  {
    JS::AutoCheckCannotGC nogc;
    bool shared = false;
    uint8_t* data = JS::GetArrayBufferData(buffer, &shared, nogc);
    if (RAND_bytes_ex(OpenSsl::get().lib(), data, static_cast<size_t>(size), 0) != 1) {
      return throw_go_error(cx, "no random bytes: OpenSSL's generator failed");
    }
  }
  args.rval().setObject(*buffer);
  return true;
}

bool hex_encode_native(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  std::string data, go_type;
  if (!go_bytes(cx, args.get(0), data, go_type)) return invalid_type(cx, "", go_type);
  JSString* s = new_string(cx, hex_encode(data));
  if (!s) return false;
  args.rval().setString(s);
  return true;
}

// crypto.getRandomValues(typedArray): fills an integer typed array in place and returns it.
// k6 limits the element count (not the byte length) to 65536 and throws its errors as
// GoErrors named after the WebCrypto exceptions.
bool get_random_values(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  constexpr size_t kMaxLength = 65536;
  JSObject* obj = args.get(0).isObject() ? &args[0].toObject() : nullptr;
  bool integral = false;
  if (obj && JS_IsTypedArrayObject(obj)) {
    switch (JS_GetArrayBufferViewType(obj)) {
      case JS::Scalar::Int8:
      case JS::Scalar::Uint8:
      case JS::Scalar::Uint8Clamped:
      case JS::Scalar::Int16:
      case JS::Scalar::Uint16:
      case JS::Scalar::Int32:
      case JS::Scalar::Uint32:
        integral = true;
        break;
      default:
        break;
    }
  }
  if (!integral) {
    return throw_go_error(cx,
                          "TypeMismatchError: typedArray parameter isn't a TypedArray instance");
  }
  if (JS_GetTypedArrayLength(obj) > kMaxLength) {
    return throw_go_error(cx,
                          "QuotaExceededError: typedArray parameter is too big; maximum "
                          "length is " +
                              std::to_string(kMaxLength));
  }
  size_t length = 0;
  bool shared = false;
  uint8_t* data = nullptr;
  ::js::GetArrayBufferViewLengthAndData(obj, &length, &shared, &data);
  if (length > 0 && RAND_bytes_ex(OpenSsl::get().lib(), data, length, 0) != 1) {
    return throw_go_error(cx, "no random bytes: OpenSSL's generator failed");
  }
  args.rval().setObject(*obj);
  return true;
}

// crypto.randomUUID(): an RFC 4122 version 4 UUID in lower case.
bool random_uuid(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  unsigned char b[16];
  if (RAND_bytes_ex(OpenSsl::get().lib(), b, sizeof b, 0) != 1) {
    return throw_go_error(cx, "no random bytes: OpenSSL's generator failed");
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string hex = hex_encode(std::string_view(reinterpret_cast<const char*>(b), sizeof b));
  std::string text = hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
                     hex.substr(16, 4) + "-" + hex.substr(20);
  JSString* s = new_string(cx, text);
  if (!s) return false;
  args.rval().setString(s);
  return true;
}

bool define(JSContext* cx, JS::HandleObject n) {
  static const JSFunctionSpec functions[] = {JS_FN("hash", hash_once, 3, 0),
                                             JS_FN("hmac", hmac_once, 4, 0),
                                             JS_FN("createHash", create_hash, 1, 0),
                                             JS_FN("createHMAC", create_hmac, 2, 0),
                                             JS_FN("hasherUpdate", hasher_update, 2, 0),
                                             JS_FN("hasherDigest", hasher_digest, 2, 0),
                                             JS_FN("randomBytes", random_bytes, 1, 0),
                                             JS_FN("hexEncode", hex_encode_native, 1, 0),
                                             JS_FN("getRandomValues", get_random_values, 1, 0),
                                             JS_FN("randomUUID", random_uuid, 0, 0),
                                             JS_FS_END};
  return JS_DefineFunctions(cx, n, functions);
}

const char* kSource = R"js(
const n = __faultline_native('k6/crypto');

// What createHash and createHMAC return: update() adds data, digest() reads the digest so
// far without resetting it.
class Hasher {
  #handle;
  constructor(handle) { this.#handle = handle; }
  update(data) { n.hasherUpdate(this.#handle, data); }
  digest(outputEncoding) { return n.hasherDigest(this.#handle, outputEncoding); }
}

export function md4(input, outputEncoding) { return n.hash('md4', input, outputEncoding); }
export function md5(input, outputEncoding) { return n.hash('md5', input, outputEncoding); }
export function sha1(input, outputEncoding) { return n.hash('sha1', input, outputEncoding); }
export function sha256(input, outputEncoding) { return n.hash('sha256', input, outputEncoding); }
export function sha384(input, outputEncoding) { return n.hash('sha384', input, outputEncoding); }
export function sha512(input, outputEncoding) { return n.hash('sha512', input, outputEncoding); }
export function sha512_224(input, outputEncoding) {
  return n.hash('sha512_224', input, outputEncoding);
}
export function sha512_256(input, outputEncoding) {
  return n.hash('sha512_256', input, outputEncoding);
}
export function ripemd160(input, outputEncoding) {
  return n.hash('ripemd160', input, outputEncoding);
}
export const hmac = n.hmac;
export function createHash(algorithm) { return new Hasher(n.createHash(algorithm)); }
export function createHMAC(algorithm, secret) { return new Hasher(n.createHMAC(algorithm, secret)); }
export const randomBytes = n.randomBytes;
export const hexEncode = n.hexEncode;

export default {
  md4, md5, sha1, sha256, sha384, sha512, sha512_224, sha512_256, ripemd160, hmac,
  createHash, createHMAC, randomBytes, hexEncode,
};
)js";

}  // namespace

const BuiltinModule kModuleCrypto{"k6/crypto", kSource, define};

}  // namespace faultline::loadgen::js
